// endpoint/score: one bounded score per token the endpoint generated, from the reference model's own
// next-token distribution at that position (the reference reads the endpoint's text, teacher-forced). Each
// score is in [0, 1]; docs/statistics.md ("Per-token scores") says why they may feed the sequential test
// token by token, and docs/endpoints.md what each one can and cannot be faked into.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "endpoint/api.h"
#include "endpoint/tokens.h"
#include "engine/engine.h"
#include "util/status.h"

namespace pot::endpoint {

enum class ScoreKind {
  // Temperature 0. 1 where the endpoint's token is less likely under the reference than the reference's
  // own argmax by more than tau nats, else 0. The same weights pick the argmax up to numerical noise,
  // far below tau: a flip beyond the margin is impossible under the null.
  kGreedy,
  // Temperature 1, nothing truncated, top-k log-probabilities reported. An unbiased estimate of the total
  // variation distance between the endpoint's distribution q and the reference's p at the position:
  //   sampled token y in the reported head H:  sum_{v in H} max(0, q(v) - p(v)) / q(H)
  //   y outside H:                              max(0, 1 - p(y) / q(y))
  // (E over y ~ q is exactly TV(p, q); each value is in [0, 1]). q is what the endpoint reports: forgeable.
  kLogprobs,
  // llama-server with a seed, temperature 1 and every other sampler off: its sampler then draws
  // u ~ U[0, 1) from std::mt19937(seed) per token and picks the first token (in id order) whose cumulative
  // probability reaches u (llama-sampler.cpp, llama_sampler_dist_apply, llama.cpp de3ff81). pot replays
  // that draw on the reference's distribution: 1 where the endpoint's token is not the replayed one and u
  // lies more than tau (in probability) outside the endpoint's token's interval, else 0. The same weights
  // can only disagree where u sits within numerical noise of an interval's edge, so the null mean is 0.
  // Applies only when the response's generation_settings say that sampler ran (ReplayApplies).
  kReplay,
  // Temperature 1, nothing truncated, no seed, no log-probabilities read: only which token was sampled.
  // With s(v) = min(-log p(v), C) the sampled token's surprisal under the reference p (clipped at
  // C = kTextClipNats) and m = sum_v p(v) s(v) its expectation,
  //   Z = 1/2 + (s(y) - m) / (2 C)   in [0, 1],
  // whose conditional mean is exactly 1/2 when the endpoint samples from p; end-of-generation tokens count
  // as one outcome (a stop says one of them was drawn, not which). Tested two-sided (CenteredTokenTest):
  // another model's tokens are more (or less) surprising to the reference than its own. Needs the sampled
  // tokens as the endpoint drew them (ids, or per-token entries), not a re-tokenization of the text.
  kText,
};
// C of the text score, nats: the surprisal of a probability of 2e-9; larger surprisals count as C.
constexpr double kTextClipNats = 20;
const char* ScoreName(ScoreKind kind);
Status ScoreFromName(const std::string& name, ScoreKind* out);

// Each score's default tolerance and the mean it takes when the endpoint serves the reference's own weights
// (its honest floor), measured on the forge family served by llama-server (bench/endpoint.sh; docs/endpoints.md
// has the table): a score that sits far below epsilon for the same weights, so SAME is reachable, and above
// it for every other member but q8_0.
struct Calibration {
  double epsilon;
  double floor;
  const char* calibrated_on;
};
const Calibration& CalibrationOf(ScoreKind kind);

struct ScoreParams {
  ScoreKind kind = ScoreKind::kGreedy;
  double tau = 0.05;     // greedy margin, nats; replay margin, probability (default 1e-3 there)
  uint32_t seed = 0;     // replay: the challenge's seed
  int top_logprobs = 0;  // k asked of the endpoint (logprobs: at least 1)
};

// OK when generation's reported sampler settings are the ones a replay needs: seed, temperature 1, top-k
// off, top-p 1, min-p 0, typical-p 1, no XTC, top-n-sigma off, neutral penalties, no mirostat. The error
// names the first setting that differs ("replay does not apply: ...").
Status ReplayApplies(const Generation& generation, uint32_t seed);
// The same settings but the seed, which the text score needs where the endpoint reports them (llama-server);
// an endpoint that does not report them is taken at its word, and a truncating sampler shows as DIFFERENT.
Status FullDistributionSampled(const Generation& generation);

// scores[i] for generated token i, whose reference distribution is row first_row + i of ref; for kLogprobs,
// tokens llama-server sent without probabilities are not scored (so scores may be shorter than ids). ids are the
// generated tokens (MapTokens); generation supplies the reported log-probabilities for kLogprobs.
Status ScoreTokens(const ScoreParams& params, const Vocabulary& vocab, const engine::Distributions& ref, size_t first_row,
                   const std::vector<int32_t>& ids, const Generation& generation, std::vector<double>* scores);

}  // namespace pot::endpoint
