// score: how far apart two models' next-token distributions are on one challenge. The number fed to the
// sequential test is the mean over scored positions of a distance in [0, 1]; diagnostics ride along.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "util/status.h"

namespace pot::verify {

enum class Distance {
  kTotalVariation,  // (1/2) sum |p - q|
  kJensenShannon,   // JS(p, q) / ln 2, so 1 is the maximum
};

struct ChallengeScore {
  double score = 0;           // the mean distance over positions: X_i of the sequential test
  double mean_tv = 0;         // always computed
  double mean_js = 0;         // computed only when it is the score (it costs a log per entry)
  double mean_kl = 0;         // KL(reference || candidate), nats
  double top1_agreement = 0;  // fraction of positions where both models' argmax agree
  double mean_abs_dnll = 0;   // mean |log p_ref(t) - log p_cand(t)| over the scored tokens t
  uint32_t positions = 0;
};

// ref and cand hold one row per scored position, over the same vocabulary; targets[i] is the token that
// follows position i. Fails (never substitutes a value) on shape mismatches or non-finite results.
Status ScoreChallenge(const engine::Distributions& ref, const engine::Distributions& cand, const std::vector<int32_t>& targets,
                      Distance distance, ChallengeScore* out);

const char* DistanceName(Distance d);

// One model's next-token distributions cut down to what a reference file keeps. At each position: the
// head, its k most likely tokens with their log-probabilities (largest first, ties by lower id); then
// `samples` tokens drawn from the distribution restricted to the tail (every token outside the head),
// with their log-probabilities; and the log-probability of the token that actually follows (the target).
struct ReferenceRows {
  int k = 0, samples = 0;
  std::vector<int32_t> ids;        // rows() x width(): the head, then the tail samples
  std::vector<float> logp;         // the same shape
  std::vector<float> target_logp;  // rows(); empty when no targets were given
  size_t width() const { return static_cast<size_t>(k + samples); }
  size_t rows() const { return width() > 0 ? ids.size() / width() : 0; }
};

// targets may be empty (no target log-probabilities), else one per row of d. uniform(row, j) supplies
// the independent uniform draw in [0, 1) behind tail sample j of row (unused when samples is 0).
void ExtractReferenceRows(const engine::Distributions& d, const std::vector<int32_t>& targets, int k, int samples,
                          const std::function<double(size_t row, int j)>& uniform, ReferenceRows* out);

// Total variation against a reference known only by its rows (docs/verify.md, "Reference files"). At
// each position, with H the head and T the tail, TV = sum over H of max(0, p - q) + sum over T of
// max(0, p - q); the head's part is exact and
//   - with tail samples v_j ~ p restricted to T, the tail's part is estimated by
//     p(T) * mean_j max(0, 1 - q(v_j) / p(v_j)): unbiased, so the score's expectation over the draws is
//     the full-vocabulary TV, and still in [0, 1];
//   - without, it is bounded below by the least any distribution matching the head (and putting at most
//     the head's smallest probability on each tail token) can give: the score is a lower bound on TV.
// KL is over the head and the tail's total (a lower bound); top-1 agreement and |dNLL| are exact.
// cand needs only log-probabilities (with_p may be false).
Status ScoreAgainstReference(const ReferenceRows& ref, const engine::Distributions& cand,
                             const std::vector<int32_t>& targets, ChallengeScore* out);

// SHA-256 (hex) over both models' top-k next-token log-probabilities at every scored position:
//   lp("pot.topk.v1") || u32le(k) || for each position: for reference then candidate: k x (u32le id, f32le logp)
// sorted by log-probability descending, ties by id ascending. Recorded per challenge in the transcript.
// Only the heads of the rows enter the digest.
std::string TopKDigest(const ReferenceRows& ref, const ReferenceRows& cand);

}  // namespace pot::verify
