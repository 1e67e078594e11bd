// verify/feed: the sequential test as a run feeds it, challenge by challenge. Model-pair and reference-file
// runs feed one score per challenge (stats::SequentialTest, i.i.d. challenges); endpoint runs feed one score
// per generated token (stats::TokenTest, valid for dependent scores whose conditional means are bounded:
// docs/statistics.md, "Per-token scores"), or, for the text score, per token to the two-sided
// stats::CenteredTokenTest (null mean 1/2, no SAME). Either way the budget n_max counts challenges, a decision stops
// the feed at once (later tokens of the same challenge are not read), and replaying the same records gives
// the same bounds bit for bit, which is what resume and audit rely on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stats/sequential.h"
#include "stats/per_token.h"
#include "util/status.h"

namespace pot::verify {

enum class Feed { kChallenge, kToken, kCentered };
const char* FeedName(Feed feed);

class RunTest {
 public:
  RunTest(const stats::TestParams& params, Feed feed);
  // One challenge: challenge_score (kChallenge) or each of token_scores in order (kToken). Refused once done().
  Status Add(double challenge_score, const std::vector<double>& token_scores);
  bool done() const;
  stats::Decision decision() const;
  uint64_t challenges() const { return challenges_; }
  uint64_t scores() const;  // scores read: challenges, or tokens
  double mean() const;
  double lower() const;
  double upper() const;

 private:
  stats::TestParams params_;
  Feed feed_;
  std::unique_ptr<stats::SequentialTest> per_challenge_;
  std::unique_ptr<stats::TokenTest> per_token_;
  std::unique_ptr<stats::CenteredTokenTest> centered_;
  uint64_t challenges_ = 0;
};

}  // namespace pot::verify
