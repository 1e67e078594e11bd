#include "support/loopback_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace pot::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeaderBytes = 64 << 10;
constexpr size_t kMaxBodyBytes = 256u << 20;

bool IEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Framing headers the sender of a message writes itself, never copied from the message it relays.
bool IsHopByHop(const std::string& name) {
  for (const char* h : {"content-length", "connection", "keep-alive", "transfer-encoding", "host", "expect"}) {
    if (IEquals(name, h)) return true;
  }
  return false;
}

// One recv, waiting in short polls so a stopping server (stop) or a deadline ends the wait.
// Returns bytes read, 0 at end of stream, -1 on error, stop or deadline.
ssize_t RecvSome(int fd, char* buf, size_t n, const std::atomic<bool>* stop, Clock::time_point deadline) {
  while (true) {
    if (stop != nullptr && stop->load()) return -1;
    if (Clock::now() >= deadline) return -1;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, 50);
    if (r < 0 && errno != EINTR) return -1;
    if (r > 0) {
      const ssize_t got = ::recv(fd, buf, n, 0);
      if (got < 0 && errno == EINTR) continue;
      return got;
    }
  }
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

struct Message {
  std::string start_line;
  Headers headers;
  std::string body;
};

// Reads one HTTP/1.1 message. A request without Content-Length has no body; a response without one
// runs to the end of the stream (the peer was asked to close). Chunked bodies are not supported.
bool ReadMessage(int fd, const std::atomic<bool>* stop, Clock::time_point deadline, bool is_response, Message* m,
                 std::string* error) {
  std::string buf;
  char chunk[16384];
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > kMaxHeaderBytes) return *error = "headers too large", false;
    const ssize_t n = RecvSome(fd, chunk, sizeof chunk, stop, deadline);
    if (n <= 0) return *error = n == 0 ? "connection closed before the headers ended" : "no complete headers", false;
    buf.append(chunk, static_cast<size_t>(n));
  }
  size_t line_start = 0;
  for (size_t line_end; (line_end = buf.find("\r\n", line_start)) <= head_end; line_start = line_end + 2) {
    const std::string line = buf.substr(line_start, line_end - line_start);
    if (line_start == 0) {
      m->start_line = line;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return *error = "a header line without a colon", false;
    size_t v = colon + 1;
    while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
    m->headers.emplace_back(line.substr(0, colon), line.substr(v));
  }
  if (!HeaderValue(m->headers, "Transfer-Encoding").empty()) return *error = "chunked bodies are not supported", false;
  m->body = buf.substr(head_end + 4);
  const std::string length = HeaderValue(m->headers, "Content-Length");
  if (length.empty() && !is_response) return true;
  size_t want = kMaxBodyBytes;
  if (!length.empty()) {
    const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), want);
    if (ec != std::errc() || end != length.data() + length.size()) return *error = "a bad Content-Length", false;
  }
  if (want > kMaxBodyBytes) return *error = "body too large", false;
  while (m->body.size() < want) {
    const ssize_t n = RecvSome(fd, chunk, std::min(sizeof chunk, want - m->body.size()), stop, deadline);
    if (n == 0 && length.empty()) return true;
    if (n <= 0) return *error = "body cut short", false;
    m->body.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

int NewSocket() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  return fd;
}

// Binds fd to 127.0.0.1 on a port the kernel picks, and returns that port.
int BindAnyPort(int fd) {
  sockaddr_in addr = Loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

}  // namespace

std::string HeaderValue(const Headers& headers, const std::string& name) {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return "";
}

LoopbackServer::LoopbackServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = NewSocket();
  port_ = BindAnyPort(listen_fd_);
  if (::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
  }
  acceptor_ = std::thread(&LoopbackServer::AcceptLoop, this);
}

LoopbackServer::~LoopbackServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  acceptor_.join();
  for (std::thread& t : connections_) t.join();  // the acceptor is gone: nobody adds to the list now
  ::close(listen_fd_);
}

void LoopbackServer::AcceptLoop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    connections_.emplace_back(&LoopbackServer::Serve, this, fd);
  }
}

bool LoopbackServer::Sleep(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  return !wake_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stop_.load(); });
}

void LoopbackServer::Serve(int fd) {
  Message m;
  std::string error;
  Request request;
  if (ReadMessage(fd, &stop_, Clock::now() + std::chrono::seconds(30), false, &m, &error)) {
    const size_t sp1 = m.start_line.find(' ');
    const size_t sp2 = m.start_line.find(' ', sp1 == std::string::npos ? sp1 : sp1 + 1);
    if (sp1 != std::string::npos && sp2 != std::string::npos) {
      request.method = m.start_line.substr(0, sp1);
      request.path = m.start_line.substr(sp1 + 1, sp2 - sp1 - 1);
      request.headers = std::move(m.headers);
      request.body = std::move(m.body);
    }
  }
  if (request.method.empty()) {
    ::close(fd);
    return;
  }
  ++requests_;
  Reply reply;
  {
    std::lock_guard<std::mutex> lock(handler_mu_);
    try {
      reply = handler_(request);
    } catch (const std::exception& e) {
      reply = Reply::Json(500, std::string("{\"error\":\"test handler threw: ") + e.what() + "\"}");
    }
  }
  if ((reply.delay_s <= 0 || Sleep(reply.delay_s)) && !reply.close_without_answer) {
    if (!reply.raw.empty()) {
      SendAll(fd, reply.raw);
    } else {
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + Reason(reply.status) + "\r\n";
      for (const auto& [k, v] : reply.headers) {
        if (!IsHopByHop(k)) out += k + ": " + v + "\r\n";
      }
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n";
      out += reply.cut_body_short ? reply.body.substr(0, reply.body.size() / 2) : reply.body;
      SendAll(fd, out);
    }
  }
  ::close(fd);
}

bool Fetch(int port, const Request& request, double timeout_s, Reply* reply, std::string* error) {
  sockaddr_in addr = Loopback(port);
  const int fd = NewSocket();
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = "connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  std::string out = request.method + " " + request.path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& [k, v] : request.headers) {
    if (!IsHopByHop(k)) out += k + ": " + v + "\r\n";
  }
  out += "Content-Length: " + std::to_string(request.body.size()) + "\r\nConnection: close\r\n\r\n" + request.body;
  Message m;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  bool ok = SendAll(fd, out) && ReadMessage(fd, nullptr, deadline, true, &m, error);
  ::close(fd);
  if (!ok) {
    if (error->empty()) *error = "send failed";
    return false;
  }
  // "HTTP/1.1 200 OK"
  const size_t sp = m.start_line.find(' ');
  if (!m.start_line.starts_with("HTTP/") || sp == std::string::npos) return *error = "not an HTTP answer", false;
  *reply = Reply();
  reply->status = std::atoi(m.start_line.c_str() + sp + 1);
  for (auto& [k, v] : m.headers) {
    if (!IsHopByHop(k)) reply->headers.emplace_back(std::move(k), std::move(v));
  }
  reply->body = std::move(m.body);
  return true;
}

int UnusedPort() {
  const int fd = NewSocket();
  const int port = BindAnyPort(fd);
  ::close(fd);
  return port;
}

}  // namespace pot::test
