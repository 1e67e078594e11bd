#include "verify/score.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "crypto/sha256.h"

namespace pot::verify {
namespace {

struct PositionDistances {
  double tv = 0, js = 0, kl = 0;
};

// TV and KL from stored probabilities and log-probabilities: no transcendental per entry. JS needs
// log((p+q)/2) per entry, so it is computed only when it is the score.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
PositionDistances Distances(const float* __restrict p, const float* __restrict lp, const float* __restrict q,
                            const float* __restrict lq, int n_vocab, bool with_js) {
  // 16 float lanes per sum so the loop vectorizes; the lanes are added in double at the end.
  constexpr int kLanes = 16;
  float tv_lanes[kLanes] = {}, kl_lanes[kLanes] = {};
  int v = 0;
  for (; v + kLanes <= n_vocab; v += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      tv_lanes[l] += std::abs(p[v + l] - q[v + l]);
      kl_lanes[l] += p[v + l] * (lp[v + l] - lq[v + l]);
    }
  }
  double tv = 0, kl = 0;
  for (; v < n_vocab; ++v) {
    tv += std::abs(p[v] - q[v]);
    kl += p[v] * (lp[v] - lq[v]);
  }
  for (int l = 0; l < kLanes; ++l) {
    tv += tv_lanes[l];
    kl += kl_lanes[l];
  }
  PositionDistances d;
  d.tv = 0.5 * tv;
  d.kl = kl;
  if (with_js) {
    for (int v = 0; v < n_vocab; ++v) {
      const double m = 0.5 * (static_cast<double>(p[v]) + q[v]);
      if (m <= 0) continue;
      const double log_m = std::log(m);
      if (p[v] > 0) d.js += 0.5 * p[v] * (lp[v] - log_m);
      if (q[v] > 0) d.js += 0.5 * q[v] * (lq[v] - log_m);
    }
    d.js /= std::log(2.0);
  }
  return d;
}

// Distances are in [0, 1] exactly; summation can overshoot by rounding. Anything beyond rounding is a bug
// or bad input and is reported, not clipped.
Status IntoUnitInterval(double* x, const char* what) {
  constexpr double kRounding = 1e-6;
  if (!std::isfinite(*x) || *x < -kRounding || *x > 1 + kRounding) {
    return Status::Internal(std::string(what) + " out of [0, 1]: " + std::to_string(*x));
  }
  *x = std::clamp(*x, 0.0, 1.0);
  return Status::OK();
}

}  // namespace

const char* DistanceName(Distance d) { return d == Distance::kTotalVariation ? "tv" : "js"; }

Status ScoreChallenge(const engine::Distributions& ref, const engine::Distributions& cand, const std::vector<int32_t>& targets,
                      Distance distance, ChallengeScore* out) {
  if (ref.n_vocab != cand.n_vocab) return Status::InvalidArgument("models have different vocabulary sizes");
  if (ref.rows() != cand.rows() || ref.rows() != targets.size()) {
    return Status::Internal("scored positions disagree: reference " + std::to_string(ref.rows()) + ", candidate " +
                            std::to_string(cand.rows()) + ", tokens " + std::to_string(targets.size()));
  }
  if (targets.empty()) return Status::InvalidArgument("challenge has no position to score");
  ChallengeScore s;
  for (size_t i = 0; i < targets.size(); ++i) {
    const float* p = ref.p_row(i);
    const float* q = cand.p_row(i);
    const float* lp = ref.logp_row(i);
    const float* lq = cand.logp_row(i);
    const PositionDistances d = Distances(p, lp, q, lq, ref.n_vocab, distance == Distance::kJensenShannon);
    double tv = d.tv, js = d.js;
    POT_RETURN_IF_ERROR(IntoUnitInterval(&tv, "total variation"));
    POT_RETURN_IF_ERROR(IntoUnitInterval(&js, "Jensen-Shannon divergence"));
    s.mean_tv += tv;
    s.mean_js += js;
    s.mean_kl += d.kl;
    s.top1_agreement += ref.argmax[i] == cand.argmax[i];
    const int32_t t = targets[i];
    if (t < 0 || t >= ref.n_vocab) return Status::Internal("scored token id " + std::to_string(t) + " out of range");
    s.mean_abs_dnll += std::abs(static_cast<double>(lp[t]) - static_cast<double>(lq[t]));
  }
  const double n = static_cast<double>(targets.size());
  s.mean_tv /= n;
  s.mean_js /= n;
  s.mean_kl /= n;
  s.top1_agreement /= n;
  s.mean_abs_dnll /= n;
  s.positions = static_cast<uint32_t>(targets.size());
  s.score = distance == Distance::kTotalVariation ? s.mean_tv : s.mean_js;
  if (!std::isfinite(s.mean_kl) || !std::isfinite(s.mean_abs_dnll)) return Status::Internal("non-finite diagnostics");
  *out = s;
  return Status::OK();
}

std::string TopKDigest(const engine::Distributions& ref, const engine::Distributions& cand, int k) {
  Sha256 h;
  h.UpdateLengthPrefixed("pot.topk.v1");
  h.Update(U32Le(static_cast<uint32_t>(k)));
  std::vector<int32_t> ids;
  for (size_t row = 0; row < ref.rows(); ++row) {
    for (const engine::Distributions* d : {&ref, &cand}) {
      const float* logp = d->logp_row(row);
      engine::TopK(logp, d->n_vocab, k, &ids);
      for (int32_t id : ids) {
        h.Update(U32Le(static_cast<uint32_t>(id)));
        uint32_t bits;
        std::memcpy(&bits, &logp[id], 4);
        h.Update(U32Le(bits));
      }
    }
  }
  return ToHex(h.Final());
}

}  // namespace pot::verify
