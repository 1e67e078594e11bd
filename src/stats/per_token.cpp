#include "stats/per_token.h"

#include <cmath>

namespace pot::stats {

// f_j is the Kelly bet for Bernoulli(p_j) scores with p_j = (1 - f_j) epsilon: 0.99 for the all-zero
// streams the null produces, then disagreement rates of 0.1, 0.25, 0.5 and 0.75 epsilon. Half the weight
// sits on the all-zero bet (it sets the minimum to SAME); the rest keeps a stream with a few disagreements
// from being lost to the 0.01 factor each one costs that bet. docs/statistics.md has the measurements.
const std::array<double, TokenTest::kBets> TokenTest::kBetFractions = {0.99, 0.9, 0.75, 0.5, 0.25};
const std::array<double, TokenTest::kBets> TokenTest::kBetWeights = {0.5, 0.125, 0.125, 0.125, 0.125};

// Every factor lies in [1 - 0.99, 1 + 0.99 m / (1 - m)], at most [2^-7, 2^9] on the grid (m <= 0.998),
// so Capital::kRenormalizeEvery applies.
void TokenTest::Mixture::Multiply(double x) {
  const double r = (x - m) / (1 - m);
  for (int j = 0; j < kBets; ++j) k[j].Multiply(1 - kBetFractions[j] * r);
}

void TokenTest::Mixture::Renormalize() {
  for (auto& c : k) c.Renormalize();
}

double TokenTest::Mixture::Value() const {
  double v = 0;
  for (int j = 0; j < kBets; ++j) v += kBetWeights[j] * k[j].Value();
  return v;
}

TokenTest::TokenTest(const TestParams& params, bool with_bounds)
    : params_(params),
      cs_(params.alpha, params.beta, with_bounds),
      different_(BettingConfidenceSequence::MakePoint(params.epsilon)),
      same_{params.epsilon, {}} {
  if (!with_bounds) return;
  for (double m : BoundGrid()) {
    if (m < 1) upper_grid_.push_back({m, {}});  // at m = 1 there is nothing to bet on
  }
}

Status TokenTest::Add(double x, Decision* decision) {
  if (Status s = CheckScore(x); !s.ok()) return s;
  if (decision_ != Decision::kUndecided) return Status::InvalidArgument("the test has already stopped");
  // The bets from the scores before x, then x joins them.
  different_.plus.Multiply(BettingConfidenceSequence::PlusFactor(different_, cs_.NextBets(), x));
  different_.plus.Renormalize();
  cs_.Add(x);
  same_.Multiply(x);
  same_.Renormalize();
  for (auto& p : upper_grid_) p.Multiply(x);
  if (n() % Capital::kRenormalizeEvery == 0) {
    for (auto& p : upper_grid_) p.Renormalize();
  }
  UpdateUpper();
  if (different_.plus.Log() >= std::log(1 / params_.alpha)) {
    decision_ = Decision::kDifferent;
  } else if (same_.Value() >= 1 / params_.beta) {
    decision_ = Decision::kSame;
  }
  *decision = decision_;
  return Status::OK();
}

void TokenTest::UpdateUpper() {
  if (upper_grid_.empty()) return;
  // The mixture grows with m (each factor 1 - f (x - m) / (1 - m) does), so the excluded means form a
  // suffix of the grid.
  double upper = 1;
  for (auto it = upper_grid_.rbegin(); it != upper_grid_.rend(); ++it) {
    if (it->Value() < 1 / params_.beta) break;
    upper = it->m;
  }
  upper_ = upper;
}

CenteredTokenTest::CenteredTokenTest(const TestParams& params, bool with_bounds)
    : params_(params),
      high_(params.alpha / 2, params.alpha / 2, with_bounds),
      low_(params.alpha / 2, params.alpha / 2, with_bounds),
      high_at_(BettingConfidenceSequence::MakePoint(0.5 + params.epsilon)),
      low_at_(BettingConfidenceSequence::MakePoint(0.5 + params.epsilon)) {}

Status CenteredTokenTest::Add(double z, Decision* decision) {
  if (Status s = CheckScore(z); !s.ok()) return s;
  if (decision_ != Decision::kUndecided) return Status::InvalidArgument("the test has already stopped");
  high_at_.plus.Multiply(BettingConfidenceSequence::PlusFactor(high_at_, high_.NextBets(), z));
  high_at_.plus.Renormalize();
  low_at_.plus.Multiply(BettingConfidenceSequence::PlusFactor(low_at_, low_.NextBets(), 1 - z));
  low_at_.plus.Renormalize();
  high_.Add(z);
  low_.Add(1 - z);
  const double threshold = std::log(2 / params_.alpha);
  if (high_at_.plus.Log() >= threshold || low_at_.plus.Log() >= threshold) decision_ = Decision::kDifferent;
  *decision = decision_;
  return Status::OK();
}

uint64_t MinimumTokensToSame(const TestParams& params) {
  TokenTest test(params, /*with_bounds=*/false);
  return ZerosUntilSame(test, 1000000);
}

}  // namespace pot::stats
