// FaultProxy: an HTTP proxy on a free loopback port in front of an upstream 127.0.0.1:PORT (a real
// llama-server in the endpoint tests). Each request is forwarded and its answer returned unchanged, unless
// the hook says otherwise for that request: so a test can make the Nth call fail in one precise way while
// the model behind it stays real.
#pragma once

#include <functional>
#include <string>

#include "support/loopback_server.h"

namespace pot::test {

// Sends request to 127.0.0.1:upstream_port and sets *reply to its answer, unchanged. False, with *reply a 502
// whose error names proxy_name, when the upstream cannot be reached or answers malformed. Shared by the
// test proxies.
bool Forward(int upstream_port, const Request& request, const std::string& proxy_name, Reply* reply);

struct Fault {
  enum class Kind {
    kPass,          // forward, answer as upstream did
    kReset,         // hang up without answering (upstream not asked)
    kStatus500,     // answer 500 (upstream not asked)
    kStatus429,     // answer 429 with Retry-After: seconds (upstream not asked)
    kDelay,         // forward, then wait seconds before answering
    kTruncateHalf,  // forward, announce the whole body, send half of it, hang up
    kReplaceBody,   // forward, answer upstream's status with body instead of upstream's body
    kRewriteJson,   // forward, answer upstream's status with rewrite(upstream's body)
  };
  Kind kind = Kind::kPass;
  double seconds = 0;
  std::string body;
  std::function<std::string(const std::string&)> rewrite;

  static Fault Pass() { return {}; }
  static Fault Reset() { return Of(Kind::kReset); }
  static Fault Status500() { return Of(Kind::kStatus500); }
  static Fault Status429(double retry_after_s) { return Of(Kind::kStatus429, retry_after_s); }
  static Fault Delay(double seconds) { return Of(Kind::kDelay, seconds); }
  static Fault TruncateHalf() { return Of(Kind::kTruncateHalf); }
  static Fault ReplaceBody(std::string bytes) {
    Fault f = Of(Kind::kReplaceBody);
    f.body = std::move(bytes);
    return f;
  }
  static Fault RewriteJson(std::function<std::string(const std::string&)> fn) {
    Fault f = Of(Kind::kRewriteJson);
    f.rewrite = std::move(fn);
    return f;
  }

 private:
  static Fault Of(Kind kind, double seconds = 0) {
    Fault f;
    f.kind = kind;
    f.seconds = seconds;
    return f;
  }
};

class FaultProxy {
 public:
  // request_number counts from 1 over the proxy's life. Called one request at a time; a null hook passes all.
  using Hook = std::function<Fault(int request_number, const Request&)>;
  FaultProxy(int upstream_port, Hook hook);

  int port() const { return server_.port(); }
  std::string base_url() const { return server_.base_url(); }
  int requests() const { return server_.requests(); }

 private:
  Reply Handle(const Request& request);

  const int upstream_port_;
  const Hook hook_;
  int count_ = 0;  // only Handle touches it, and LoopbackServer serializes those calls
  LoopbackServer server_;  // last: it starts calling Handle as soon as it is built
};

}  // namespace pot::test
