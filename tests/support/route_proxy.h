// RouteProxy: an HTTP proxy on a free loopback port in front of two upstreams, 127.0.0.1:primary and
// 127.0.0.1:substitute — a provider that serves another model on a share rho of its requests. The nth POST
// to a completion route (from 1, over the proxy's life) goes to the substitute when a draw seeded by
// (seed, n) falls below rho, so the same seed routes the same request numbers the same way whatever the
// timing. Every other request (GET /props, /v1/models, /health ...) goes to the primary, as a dishonest
// provider would answer probes honestly. Answers come back unchanged; the proxy counts what each upstream got.
// Requests are numbered as they arrive and served one at a time (LoopbackServer serializes them), so a
// client keeping several in flight (pot verify --parallel) is routed by arrival order, which timing decides.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "support/loopback_server.h"

namespace pot::test {

struct RouteCounts {
  int completions_to_primary = 0;
  int completions_to_substitute = 0;
  int other_to_primary = 0;  // requests that are not completions: always the primary's
};

class RouteProxy {
 public:
  // rho in [0, 1]: 0 sends every completion to the primary, 1 every one to the substitute.
  RouteProxy(int primary_port, int substitute_port, double rho, uint64_t seed);

  // Whether completion number n (from 1) goes to the substitute under (rho, seed): the proxy's whole rule.
  static bool ToSubstitute(double rho, uint64_t seed, uint64_t n);

  int port() const { return server_.port(); }
  std::string base_url() const { return server_.base_url(); }
  RouteCounts counts() const;  // from any thread

 private:
  Reply Handle(const Request& request);

  const int primary_port_;
  const int substitute_port_;
  const double rho_;
  const uint64_t seed_;
  mutable std::mutex mu_;  // guards counts_, read by counts() while Handle runs on a connection thread
  RouteCounts counts_;
  LoopbackServer server_;  // last: it starts calling Handle as soon as it is built
};

}  // namespace pot::test
