#include "selfcheck/selfcheck.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "challenge/challenge.h"
#include "crypto/hmac.h"
#include "llama.h"
#include "util/json.h"

namespace pot::selfcheck {

using json = nlohmann::ordered_json;

namespace {

// The k most likely tokens of a row of logits and their log-probabilities.
Status TopLogProbs(const float* logits, int n, int k, std::vector<int32_t>* ids, std::vector<double>* logp) {
  const double z = engine::LogSumExp(logits, n);
  if (!std::isfinite(z)) return Status::Internal("non-finite or missing logits from llama.cpp");
  engine::TopK(logits, n, k, ids);
  logp->clear();
  for (int32_t id : *ids) logp->push_back(logits[id] - z);
  return Status::OK();
}

// Folds max |logp[j] - log p_second(ids[j])| over the k given tokens into *max.
Status FoldMaxAbsDelta(const int32_t* ids, const double* logp, size_t k, const float* second, int n, double* max) {
  const double z = engine::LogSumExp(second, n);
  if (!std::isfinite(z)) return Status::Internal("non-finite or missing logits from llama.cpp");
  for (size_t j = 0; j < k; ++j) *max = std::max(*max, std::abs(logp[j] - (second[ids[j]] - z)));
  return Status::OK();
}

double ExactMatchRate(const Summary& s) {
  return s.prompts ? static_cast<double>(s.matches) / static_cast<double>(s.prompts) : 0.0;
}

}  // namespace

void Summary::Add(const PromptResult& r, const std::string& record_line) {
  ++prompts;
  matches += r.match;
  positions += r.compared;
  if (r.first_divergence >= 0) {
    if (first_divergence_min < 0 || r.first_divergence < first_divergence_min) first_divergence_min = r.first_divergence;
    if (divergence_histogram.size() <= static_cast<size_t>(r.first_divergence)) {
      divergence_histogram.resize(static_cast<size_t>(r.first_divergence) + 1);
    }
    ++divergence_histogram[static_cast<size_t>(r.first_divergence)];
  }
  max_abs_dlogprob = std::max(max_abs_dlogprob, r.max_abs_dlogprob);
  Sha256 h;
  h.UpdateLengthPrefixed("pot.selfcheck.records.v1");
  h.UpdateLengthPrefixed(records_digest);
  h.UpdateLengthPrefixed(record_line);
  records_digest = ToHex(h.Final());
}

int64_t Summary::FirstDivergenceMedian() const {
  const uint64_t diverged = prompts - matches;
  if (diverged == 0) return -1;
  uint64_t seen = 0;
  for (size_t pos = 0; pos < divergence_histogram.size(); ++pos) {
    seen += divergence_histogram[pos];
    if (2 * seen >= diverged) return static_cast<int64_t>(pos);
  }
  return -1;
}

std::string RecordLine(const PromptResult& r) {
  return json{{"index", r.index},
              {"match", r.match},
              {"first_divergence", r.first_divergence},
              {"max_abs_dlogprob", r.max_abs_dlogprob},
              {"compared", r.compared}}
      .dump();
}

Status ParseRecordLine(const std::string& line, PromptResult* out) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("selfcheck record is not JSON");
  try {
    out->index = j.at("index").get<uint64_t>();
    out->match = j.at("match").get<bool>();
    out->first_divergence = j.at("first_divergence").get<int64_t>();
    out->max_abs_dlogprob = j.at("max_abs_dlogprob").get<double>();
    out->compared = j.at("compared").get<uint32_t>();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("selfcheck record: ") + e.what());
  }
  return Status::OK();
}

std::string HeaderLine(const Options& o, const std::string& model_root, const char* method) {
  auto context = [](const engine::ContextOptions& c) {
    return json{{"threads", c.n_threads}, {"batch", c.n_batch}, {"ubatch", c.n_ubatch}, {"flash_attn", c.flash_attn}};
  };
  return json{{"format", "pot.selfcheck"},     {"version", 1},
              {"method", method},              {"model_manifest_root", model_root},
              {"prompts", o.prompts},          {"tokens", o.tokens},
              {"seed", o.seed},                {"topk", o.topk},
              {"sampler_top_k", o.sampler_top_k}, {"temperature", o.temperature},
              {"first", context(o.first)},     {"second", context(o.second)}}
      .dump();
}

