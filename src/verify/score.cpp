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

// KL(p || q) between two small distributions given as logs of their probabilities (the head and the
// tail total of ScoreAgainstReference). A bucket with p > 0 and q = 0 would be infinite; the tail's logs
// are therefore floored at kLogFloor.
constexpr double kLogFloor = -27.6;  // log(1e-12)

// sum over v of min(exp(logp[v]), exp(log_cap)): the candidate's mass that fits under the cap.
double SumMinExp(const float* logp, int n, float log_cap) {
  double sum = 0;
  for (int v = 0; v < n; ++v) sum += std::exp(static_cast<double>(std::min(logp[v], log_cap)));
  return sum;
}

// The per-position numbers both scoring paths average into a ChallengeScore.
class ScoreSum {
 public:
  Status Add(const PositionDistances& d, bool top1_agrees, double abs_dnll) {
    double tv = d.tv, js = d.js;
    POT_RETURN_IF_ERROR(IntoUnitInterval(&tv, "total variation"));
    POT_RETURN_IF_ERROR(IntoUnitInterval(&js, "Jensen-Shannon divergence"));
    s_.mean_tv += tv;
    s_.mean_js += js;
    s_.mean_kl += d.kl;
    s_.top1_agreement += top1_agrees;
    s_.mean_abs_dnll += abs_dnll;
    ++s_.positions;
    return Status::OK();
  }
  Status Finish(Distance distance, ChallengeScore* out) {
    const double n = s_.positions;
    s_.mean_tv /= n;
    s_.mean_js /= n;
    s_.mean_kl /= n;
    s_.top1_agreement /= n;
    s_.mean_abs_dnll /= n;
    s_.score = distance == Distance::kTotalVariation ? s_.mean_tv : s_.mean_js;
    if (!std::isfinite(s_.mean_kl) || !std::isfinite(s_.mean_abs_dnll)) return Status::Internal("non-finite diagnostics");
    *out = s_;
    return Status::OK();
  }

 private:
  ChallengeScore s_;
};

Status CheckTarget(int32_t t, int n_vocab) {
  if (t < 0 || t >= n_vocab) return Status::Internal("scored token id " + std::to_string(t) + " out of range");
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
  ScoreSum sum;
  for (size_t i = 0; i < targets.size(); ++i) {
    const float* lp = ref.logp_row(i);
    const float* lq = cand.logp_row(i);
    const int32_t t = targets[i];
    POT_RETURN_IF_ERROR(CheckTarget(t, ref.n_vocab));
    POT_RETURN_IF_ERROR(sum.Add(Distances(ref.p_row(i), lp, cand.p_row(i), lq, ref.n_vocab, distance == Distance::kJensenShannon),
                                ref.argmax[i] == cand.argmax[i], std::abs(static_cast<double>(lp[t]) - lq[t])));
  }
  return sum.Finish(distance, out);
}

void ExtractReferenceRows(const engine::Distributions& d, const std::vector<int32_t>& targets, int k, int samples,
                          const std::function<double(size_t row, int j)>& uniform, ReferenceRows* out) {
  out->k = k;
  out->samples = samples;
  out->ids.clear();
  out->logp.clear();
  out->target_logp.clear();
  std::vector<int32_t> head, sorted_head;
  std::vector<std::pair<double, int>> draws;  // (uniform, j), sorted to walk the tail once per row
  std::vector<int32_t> drawn(static_cast<size_t>(samples));
  for (size_t row = 0; row < d.rows(); ++row) {
    const float* logp = d.logp_row(row);
    const float* p = d.p_row(row);
    engine::TopK(logp, d.n_vocab, k, &head);
    for (int32_t id : head) {
      out->ids.push_back(id);
      out->logp.push_back(logp[id]);
    }
    if (samples > 0) {
      // The tail is every id outside the head, walked in id order (twice: its mass, then the inverse CDF).
      sorted_head.assign(head.begin(), head.end());
      std::sort(sorted_head.begin(), sorted_head.end());
      auto for_each_tail = [&](auto&& visit) {
        size_t h = 0;
        for (int v = 0; v < d.n_vocab; ++v) {
          if (h < sorted_head.size() && sorted_head[h] == v) {
            ++h;
            continue;
          }
          if (!visit(v)) return;
        }
      };
      double tail = 0;
      int last_tail = -1;
      for_each_tail([&](int v) {
        tail += p[v];
        if (p[v] > 0 || last_tail < 0) last_tail = v;
        return true;
      });
      draws.clear();
      for (int j = 0; j < samples; ++j) draws.emplace_back(uniform(row, j) * tail, j);
      std::sort(draws.begin(), draws.end());
      // Inverse CDF; rounding past the end falls on the last tail token with positive probability.
      double cumulative = 0;
      size_t next = 0;
      for_each_tail([&](int v) {
        cumulative += p[v];
        while (next < draws.size() && draws[next].first < cumulative) drawn[draws[next++].second] = v;
        return next < draws.size();
      });
      for (; next < draws.size(); ++next) drawn[draws[next].second] = last_tail;
      for (int32_t v : drawn) {
        out->ids.push_back(v);
        out->logp.push_back(logp[v]);
      }
    }
    if (!targets.empty()) out->target_logp.push_back(logp[targets[row]]);
  }
}

