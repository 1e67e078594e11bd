#include "endpoint/score.h"

#include <algorithm>
#include <cmath>
#include <random>

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

// llama-server's draw, replayed: u from the same generator and distribution, then the cumulative sum of
// exp(logp - max) in id order, in double, as llama_sampler_dist_apply sums exp(logit - max).
double ReplayScore(const float* logp, int n_vocab, int32_t argmax, int32_t token, double u, double tau) {
  const float max_l = logp[argmax];
  double total = 0, below = 0, own = 0;
  for (int v = 0; v < n_vocab; ++v) {
    const double p = static_cast<double>(expf(logp[v] - max_l));
    if (v < token) below += p;
    if (v == token) own = p;
    total += p;
  }
  // The endpoint's token is the replayed one when u falls in its interval [below, below + own) of the CDF.
  const double lo = below / total, hi = (below + own) / total;
  const double outside = u < lo ? lo - u : (u > hi ? u - hi : 0.0);
  return outside > tau ? 1.0 : 0.0;
}

// Z of the text score (score.h) at one position: every token its own outcome but the end-of-generation
// ones, which merge into one. In double, normalized here (the row's float log-probabilities sum to 1 only
// up to rounding).
double TextScore(const Vocabulary& vocab, const float* logp, int n_vocab, int32_t argmax, int32_t token) {
  const double max_l = static_cast<double>(logp[argmax]);
  double total = 0;
  for (int v = 0; v < n_vocab; ++v) total += std::exp(static_cast<double>(logp[v]) - max_l);
  const double log_total = max_l + std::log(total);
  auto surprisal = [](double log_p) { return std::min(-log_p, kTextClipNats); };
  double expected = 0, eog_mass = 0;
  for (int v = 0; v < n_vocab; ++v) {
    const double log_p = static_cast<double>(logp[v]) - log_total;
    if (vocab.IsEndOfGeneration(v)) eog_mass += std::exp(log_p);
    else expected += std::exp(log_p) * surprisal(log_p);
  }
  const double eog_surprisal = eog_mass > 0 ? surprisal(std::log(eog_mass)) : kTextClipNats;
  expected += eog_mass * eog_surprisal;
  const double own = vocab.IsEndOfGeneration(token) ? eog_surprisal : surprisal(static_cast<double>(logp[token]) - log_total);
  return std::clamp(0.5 + (own - expected) / (2 * kTextClipNats), 0.0, 1.0);
}

// Whether llama-server counts text as ending inside a UTF-8 character: its validate_utf8
// (tools/server/server-common.cpp) looks at each of the last four bytes, without stopping at the first
// complete one, for a lead byte announcing more bytes than follow it. So a lead byte followed by ASCII (text
// that is not UTF-8 at all) counts too; the rule is reproduced as it is, not as UTF-8 would have it.
bool EndsInsideCharacter(const std::string& text) {
  const size_t len = text.size();
  for (size_t back = 1; back <= 4 && back <= len; ++back) {
    const auto c = static_cast<unsigned char>(text[len - back]);
    const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (need > back) return true;
  }
  return false;
}

// The one error of a score whose sampler the endpoint's reported settings rule out.
Status DoesNotApply(const char* score, const std::string& reported) {
  return Status::IOError(std::string(score) + " does not apply: the endpoint reports " + reported);
}

// The settings check shared by replay and text.
Status SamplerIsFull(const SamplerSettings& s, const char* score) {
  auto no = [score](const std::string& reported) { return DoesNotApply(score, reported); };
  if (s.temperature != 1.0) return no("temperature " + std::to_string(s.temperature));
  if (s.top_k > 0) return no("top_k " + std::to_string(s.top_k));
  if (s.top_p != 1.0 || s.min_p != 0.0 || s.typical_p != 1.0) return no("top_p/min_p/typical_p truncation");
  if (s.xtc_probability != 0.0 || s.top_n_sigma > 0) return no("XTC or top-n-sigma sampling");
  if (s.repeat_penalty != 1.0 || s.presence_penalty != 0.0 || s.frequency_penalty != 0.0 || s.dry_multiplier != 0.0) {
    return no("repetition penalties");
  }
  if (s.mirostat != 0) return no("mirostat sampling");
  return Status::OK();
}

}  // namespace

Status ReplayApplies(const Generation& g, uint32_t seed) {
  const SamplerSettings& s = g.sampler;
  if (!s.reported) return DoesNotApply("replay", "no generation_settings (not llama-server?)");
  if (s.seed != seed) return DoesNotApply("replay", "seed " + std::to_string(s.seed) + ", not the " + std::to_string(seed) + " asked for");
  return SamplerIsFull(s, "replay");
}

Status FullDistributionSampled(const Generation& g) {
  return g.sampler.reported ? SamplerIsFull(g.sampler, "the text score") : Status::OK();
}

