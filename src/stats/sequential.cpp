#include "stats/sequential.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pot::stats {
namespace {

// Largest fraction of capital staked on one score. Every factor of a capital process stays >= 1 - kMaxStake
// > 0, so one extreme score can never zero the capital. WSR suggest 1/2 or 3/4 for two-sided use; 0.9 lets
// SAME come within a few challenges of the information-theoretic minimum (docs/statistics.md).
constexpr double kMaxStake = 0.9;
constexpr int kGridSteps = 1000;  // BoundGrid() has kGridSteps + 1 points

struct PresetDef {
  const char* name;
  TestParams params;
};
// docs/statistics.md explains the choice of each row.
constexpr PresetDef kPresets[] = {
    {"quick", {0.05, 0.05, 0.20, 64}},
    {"audit", {0.01, 0.01, 0.20, 128}},
    {"strict", {0.001, 0.001, 0.10, 512}},
};

// The PrPl-EB bet of WSR (eq. 26-27), one-sided: sqrt(2 log(1/level) / (var * t * log(1 + t))).
double PlugInBet(double level, double var_prev, uint64_t t) {
  const double td = static_cast<double>(t);
  return std::sqrt(2 * std::log(1 / level) / (var_prev * td * std::log1p(td)));
}

}  // namespace

Status Preset(const std::string& name, TestParams* out) {
  for (const auto& p : kPresets) {
    if (name == p.name) {
      *out = p.params;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown mode '" + name + "' (quick, audit or strict)");
}

std::vector<std::string> PresetNames() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.push_back(p.name);
  return names;
}

const char* DecisionName(Decision d) {
  switch (d) {
    case Decision::kSame: return "SAME";
    case Decision::kDifferent: return "DIFFERENT";
    case Decision::kUndecided: break;
  }
  return "UNDECIDED";
}

Status CheckScore(double x) {
  if (!(x >= 0 && x <= 1)) return Status::InvalidArgument("score " + std::to_string(x) + " is not in [0, 1]");
  return Status::OK();
}

std::vector<double> BoundGrid() {
  std::vector<double> grid;
  grid.reserve(kGridSteps + 1);
  for (int j = 0; j <= kGridSteps; ++j) {
    const double r = static_cast<double>(j) / kGridSteps;
    grid.push_back(r * r);
  }
  return grid;
}

BettingConfidenceSequence::BettingConfidenceSequence(double alpha, double beta, bool with_bounds)
    : alpha_(alpha), beta_(beta) {
  if (!with_bounds) return;
  for (double m : BoundGrid()) grid_.push_back(MakePoint(m));
}

BettingConfidenceSequence::Point BettingConfidenceSequence::MakePoint(double m) {
  const double inf = std::numeric_limits<double>::infinity();
  return {m, m > 0 ? kMaxStake / m : inf, m < 1 ? kMaxStake / (1 - m) : inf, {}, {}};
}

BettingConfidenceSequence::Bets BettingConfidenceSequence::NextBets() const {
  // Uses only X_1..X_{t-1} (mu_hat_, var_sum_ before this update): the bets are predictable.
  const uint64_t t = n_ + 1;
  const double var_prev = var_sum_ / static_cast<double>(t);
  return {PlugInBet(alpha_, var_prev, t), PlugInBet(beta_, var_prev, t)};
}

double BettingConfidenceSequence::PlusFactor(const Point& p, const Bets& bets, double x) {
  return 1 + std::min(bets.plus, p.cap_plus) * (x - p.m);
}

// Every factor lies in [1 - kMaxStake, 1 + bet] with bet <= sqrt(8 ln(1/level) / ln 2) (the variance estimate
// is at least 1/(4t)), inside Capital's range for any level above 1e-300.
void BettingConfidenceSequence::Multiply(Point& p, const Bets& bets, double x) {
  p.plus.Multiply(PlusFactor(p, bets, x));
  p.minus.Multiply(1 - std::min(bets.minus, p.cap_minus) * (x - p.m));
}

void BettingConfidenceSequence::Renormalize(Point& p) {
  p.plus.Renormalize();
  p.minus.Renormalize();
}

void BettingConfidenceSequence::Add(double x) {
  const Bets bets = NextBets();
  for (auto& p : grid_) Multiply(p, bets, x);
  ++n_;
  if (n_ % Capital::kRenormalizeEvery == 0) {
    for (auto& p : grid_) Renormalize(p);
  }
  sum_ += x;
  mu_hat_ = (0.5 + sum_) / static_cast<double>(n_ + 1);
  var_sum_ += (x - mu_hat_) * (x - mu_hat_);
  UpdateBounds();
}

void BettingConfidenceSequence::UpdateBounds() {
  if (grid_.empty()) return;
  const double reject_plus = std::log(1 / alpha_), reject_minus = std::log(1 / beta_);
  // K+ falls as m grows, so the excluded means at the bottom form a prefix of the grid; K- the reverse.
  double lower = 0;
  for (const auto& p : grid_) {
    if (p.plus.Log() < reject_plus) break;
    lower = p.m;
  }
  double upper = 1;
  for (auto it = grid_.rbegin(); it != grid_.rend(); ++it) {
    if (it->minus.Log() < reject_minus) break;
    upper = it->m;
  }
  lower_ = std::max(lower_, lower);
  upper_ = std::min(upper_, upper);
}

SequentialTest::SequentialTest(const TestParams& params, bool with_bounds)
    : params_(params),
      cs_(params.alpha, params.beta, with_bounds),
      at_epsilon_(BettingConfidenceSequence::MakePoint(params.epsilon)) {}

Status SequentialTest::Add(double x, Decision* decision) {
  if (Status s = CheckScore(x); !s.ok()) return s;
  if (done()) return Status::InvalidArgument("the test has already stopped");
  BettingConfidenceSequence::Multiply(at_epsilon_, cs_.NextBets(), x);  // the bets from the scores before x
  BettingConfidenceSequence::Renormalize(at_epsilon_);
  cs_.Add(x);
  if (at_epsilon_.plus.Log() >= std::log(1 / params_.alpha)) {
    decision_ = Decision::kDifferent;
  } else if (at_epsilon_.minus.Log() >= std::log(1 / params_.beta)) {
    decision_ = Decision::kSame;
  }
  *decision = decision_;
  return Status::OK();
}

uint64_t MinimumToSame(const TestParams& params) {
  TestParams unbounded = params;
  unbounded.n_max = std::numeric_limits<uint64_t>::max();
  SequentialTest test(unbounded, /*with_bounds=*/false);
  return ZerosUntilSame(test, 100000);
}

}  // namespace pot::stats
