#include "support/route_proxy.h"

#include <stdexcept>

#include "support/fault_proxy.h"

namespace pot::test {
namespace {

// SplitMix64's finalizer: a stateless draw per request number, so the routing of request n does not depend
// on how many requests came before it or in what order the test asked them.
uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// llama-server's /completion and /completions, the OpenAI /v1/completions and /v1/chat/completions.
bool IsCompletion(const Request& request) {
  if (request.method != "POST") return false;
  const std::string path = request.path.substr(0, request.path.find('?'));
  return path.ends_with("/completion") || path.ends_with("/completions");
}

double CheckedRho(double rho) {
  if (!(rho >= 0 && rho <= 1)) throw std::invalid_argument("route proxy: rho must be in [0, 1]");
  return rho;
}

}  // namespace

RouteProxy::RouteProxy(int primary_port, int substitute_port, double rho, uint64_t seed)
    : primary_port_(primary_port),
      substitute_port_(substitute_port),
      rho_(CheckedRho(rho)),  // before server_ starts serving
      seed_(seed),
      server_([this](const Request& r) { return Handle(r); }) {}

bool RouteProxy::ToSubstitute(double rho, uint64_t seed, uint64_t n) {
  const double uniform = static_cast<double>(Mix(seed + n * 0x9e3779b97f4a7c15ULL) >> 11) * 0x1.0p-53;  // [0, 1)
  return uniform < rho;
}

RouteCounts RouteProxy::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

Reply RouteProxy::Handle(const Request& request) {
  int upstream = primary_port_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!IsCompletion(request)) {
      ++counts_.other_to_primary;
    } else if (const uint64_t n = counts_.completions_to_primary + counts_.completions_to_substitute + 1;
               ToSubstitute(rho_, seed_, n)) {
      ++counts_.completions_to_substitute;
      upstream = substitute_port_;
    } else {
      ++counts_.completions_to_primary;
    }
  }
  Reply reply;
  Forward(upstream, request, "route proxy", &reply);  // a failed forward's reply is the 502 to pass on
  return reply;
}

}  // namespace pot::test
