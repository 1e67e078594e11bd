#include "verify/verify.h"

#include <chrono>

#include "gguf/model_info.h"
#include "llama.h"

namespace pot::verify {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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

Status Scorer::Open(const Options& options, std::unique_ptr<Scorer>* out) {
  auto scorer = std::unique_ptr<Scorer>(new Scorer(options));
  POT_RETURN_IF_ERROR(engine::LoadModel(options.reference.path, {}, &scorer->ref_model_));
  POT_RETURN_IF_ERROR(engine::NewContext(scorer->ref_model_.get(), options.reference.context, &scorer->ref_ctx_));
  POT_RETURN_IF_ERROR(engine::LoadModel(options.candidate.path, {}, &scorer->cand_model_));
  POT_RETURN_IF_ERROR(engine::NewContext(scorer->cand_model_.get(), options.candidate.context, &scorer->cand_ctx_));
  *out = std::move(scorer);
  return Status::OK();
}

Status Scorer::Score(const challenge::Challenge& challenge, ChallengeRecord* rec) {
  const auto t0 = std::chrono::steady_clock::now();
  rec->challenge = challenge;
  const llama_vocab* vocab = llama_model_get_vocab(ref_model_.get());
  auto fail = [&challenge](const Status& s) { return s.WithContext("challenge " + std::to_string(challenge.index)); };
  Status s = engine::Tokenize(vocab, challenge.prompt, llama_vocab_get_add_bos(vocab), &rec->prompt_tokens);
  if (s.ok()) {
    s = engine::GenerateGreedy(ref_ctx_.get(), rec->prompt_tokens, options_.continuation_tokens, &rec->continuation,
                               &ref_dist_);
  }
  if (!s.ok()) return fail(s);
  sequence_ = rec->prompt_tokens;
  sequence_.insert(sequence_.end(), rec->continuation.begin(), rec->continuation.end());
  targets_.assign(sequence_.begin() + 1, sequence_.end());
  sequence_.pop_back();  // the last token is only ever a target
  s = engine::Forward(cand_ctx_.get(), sequence_, &cand_dist_);
  if (s.ok()) s = ScoreChallenge(ref_dist_, cand_dist_, targets_, options_.distance, &rec->score);
  if (!s.ok()) return fail(s);
  rec->topk_sha256 = TopKDigest(ref_dist_, cand_dist_, options_.topk);
  rec->seconds = SecondsSince(t0);
  return Status::OK();
}

Status Run(Env* env, const Options& options, const challenge::Generator& gen, const std::vector<double>& prior_scores,
           const std::function<Status(const ChallengeRecord&)>& on_record, Result* result) {
  const auto start = std::chrono::steady_clock::now();
  POT_RETURN_IF_ERROR(CheckSameVocabulary(env, options.reference.path, options.candidate.path, result));
  stats::SequentialTest test(options.test);
  for (double x : prior_scores) {
    stats::Decision d;
    POT_RETURN_IF_ERROR(test.Add(x, &d).WithContext("replaying challenge " + std::to_string(test.cs().n())));
  }
  std::unique_ptr<Scorer> scorer;
  if (!test.done()) POT_RETURN_IF_ERROR(Scorer::Open(options, &scorer));
  while (!test.done()) {
    challenge::Challenge c;
    POT_RETURN_IF_ERROR(gen.Generate(test.cs().n(), &c));
    ChallengeRecord rec;
    POT_RETURN_IF_ERROR(scorer->Score(c, &rec));
    stats::Decision decision;
    POT_RETURN_IF_ERROR(test.Add(rec.score.score, &decision).WithContext("challenge " + std::to_string(c.index)));
    rec.lower = test.cs().lower();
    rec.upper = test.cs().upper();
    result->tokens_scored += rec.score.positions;
    result->scoring_seconds += rec.seconds;
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
