// verify: is the candidate the reference model? Both models are loaded once and stay resident. For each
// committed challenge the reference continues the challenge text greedily for K tokens, keeping its own
// next-token distributions from that generation pass; the candidate reads the same tokens in one batched
// teacher-forced pass. The per-challenge score (mean distance between the distributions) feeds the
// anytime-valid sequential test, which stops at SAME, DIFFERENT, or UNDECIDED at the budget.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "challenge/challenge.h"
#include "engine/engine.h"
#include "stats/sequential.h"
#include "verify/feed.h"
#include "verify/score.h"

struct llama_context;

namespace pot::verify {

// The most continuation tokens a challenge may ask the reference to generate (verify --tokens, reference files).
inline constexpr int kMaxContinuationTokens = 1024;

struct ModelSide {
  std::string path;
  placement::Placement placement;  // where its layers run: numerics, not identity
  engine::ContextOptions context;  // micro-batch size, flash attention, threads: numerics, not identity
};

struct Options {
  ModelSide reference, candidate;
  stats::TestParams test;
  Distance distance = Distance::kTotalVariation;
  // K. 0 scores the challenge text alone: on the forge family it decides as fast, in as few challenges, at
  // a third of the cost (docs/verify.md), and on large models it avoids K sequential decodes per challenge.
  int continuation_tokens = 0;
  int topk = 8;  // k of each record's top-k digest (TopKDigest)
};

struct ChallengeRecord {
  challenge::Challenge challenge;
  std::vector<int32_t> prompt_tokens;  // with BOS when the vocabulary adds one
  std::vector<int32_t> continuation;   // the reference's greedy tokens
  ChallengeScore score;
  std::string topk_sha256;             // TopKDigest of both models' distributions
  double lower = 0, upper = 1;         // the confidence sequence after this score
  double seconds = 0;
  // Endpoint runs (endpoint/endpoint.h): the request pot sent and the endpoint's raw response body, and
  // one score per generated token; those, not score.score (their mean), are what the test reads.
  std::string request, response;
  std::vector<double> token_scores;
};

struct Result {
  stats::Decision decision = stats::Decision::kUndecided;
  uint64_t n_used = 0;         // challenges
  uint64_t scores_used = 0;    // scores the test read: challenges, or generated tokens
  double mean = 0, lower = 0, upper = 1;
  double seconds = 0;          // the whole run, model loading included
  double scoring_seconds = 0;  // the challenges scored by this run, alone
  uint64_t tokens_scored = 0;  // positions scored by each model in this run
  std::string ref_vocab_sha256, cand_vocab_sha256;
};

// Refuses models whose vocabularies differ (pot info's vocab_sha256), or that have none: their token ids
// do not name the same strings, so comparing distributions id by id would be meaningless. Records both
// hashes in result.
Status CheckVocabularies(const std::string& ref_vocab_sha256, const std::string& cand_vocab_sha256, Result* result);
// CheckVocabularies on the vocabularies of the GGUF models at ref and cand.
Status CheckSameVocabulary(Env* env, const std::string& ref, const std::string& cand, Result* result);

// The reference's half of a challenge: tokenizes its text (with BOS when the vocabulary adds one),
// continues it greedily for continuation_tokens, and keeps the reference's next-token distributions from
// that pass; then *sequence is what the candidate reads and targets[i] the token after row i.
Status ReferencePass(llama_context* ctx, const std::string& prompt, int continuation_tokens, ChallengeRecord* rec,
                     engine::Distributions* dist, std::vector<int32_t>* sequence, std::vector<int32_t>* targets);

// What a teacher-forced pass reads: prompt + continuation without its last token; targets[i] is the token
// after row i.
void TeacherForcedSequence(const std::vector<int32_t>& prompt, const std::vector<int32_t>& continuation,
                           std::vector<int32_t>* sequence, std::vector<int32_t>* targets);

// Scores one challenge at a time (what Run does per challenge, and what pot audit --rescore repeats).
// Fails, naming the challenge, rather than return an invented score.
class ChallengeScorer {
 public:
  virtual ~ChallengeScorer() = default;
  // Fills everything in rec but the confidence bounds.
  virtual Status Score(const challenge::Challenge& challenge, ChallengeRecord* rec) = 0;
};

// Both models, loaded once and resident.
class ModelPairScorer : public ChallengeScorer {
 public:
  static Status Open(const Options& options, std::unique_ptr<ChallengeScorer>* out);
  Status Score(const challenge::Challenge& challenge, ChallengeRecord* rec) override;

 private:
  explicit ModelPairScorer(const Options& options) : options_(options) {}
  Options options_;
  engine::ModelPtr ref_model_, cand_model_;
  engine::ContextPtr ref_ctx_, cand_ctx_;
  engine::Distributions ref_dist_, cand_dist_;  // reused across challenges
  ReferenceRows ref_topk_, cand_topk_;
  std::vector<int32_t> sequence_, targets_;
};

// What an interrupted run had already scored for one challenge, replayed into the test on resume.
struct PriorScore {
  double score = 0;
  std::vector<double> token_scores;  // endpoint runs
};

// Runs the test (fed per challenge or per token, verify/feed.h) over challenges 0, 1, ... from gen until
// it decides or reaches test.n_max challenges. The scores of challenges already scored by an interrupted
// run (prior, challenges 0..k-1) are replayed into the test first and scoring resumes at challenge k;
// open_scorer is called only if a challenge remains to be scored, so a finished run loads no model.
// on_record sees every newly scored challenge as it completes (progress, journal); an error it returns
// stops the run. Any scoring failure stops the run with that failure: no score is ever made up.
Status Run(const stats::TestParams& test_params, Feed feed, const challenge::Generator& gen, const std::vector<PriorScore>& prior,
           const std::function<Status(std::unique_ptr<ChallengeScorer>*)>& open_scorer,
           const std::function<Status(const ChallengeRecord&)>& on_record, Result* result);

}  // namespace pot::verify
