// score: how far apart two models' next-token distributions are on one challenge. The number fed to the
// sequential test is the mean over scored positions of a distance in [0, 1]; diagnostics ride along.
#pragma once

#include <cstdint>
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

// SHA-256 (hex) over both models' top-k next-token log-probabilities at every scored position:
//   lp("pot.topk.v1") || u32le(k) || for each position: for reference then candidate: k x (u32le id, f32le logp)
// sorted by log-probability descending, ties by id ascending. Recorded per challenge in the transcript.
std::string TopKDigest(const engine::Distributions& ref, const engine::Distributions& cand, int k);

}  // namespace pot::verify
