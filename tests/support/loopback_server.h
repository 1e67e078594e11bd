// LoopbackServer: a tiny HTTP/1.1 server on 127.0.0.1 for tests of HTTP clients, on a port the kernel
// picks. Each connection carries one request (every answer says Connection: close) and is served on its
// own thread; the handler calls are serialized, so a handler may touch test state without a lock. A Reply
// can also misbehave on purpose: answer late, hang up without answering, cut its body short, or send raw
// bytes. The destructor stops everything, a reply still waiting out its delay included.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace pot::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of the first header called name (case-insensitive), or "".
std::string HeaderValue(const Headers& headers, const std::string& name);

struct Request {
  std::string method;
  std::string path;  // with its query string
  Headers headers;
  std::string body;
  std::string Header(const std::string& name) const { return HeaderValue(headers, name); }
};

struct Reply {
  int status = 200;
  Headers headers;  // Content-Length and Connection are added
  std::string body;
  // Faults, applied in this order:
  double delay_s = 0;                 // wait this long before answering
  bool close_without_answer = false;  // hang up without sending a byte
  bool cut_body_short = false;        // announce the whole body's length, send half of it, hang up
  std::string raw;                    // when non-empty, sent exactly instead of a formatted answer

  static Reply Json(int status, std::string body) {
    Reply r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::move(body);
    return r;
  }
};

class LoopbackServer {
 public:
  using Handler = std::function<Reply(const Request&)>;
  explicit LoopbackServer(Handler handler);  // throws std::runtime_error if it cannot listen
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }  // complete requests read so far

 private:
  void AcceptLoop();
  void Serve(int fd);
  bool Sleep(double seconds);  // false when stopping cut the wait short

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::mutex handler_mu_;
  std::mutex mu_;  // guards connections_ and the stop wake-up
  std::condition_variable wake_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

// Sends request to 127.0.0.1:port (Connection: close) and reads the whole answer into *reply (status,
// headers, body). False with *error set when the upstream cannot be reached or answers malformed.
bool Fetch(int port, const Request& request, double timeout_s, Reply* reply, std::string* error);

// A port nothing listens on right now (bound, read and released): for connection-refused tests, and for
// programs that must be told their port before they start.
int UnusedPort();

}  // namespace pot::test