Status ParseHeaderLine(const std::string& line, Options* out, std::string* method) {
  const json j = ParseJson<json>(line);
  if (!HasValue(j, "format", "pot.selfcheck")) return Status::Corruption("not a pot selfcheck header");
  if (!HasValue(j, "version", 1)) return Status::Corruption("unsupported selfcheck header version");
  try {
    out->prompts = IntegerAt<uint64_t>(j, "prompts");
    out->tokens = IntegerAt<int>(j, "tokens");
    out->seed = IntegerAt<uint64_t>(j, "seed");
    out->topk = IntegerAt<int>(j, "topk");
    *method = j.at("method").get<std::string>();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("selfcheck header: ") + e.what());
  }
  return Status::OK();
}

json SummaryJson(const Options& o, const std::string& method, const Summary& s) {
  return {{"method", method},
          {"prompts", s.prompts},
          {"tokens", o.tokens},
          {"seed", o.seed},
          {"exact_match_rate", ExactMatchRate(s)},
          {"matches", s.matches},
          {"diverged", s.prompts - s.matches},
          {"first_divergence_min", s.first_divergence_min},
          {"first_divergence_median", s.FirstDivergenceMedian()},
          {"max_abs_dlogprob", s.max_abs_dlogprob},
          {"positions_compared", s.positions},
          {"records_digest", s.records_digest}};
}

std::string SummaryText(const Options& o, const std::string& method, const Summary& s) {
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf, "prompts            %llu (%d tokens each, seed %llu, %s)\n",
                static_cast<unsigned long long>(s.prompts), o.tokens, static_cast<unsigned long long>(o.seed),
                method.c_str());
  out += buf;
  std::snprintf(buf, sizeof buf, "exact match        %llu of %llu (%.4f)\n", static_cast<unsigned long long>(s.matches),
                static_cast<unsigned long long>(s.prompts), ExactMatchRate(s));
  out += buf;
  std::snprintf(buf, sizeof buf, "first divergence   min %lld, median %lld (-1: none)\n",
                static_cast<long long>(s.first_divergence_min), static_cast<long long>(s.FirstDivergenceMedian()));
  out += buf;
  std::snprintf(buf, sizeof buf, "max |d logprob|    %.6g over %llu positions\n", s.max_abs_dlogprob,
                static_cast<unsigned long long>(s.positions));
  out += buf;
  return out + "records digest     " + s.records_digest + "\n";
}

Status Checker::Open(const Options& options, std::unique_ptr<Checker>* out) {
  if (options.tokens < 1 || options.topk < 1) return Status::InvalidArgument("--tokens and the top-k must be positive");
  auto c = std::unique_ptr<Checker>(new Checker(options));
  Sha256 h;
  h.UpdateLengthPrefixed("pot.selfcheck.v1");
  h.UpdateU64(options.seed);
  const Digest key = h.Final();
  POT_RETURN_IF_ERROR(challenge::NewGenerator(Env::Default(), AsBytes(key), {"templates", "v1"}, "", &c->prompts_));
  POT_RETURN_IF_ERROR(engine::LoadModel(options.model_path, {.placement = options.placement}, &c->model_));
  POT_RETURN_IF_ERROR(engine::NewContext(c->model_.get(), options.first, &c->first_).WithContext(options.model_path));
  POT_RETURN_IF_ERROR(engine::NewContext(c->model_.get(), options.second, &c->second_).WithContext(options.model_path));
  *out = std::move(c);
  return Status::OK();
}

Status Checker::Prompt(uint64_t index, std::vector<int32_t>* tokens, uint32_t* seed) const {
  challenge::Challenge ch;
  POT_RETURN_IF_ERROR(prompts_->Generate(index, &ch));
  POT_RETURN_IF_ERROR(engine::Tokenize(llama_model_get_vocab(model_.get()), ch.prompt, true, tokens));
  Sha256 h;
  h.UpdateLengthPrefixed("pot.selfcheck.seed.v1");
  h.UpdateU64(options_.seed);
  h.UpdateU64(index);
  const Digest d = h.Final();
  *seed = static_cast<uint32_t>(d[0]) | static_cast<uint32_t>(d[1]) << 8 | static_cast<uint32_t>(d[2]) << 16 |
          static_cast<uint32_t>(d[3]) << 24;
  return Status::OK();
}

