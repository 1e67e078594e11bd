#include "verify/feed.h"

namespace pot::verify {

const char* FeedName(Feed feed) {
  return feed == Feed::kChallenge ? "challenge" : feed == Feed::kToken ? "token" : "token-centered";
}

RunTest::RunTest(const stats::TestParams& params, Feed feed) : params_(params), feed_(feed) {
  if (feed == Feed::kChallenge) per_challenge_ = std::make_unique<stats::SequentialTest>(params);
  else if (feed == Feed::kToken) per_token_ = std::make_unique<stats::TokenTest>(params);
  else centered_ = std::make_unique<stats::CenteredTokenTest>(params);
}

Status RunTest::Add(double challenge_score, const std::vector<double>& token_scores) {
  if (done()) return Status::InvalidArgument("the test has already stopped");
  stats::Decision d;
  if (per_challenge_) {
    POT_RETURN_IF_ERROR(per_challenge_->Add(challenge_score, &d));
  } else {
    if (token_scores.empty()) return Status::InvalidArgument("a challenge without token scores");
    for (double x : token_scores) {
      POT_RETURN_IF_ERROR(per_token_ ? per_token_->Add(x, &d) : centered_->Add(x, &d));
      if (d != stats::Decision::kUndecided) break;
    }
  }
  ++challenges_;
  return Status::OK();
}

bool RunTest::done() const {
  return decision() != stats::Decision::kUndecided || challenges_ >= params_.n_max;
}

// A run built one of the three tests; each accessor reads that one.
stats::Decision RunTest::decision() const {
  return per_challenge_ ? per_challenge_->decision() : per_token_ ? per_token_->decision() : centered_->decision();
}
uint64_t RunTest::scores() const { return per_challenge_ ? per_challenge_->cs().n() : per_token_ ? per_token_->n() : centered_->n(); }
double RunTest::mean() const { return per_challenge_ ? per_challenge_->cs().mean() : per_token_ ? per_token_->mean() : centered_->mean(); }
double RunTest::lower() const { return per_challenge_ ? per_challenge_->cs().lower() : per_token_ ? per_token_->lower() : centered_->lower(); }
double RunTest::upper() const { return per_challenge_ ? per_challenge_->cs().upper() : per_token_ ? per_token_->upper() : centered_->upper(); }

}  // namespace pot::verify