Status ScoreAgainstReference(const ReferenceRows& ref, const engine::Distributions& cand,
                             const std::vector<int32_t>& targets, ChallengeScore* out) {
  if (ref.k < 1 || ref.rows() != cand.rows() || ref.rows() != targets.size() || ref.target_logp.size() != targets.size()) {
    return Status::Internal("scored positions disagree: reference " + std::to_string(ref.rows()) + ", candidate " +
                            std::to_string(cand.rows()) + ", tokens " + std::to_string(targets.size()));
  }
  if (targets.empty()) return Status::InvalidArgument("challenge has no position to score");
  ScoreSum sum;
  const size_t width = ref.width();
  auto q = [](const float* lq, int32_t v) { return std::exp(static_cast<double>(lq[v])); };
  for (size_t i = 0; i < targets.size(); ++i) {
    const float* lq = cand.logp_row(i);
    const int32_t* ids = ref.ids.data() + i * width;
    const float* lp = ref.logp.data() + i * width;
    const int32_t t = targets[i];
    POT_RETURN_IF_ERROR(CheckTarget(t, cand.n_vocab));
    for (size_t j = 0; j < width; ++j) POT_RETURN_IF_ERROR(CheckTarget(ids[j], cand.n_vocab));
    PositionDistances d;
    double p_head = 0, q_head = 0, q_head_under_cap = 0;
    const double cap = std::exp(static_cast<double>(lp[ref.k - 1]));  // no tail token is likelier than this
    for (int j = 0; j < ref.k; ++j) {
      const double p = std::exp(static_cast<double>(lp[j]));
      const double q_j = q(lq, ids[j]);
      d.tv += std::max(0.0, p - q_j);
      d.kl += p * (lp[j] - lq[ids[j]]);
      p_head += p;
      q_head += q_j;
      q_head_under_cap += std::min(q_j, cap);
    }
    const double p_tail = std::max(0.0, 1 - p_head), q_tail = std::max(0.0, 1 - q_head);
    if (ref.samples > 0) {
      double tail = 0;
      for (size_t j = ref.k; j < width; ++j) {
        tail += std::max(0.0, 1 - std::exp(static_cast<double>(lq[ids[j]]) - lp[j]));
      }
      d.tv += p_tail * tail / ref.samples;
    } else {
      // The tail's reference mass can sit under the candidate's up to sum(min(q_v, cap)); the rest of it
      // cannot, and exceeds q there.
      const double q_tail_under_cap = std::max(0.0, SumMinExp(lq, cand.n_vocab, lp[ref.k - 1]) - q_head_under_cap);
      d.tv += std::max(0.0, p_tail - q_tail_under_cap);
    }
    if (p_tail > 0) d.kl += p_tail * (std::max(kLogFloor, std::log(p_tail)) - std::max(kLogFloor, std::log(q_tail)));
    POT_RETURN_IF_ERROR(sum.Add(d, ids[0] == cand.argmax[i], std::abs(static_cast<double>(ref.target_logp[i]) - lq[t])));
  }
  return sum.Finish(Distance::kTotalVariation, out);
}

std::string TopKDigest(const ReferenceRows& ref, const ReferenceRows& cand) {
  Sha256 h;
  h.UpdateLengthPrefixed("pot.topk.v1");
  h.Update(U32Le(static_cast<uint32_t>(ref.k)));
  for (size_t row = 0; row < ref.rows(); ++row) {
    for (const ReferenceRows* side : {&ref, &cand}) {
      for (int j = 0; j < side->k; ++j) {
        const size_t at = row * side->width() + j;
        h.Update(U32Le(static_cast<uint32_t>(side->ids[at])));
        uint32_t bits;
        std::memcpy(&bits, &side->logp[at], 4);
        h.Update(U32Le(bits));
      }
    }
  }
  return ToHex(h.Final());
}

}  // namespace pot::verify