Status Checker::RunLockstep(uint64_t index, PromptResult* out) {
  std::vector<int32_t> prompt;
  uint32_t seed = 0;
  POT_RETURN_IF_ERROR(Prompt(index, &prompt, &seed));
  auto fail = [index](const Status& s) { return s.WithContext("prompt " + std::to_string(index)); };
  engine::Sampler sample_a(seed, options_.sampler_top_k, options_.temperature);
  engine::Sampler sample_b(seed, options_.sampler_top_k, options_.temperature);
  Status s = engine::Start(first_.get(), prompt);
  if (s.ok()) s = engine::Start(second_.get(), prompt);
  if (!s.ok()) return fail(s);
  PromptResult r;
  r.index = index;
  const int n = engine::VocabSize(first_.get());
  std::vector<int32_t> ids;
  std::vector<double> logp;
  for (int t = 0; t < options_.tokens; ++t) {
    s = TopLogProbs(engine::LastLogits(first_.get()), n, options_.topk, &ids, &logp);
    if (s.ok()) {
      s = FoldMaxAbsDelta(ids.data(), logp.data(), ids.size(), engine::LastLogits(second_.get()), n,
                          &r.max_abs_dlogprob);
    }
    if (!s.ok()) return fail(s);
    ++r.compared;
    const int32_t ta = sample_a.Sample(first_.get());
    const int32_t tb = sample_b.Sample(second_.get());
    if (ta != tb) {
      r.match = false;
      r.first_divergence = t;
      break;
    }
    if (engine::IsEndOfGeneration(first_.get(), ta) || t + 1 == options_.tokens) break;
    s = engine::Step(first_.get(), ta);
    if (s.ok()) s = engine::Step(second_.get(), tb);
    if (!s.ok()) return fail(s);
  }
  *out = r;
  return Status::OK();
}

Status Checker::Generate(uint64_t index, Reference* out) {
  std::vector<int32_t> prompt;
  uint32_t seed = 0;
  POT_RETURN_IF_ERROR(Prompt(index, &prompt, &seed));
  auto fail = [index](const Status& s) { return s.WithContext("prompt " + std::to_string(index)); };
  engine::Sampler sample(seed, options_.sampler_top_k, options_.temperature);
  Status s = engine::Start(first_.get(), prompt);
  if (!s.ok()) return fail(s);
  const int n = engine::VocabSize(first_.get());
  std::vector<int32_t> ids;
  std::vector<double> logp;
  for (int t = 0; t < options_.tokens; ++t) {
    s = TopLogProbs(engine::LastLogits(first_.get()), n, options_.topk, &ids, &logp);
    if (!s.ok()) return fail(s);
    out->topk_ids.insert(out->topk_ids.end(), ids.begin(), ids.end());
    out->topk_logp.insert(out->topk_logp.end(), logp.begin(), logp.end());
    const int32_t token = sample.Sample(first_.get());
    out->tokens.push_back(token);
    if (engine::IsEndOfGeneration(first_.get(), token) || t + 1 == options_.tokens) break;
    s = engine::Step(first_.get(), token);
    if (!s.ok()) return fail(s);
  }
  return Status::OK();
}

Status Checker::Compare(uint64_t index, const Reference& ref, PromptResult* out) {
  std::vector<int32_t> prompt;
  uint32_t seed = 0;
  POT_RETURN_IF_ERROR(Prompt(index, &prompt, &seed));
  auto fail = [index](const Status& s) { return s.WithContext("prompt " + std::to_string(index)); };
  engine::Sampler sample(seed, options_.sampler_top_k, options_.temperature);
  Status s = engine::Start(second_.get(), prompt);
  if (!s.ok()) return fail(s);
  const int n = engine::VocabSize(second_.get());
  const size_t k = ref.topk_ids.size() / std::max<size_t>(ref.tokens.size(), 1);
  PromptResult r;
  r.index = index;
  for (size_t t = 0; t < ref.tokens.size(); ++t) {
    s = FoldMaxAbsDelta(&ref.topk_ids[t * k], &ref.topk_logp[t * k], k, engine::LastLogits(second_.get()), n,
                        &r.max_abs_dlogprob);
    if (!s.ok()) return fail(s);
    ++r.compared;
    const int32_t token = sample.Sample(second_.get());
    if (token != ref.tokens[t]) {
      r.match = false;
      r.first_divergence = static_cast<int64_t>(t);
      break;
    }
    if (t + 1 == ref.tokens.size()) break;
    s = engine::Step(second_.get(), token);
    if (!s.ok()) return fail(s);
  }
  *out = r;
  return Status::OK();
}

Status Checker::RunStored(const std::function<Status(const PromptResult&)>& on_result) {
  std::vector<Reference> references(options_.prompts);
  for (uint64_t i = 0; i < options_.prompts; ++i) POT_RETURN_IF_ERROR(Generate(i, &references[i]));
  for (uint64_t i = 0; i < options_.prompts; ++i) {
    PromptResult r;
    POT_RETURN_IF_ERROR(Compare(i, references[i], &r));
    POT_RETURN_IF_ERROR(on_result(r));
  }
  return Status::OK();
}

}  // namespace pot::selfcheck
