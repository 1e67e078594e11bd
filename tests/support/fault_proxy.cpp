#include "support/fault_proxy.h"

namespace pot::test {

bool Forward(int upstream_port, const Request& request, const std::string& proxy_name, Reply* reply) {
  std::string error;
  // A generous bound: the upstream is a model, and a test's own client timeout is what is under test.
  if (Fetch(upstream_port, request, 600, reply, &error)) return true;
  *reply = Reply::Json(502, "{\"error\":\"" + proxy_name + ": upstream: " + error + "\"}");
  return false;
}

FaultProxy::FaultProxy(int upstream_port, Hook hook)
    : upstream_port_(upstream_port), hook_(std::move(hook)), server_([this](const Request& r) { return Handle(r); }) {}

Reply FaultProxy::Handle(const Request& request) {
  const Fault fault = hook_ ? hook_(++count_, request) : Fault::Pass();
  switch (fault.kind) {
    case Fault::Kind::kReset: {
      Reply reply;
      reply.close_without_answer = true;
      return reply;
    }
    case Fault::Kind::kStatus500:
      return Reply::Json(500, R"({"error":"fault proxy: injected 500"})");
    case Fault::Kind::kStatus429: {
      Reply reply = Reply::Json(429, R"({"error":"fault proxy: injected 429"})");
      reply.headers.emplace_back("Retry-After", std::to_string(static_cast<long>(fault.seconds)));
      return reply;
    }
    default:
      break;
  }
  Reply reply;
  if (!Forward(upstream_port_, request, "fault proxy", &reply)) return reply;
  switch (fault.kind) {
    case Fault::Kind::kDelay:
      reply.delay_s = fault.seconds;
      break;
    case Fault::Kind::kTruncateHalf:
      reply.cut_body_short = true;
      break;
    case Fault::Kind::kReplaceBody:
      reply.body = fault.body;
      break;
    case Fault::Kind::kRewriteJson:
      reply.body = fault.rewrite(reply.body);
      break;
    default:
      break;
  }
  return reply;
}

}  // namespace pot::test
