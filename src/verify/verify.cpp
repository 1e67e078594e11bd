#include "verify/verify.h"

#include <chrono>

#include "gguf/model_info.h"
#include "llama.h"

namespace pot::verify {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct LoadedModel {
  engine::ModelPtr model;
  engine::ContextPtr context;
};

Status Load(const ModelSide& side, LoadedModel* out) {
  POT_RETURN_IF_ERROR(engine::LoadModel(side.path, {}, &out->model));
  return engine::NewContext(out->model.get(), side.context, &out->context);
}

}  // namespace

Status CheckSameVocabulary(Env* env, const std::string& ref, const std::string& cand, Result* result) {
  gguf::ModelInfo a, b;
  POT_RETURN_IF_ERROR(gguf::GetModelInfo(env, ref, &a));
  POT_RETURN_IF_ERROR(gguf::GetModelInfo(env, cand, &b));
  result->ref_vocab_sha256 = a.vocab_sha256;
  result->cand_vocab_sha256 = b.vocab_sha256;
  if (a.vocab_sha256.empty() || b.vocab_sha256.empty()) {
    return Status::InvalidArgument("both models need a tokenizer vocabulary to be compared");
  }
  if (a.vocab_sha256 != b.vocab_sha256) {
    return Status::Unsupported("the models have different vocabularies (vocab_sha256 " + a.vocab_sha256.substr(0, 16) +
                               "... vs " + b.vocab_sha256.substr(0, 16) +
                               "...): token-level comparison is meaningless; they are not the same model");
  }
  return Status::OK();
}

Status Run(Env* env, const Options& options, const challenge::Generator& gen,
           const std::function<Status(const ChallengeRecord&)>& on_record, Result* result) {
  const auto start = std::chrono::steady_clock::now();
  POT_RETURN_IF_ERROR(CheckSameVocabulary(env, options.reference.path, options.candidate.path, result));
  LoadedModel ref, cand;
  POT_RETURN_IF_ERROR(Load(options.reference, &ref));
  POT_RETURN_IF_ERROR(Load(options.candidate, &cand));
  const llama_vocab* vocab = llama_model_get_vocab(ref.model.get());
  const bool add_bos = llama_vocab_get_add_bos(vocab);

  stats::SequentialTest test(options.test);
  engine::Distributions ref_lp, cand_lp;
  std::vector<int32_t> sequence, targets;
  while (!test.done()) {
    const auto t0 = std::chrono::steady_clock::now();
    ChallengeRecord rec;
    POT_RETURN_IF_ERROR(gen.Generate(test.cs().n(), &rec.challenge));
    POT_RETURN_IF_ERROR(engine::Tokenize(vocab, rec.challenge.prompt, add_bos, &rec.prompt_tokens));
    auto fail = [&rec](const Status& s) { return s.WithContext("challenge " + std::to_string(rec.challenge.index)); };
    Status s = engine::GenerateGreedy(ref.context.get(), rec.prompt_tokens, options.continuation_tokens,
                                      &rec.continuation, &ref_lp);
    if (!s.ok()) return fail(s);
    sequence = rec.prompt_tokens;
    sequence.insert(sequence.end(), rec.continuation.begin(), rec.continuation.end());
    targets.assign(sequence.begin() + 1, sequence.end());
    sequence.pop_back();  // the last token is only ever a target
    s = engine::Forward(cand.context.get(), sequence, &cand_lp);
    if (s.ok()) s = ScoreChallenge(ref_lp, cand_lp, targets, options.distance, &rec.score);
    stats::Decision decision;
    if (s.ok()) s = test.Add(rec.score.score, &decision);
    if (!s.ok()) return fail(s);
    rec.lower = test.cs().lower();
    rec.upper = test.cs().upper();
    rec.seconds = SecondsSince(t0);
    result->tokens_scored += rec.score.positions;
    POT_RETURN_IF_ERROR(on_record(rec));
  }
  result->decision = test.decision();
  result->n_used = test.cs().n();
  result->mean = test.cs().mean();
  result->lower = test.cs().lower();
  result->upper = test.cs().upper();
  result->seconds = SecondsSince(start);
  return Status::OK();
}

}  // namespace pot::verify
