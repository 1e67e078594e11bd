#include "endpoint/score.h"

#include <cmath>

#include "text/text.h"

namespace pot::endpoint {
namespace {

double GreedyScore(const float* logp, int32_t argmax, int32_t token, double tau) {
  return static_cast<double>(logp[argmax]) - static_cast<double>(logp[token]) > tau ? 1.0 : 0.0;
}

Status LogprobsScore(const Vocabulary& vocab, const float* logp, int32_t token, const GeneratedToken& g, double* out) {
  double head_mass = 0, head_excess = 0;
  bool in_head = false;
  for (const TokenLogprob& e : g.top) {
    int32_t id = 0;
    POT_RETURN_IF_ERROR(MapEntry(vocab, e, &id).WithContext("top-list entry"));
    const double q = std::exp(e.logprob), p = std::exp(static_cast<double>(logp[id]));
    head_mass += q;
    head_excess += std::max(0.0, q - p);
    in_head = in_head || id == token;
  }
  double x;
  if (in_head) {
    x = head_mass > 0 ? head_excess / head_mass : 0;
  } else {
    const double ratio = std::exp(static_cast<double>(logp[token]) - g.token.logprob);
    x = std::max(0.0, 1.0 - ratio);
  }
  if (!std::isfinite(x)) return Status::IOError("a non-finite score");
  *out = std::min(1.0, std::max(0.0, x));
  return Status::OK();
}

}  // namespace

const Calibration& CalibrationOf(ScoreKind kind) {
  // bench/endpoint.sh, 2026-12-01: per-token means over 4-16 challenges of 32 tokens, llama-server 3.22.1
  // (build de3ff81, CPU) serving each member, base.gguf as the reference. greedy (tau 0.05): base 0, q8_0 0,
  // q4_0 0.018, finetune 0.031, distilled 0.086, sibling 0.53. logprobs (k 8): base 0.0001, q8_0 0.0020,
  // q4_0 0.011, finetune 0.42, sibling 0.30, distilled 0.50.
  static const Calibration kGreedy{0.01, 0.0, "forge family (testbed seed 1) on llama-server 3.22.1 CPU, tau 0.05"};
  static const Calibration kLogprobs{0.005, 0.0001, "forge family (testbed seed 1) on llama-server 3.22.1 CPU, k 8"};
  return kind == ScoreKind::kGreedy ? kGreedy : kLogprobs;
}

const char* ScoreName(ScoreKind kind) { return kind == ScoreKind::kGreedy ? "greedy" : "logprobs"; }

Status ScoreFromName(const std::string& name, ScoreKind* out) {
  for (ScoreKind k : {ScoreKind::kGreedy, ScoreKind::kLogprobs}) {
    if (name == ScoreName(k)) {
      *out = k;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("--score is greedy or logprobs, not '" + text::EscapeInvalidUtf8(name) + "'");
}

Status ScoreTokens(const ScoreParams& params, const Vocabulary& vocab, const engine::Distributions& ref, size_t first_row,
                   const std::vector<int32_t>& ids, const Generation& generation, std::vector<double>* scores) {
  scores->clear();
  if (ids.size() != generation.tokens.size() || first_row + ids.size() > ref.rows() || ref.n_vocab != vocab.size()) {
    return Status::Internal("endpoint scoring: rows and tokens do not line up");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const float* logp = ref.logp_row(first_row + i);
    double x = 0;
    if (params.kind == ScoreKind::kGreedy) {
      x = GreedyScore(logp, ref.argmax[first_row + i], ids[i], params.tau);
    } else {
      POT_RETURN_IF_ERROR(LogprobsScore(vocab, logp, ids[i], generation.tokens[i], &x).WithContext("generated token " + std::to_string(i)));
    }
    scores->push_back(x);
  }
  return Status::OK();
}

}  // namespace pot::endpoint