const Calibration& CalibrationOf(ScoreKind kind) {
  // bench/endpoint.sh, 2026-12-02: per-token means over 16 challenges of 32 tokens (fewer where the test
  // stopped early), llama-server 3.22.1 (build de3ff81, CPU) serving each member, base.gguf the reference.
  // replay (tau 1e-3): base 0, q8_0 0.027, q4_0 0.16, finetune 0.88, sibling 0.72, distilled 0.97.
  // greedy (tau 0.05): base 0, q8_0 0, q4_0 0.004-0.018, finetune 0.035, sibling 0.42, distilled 0.38.
  // logprobs (k 8): base 0.0000-0.0001, q8_0 0.0018, q4_0 0.013-0.018, finetune 0.37, sibling 0.29,
  // distilled 0.35.
  static const Calibration kGreedy{0.01, 0.0, "forge family (testbed seed 1) on llama-server 3.22.1 CPU, tau 0.05"};
  static const Calibration kLogprobs{0.005, 0.0001, "forge family (testbed seed 1) on llama-server 3.22.1 CPU, k 8"};
  static const Calibration kReplay{0.01, 0.0, "forge family (testbed seed 1) on llama-server 3.22.1 CPU, tau 1e-3"};
  // text: epsilon is delta, the tolerated |mean - 1/2| (0.1 nats of mean surprisal at C = 20); floor the
  // |mean - 1/2| base showed.
  static const Calibration kText{0.0025, 0.0, "forge family (testbed seed 1) on llama-server 3.22.1 CPU, C 20 nats"};
  switch (kind) {
    case ScoreKind::kGreedy: return kGreedy;
    case ScoreKind::kLogprobs: return kLogprobs;
    case ScoreKind::kReplay: return kReplay;
    case ScoreKind::kText: return kText;
  }
  return kText;
}

const char* ScoreName(ScoreKind kind) {
  switch (kind) {
    case ScoreKind::kGreedy: return "greedy";
    case ScoreKind::kLogprobs: return "logprobs";
    case ScoreKind::kReplay: return "replay";
    case ScoreKind::kText: return "text";
  }
  return "text";
}

Status ScoreFromName(const std::string& name, ScoreKind* out) {
  for (ScoreKind k : {ScoreKind::kGreedy, ScoreKind::kLogprobs, ScoreKind::kReplay, ScoreKind::kText}) {
    if (name == ScoreName(k)) {
      *out = k;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("--score is replay, greedy, logprobs or text, not '" + text::EscapeInvalidUtf8(name) + "'");
}

Status ScoreTokens(const ScoreParams& params, const Vocabulary& vocab, const engine::Distributions& ref, size_t first_row,
                   const std::vector<int32_t>& ids, const Generation& generation, std::vector<double>* scores) {
  scores->clear();
  if (ids.size() != generation.tokens.size() || first_row + ids.size() > ref.rows() || ref.n_vocab != vocab.size()) {
    return Status::Internal("endpoint scoring: rows and tokens do not line up");
  }
  if (params.kind == ScoreKind::kReplay) POT_RETURN_IF_ERROR(ReplayApplies(generation, params.seed));
  if (params.kind == ScoreKind::kText) POT_RETURN_IF_ERROR(FullDistributionSampled(generation));
  std::mt19937 rng(params.seed);
  std::string spelled;
  std::uniform_real_distribution<double> uniform(0.0f, 1.0f);  // exactly llama_sampler_dist_apply's
  for (size_t i = 0; i < ids.size(); ++i) {
    const float* logp = ref.logp_row(first_row + i);
    double x = 0;
    if (params.kind == ScoreKind::kGreedy) {
      x = GreedyScore(logp, ref.argmax[first_row + i], ids[i], params.tau);
    } else if (params.kind == ScoreKind::kReplay) {
      x = ReplayScore(logp, ref.n_vocab, ref.argmax[first_row + i], ids[i], uniform(rng), params.tau);
    } else if (params.kind == ScoreKind::kText) {
      x = TextScore(vocab, logp, ref.n_vocab, ref.argmax[first_row + i], ids[i]);
    } else {
      spelled += vocab.Piece(ids[i]);
      if (!generation.tokens[i].has_logprob) {
        // Passed over by llama-server; only where the text then ends inside a character, as its rule says.
        if (!EndsInsideCharacter(spelled)) {
          return Status::IOError("generated token " + std::to_string(i) + " has no log-probability, yet the text does not end inside a UTF-8 character there");
        }
        continue;
      }
      POT_RETURN_IF_ERROR(LogprobsScore(vocab, logp, ids[i], generation.tokens[i], &x).WithContext("generated token " + std::to_string(i)));
    }
    scores->push_back(x);
  }
  return Status::OK();
}

}  // namespace pot::endpoint
