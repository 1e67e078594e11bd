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

Status CheckVocabularies(const std::string& ref_vocab_sha256, const std::string& cand_vocab_sha256, Result* result) {
  result->ref_vocab_sha256 = ref_vocab_sha256;
  result->cand_vocab_sha256 = cand_vocab_sha256;
  if (ref_vocab_sha256.empty() || cand_vocab_sha256.empty()) {
    return Status::InvalidArgument("both models need a tokenizer vocabulary to be compared");
  }
  if (ref_vocab_sha256 != cand_vocab_sha256) {
    return Status::Unsupported("the models have different vocabularies (vocab_sha256 " + ref_vocab_sha256.substr(0, 16) +
                               "... vs " + cand_vocab_sha256.substr(0, 16) +
                               "...): token-level comparison is meaningless; they are not the same model");
  }
  return Status::OK();
}

Status CheckSameVocabulary(Env* env, const std::string& ref, const std::string& cand, Result* result) {
  gguf::ModelInfo a, b;
  POT_RETURN_IF_ERROR(gguf::GetModelInfo(env, ref, &a));
  POT_RETURN_IF_ERROR(gguf::GetModelInfo(env, cand, &b));
  return CheckVocabularies(a.vocab_sha256, b.vocab_sha256, result);
}

void TeacherForcedSequence(const std::vector<int32_t>& prompt, const std::vector<int32_t>& continuation,
                           std::vector<int32_t>* sequence, std::vector<int32_t>* targets) {
  *sequence = prompt;
  sequence->insert(sequence->end(), continuation.begin(), continuation.end());
  targets->assign(sequence->begin() + 1, sequence->end());
  sequence->pop_back();  // the last token is only ever a target
}

Status ReferencePass(llama_context* ctx, const std::string& prompt, int continuation_tokens, ChallengeRecord* rec,
                     engine::Distributions* dist, std::vector<int32_t>* sequence, std::vector<int32_t>* targets) {
  const llama_vocab* vocab = llama_model_get_vocab(llama_get_model(ctx));
  POT_RETURN_IF_ERROR(engine::Tokenize(vocab, prompt, llama_vocab_get_add_bos(vocab), &rec->prompt_tokens));
  POT_RETURN_IF_ERROR(engine::GenerateGreedy(ctx, rec->prompt_tokens, continuation_tokens, &rec->continuation, dist));
  TeacherForcedSequence(rec->prompt_tokens, rec->continuation, sequence, targets);
  return Status::OK();
}

Status ModelPairScorer::Open(const Options& options, std::unique_ptr<ChallengeScorer>* out) {
  auto scorer = std::unique_ptr<ModelPairScorer>(new ModelPairScorer(options));
  POT_RETURN_IF_ERROR(engine::LoadModel(options.reference.path, {.placement = options.reference.placement}, &scorer->ref_model_));
  POT_RETURN_IF_ERROR(engine::NewContext(scorer->ref_model_.get(), options.reference.context, &scorer->ref_ctx_).WithContext(options.reference.path));
  POT_RETURN_IF_ERROR(engine::LoadModel(options.candidate.path, {.placement = options.candidate.placement}, &scorer->cand_model_));
  POT_RETURN_IF_ERROR(engine::NewContext(scorer->cand_model_.get(), options.candidate.context, &scorer->cand_ctx_).WithContext(options.candidate.path));
  *out = std::move(scorer);
  return Status::OK();
}

Status ModelPairScorer::Score(const challenge::Challenge& challenge, ChallengeRecord* rec) {
  const auto t0 = std::chrono::steady_clock::now();
  rec->challenge = challenge;
  Status s = ReferencePass(ref_ctx_.get(), challenge.prompt, options_.continuation_tokens, rec, &ref_dist_, &sequence_,
                           &targets_);
  if (s.ok()) s = engine::Forward(cand_ctx_.get(), sequence_, &cand_dist_);
  if (s.ok()) s = ScoreChallenge(ref_dist_, cand_dist_, targets_, options_.distance, &rec->score);
  if (!s.ok()) return s.WithContext("challenge " + std::to_string(challenge.index));
  ExtractReferenceRows(ref_dist_, {}, options_.topk, 0, nullptr, &ref_topk_);
  ExtractReferenceRows(cand_dist_, {}, options_.topk, 0, nullptr, &cand_topk_);
  rec->topk_sha256 = TopKDigest(ref_topk_, cand_topk_);
  rec->seconds = SecondsSince(t0);
  return Status::OK();
}

Status Run(const stats::TestParams& test_params, Feed feed, const challenge::Generator& gen, const std::vector<PriorScore>& prior,
           const std::function<Status(std::unique_ptr<ChallengeScorer>*)>& open_scorer,
           const std::function<Status(const ChallengeRecord&)>& on_record, Result* result) {
  const auto start = std::chrono::steady_clock::now();
  RunTest test(test_params, feed);
  for (const PriorScore& p : prior) {
    POT_RETURN_IF_ERROR(test.Add(p.score, p.token_scores).WithContext("replaying challenge " + std::to_string(test.challenges())));
  }
  std::unique_ptr<ChallengeScorer> scorer;
  if (!test.done()) POT_RETURN_IF_ERROR(open_scorer(&scorer));
  while (!test.done()) {
    challenge::Challenge c;
    POT_RETURN_IF_ERROR(gen.Generate(test.challenges(), &c));
    ChallengeRecord rec;
    POT_RETURN_IF_ERROR(scorer->Score(c, &rec));
    POT_RETURN_IF_ERROR(test.Add(rec.score.score, rec.token_scores).WithContext("challenge " + std::to_string(c.index)));
    rec.lower = test.lower();
    rec.upper = test.upper();
    result->tokens_scored += rec.score.positions;
    result->scoring_seconds += rec.seconds;
    POT_RETURN_IF_ERROR(on_record(rec));
  }
  result->decision = test.decision();
  result->n_used = test.challenges();
  result->scores_used = test.scores();
  result->mean = test.mean();
  result->lower = test.lower();
  result->upper = test.upper();
  result->seconds = SecondsSince(start);
  return Status::OK();
}

}  // namespace pot::verify
