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
constexpr int kGridSteps = 1000;  // grid m_j = (j / 1000)^2: fine near 0, where SAME and DIFFERENT are decided

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

BettingConfidenceSequence::BettingConfidenceSequence(double alpha, double beta, bool with_bounds)
    : alpha_(alpha), beta_(beta) {
  if (!with_bounds) return;
  grid_.reserve(kGridSteps + 1);
  for (int j = 0; j <= kGridSteps; ++j) {
    const double r = static_cast<double>(j) / kGridSteps;
    grid_.push_back({r * r});
  }
}

void BettingConfidenceSequence::AddTo(Point& p, double x) const {
  // The bets for X_t use only X_1..X_{t-1} (mu_hat_, var_sum_ before this update): predictability.
  const uint64_t t = n_ + 1;
  const double var_prev = var_sum_ / static_cast<double>(t);
  const double cap_plus = p.m > 0 ? kMaxStake / p.m : std::numeric_limits<double>::infinity();
  const double cap_minus = p.m < 1 ? kMaxStake / (1 - p.m) : std::numeric_limits<double>::infinity();
  const double bet_plus = std::min(PlugInBet(alpha_, var_prev, t), cap_plus);
  const double bet_minus = std::min(PlugInBet(beta_, var_prev, t), cap_minus);
  p.log_k_plus += std::log1p(bet_plus * (x - p.m));
  p.log_k_minus += std::log1p(-bet_minus * (x - p.m));
}

void BettingConfidenceSequence::Add(double x) {
  for (auto& p : grid_) AddTo(p, x);
  ++n_;
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
    if (p.log_k_plus < reject_plus) break;
    lower = p.m;
  }
  double upper = 1;
  for (auto it = grid_.rbegin(); it != grid_.rend(); ++it) {
    if (it->log_k_minus < reject_minus) break;
    upper = it->m;
  }
  lower_ = std::max(lower_, lower);
  upper_ = std::min(upper_, upper);
}

SequentialTest::SequentialTest(const TestParams& params, bool with_bounds)
    : params_(params), cs_(params.alpha, params.beta, with_bounds), at_epsilon_{params.epsilon} {}

Status SequentialTest::Add(double x, Decision* decision) {
  if (!(x >= 0 && x <= 1)) return Status::InvalidArgument("score " + std::to_string(x) + " is not in [0, 1]");
  if (done()) return Status::InvalidArgument("the test has already stopped");
  cs_.AddTo(at_epsilon_, x);  // before cs_.Add: the bet uses the state before x
  cs_.Add(x);
  if (at_epsilon_.log_k_plus >= std::log(1 / params_.alpha)) {
    decision_ = Decision::kDifferent;
  } else if (at_epsilon_.log_k_minus >= std::log(1 / params_.beta)) {
    decision_ = Decision::kSame;
  }
  *decision = decision_;
  return Status::OK();
}

uint64_t MinimumToSame(const TestParams& params) {
  TestParams unbounded = params;
  unbounded.n_max = std::numeric_limits<uint64_t>::max();
  SequentialTest test(unbounded, /*with_bounds=*/false);
  Decision d = Decision::kUndecided;
  while (d == Decision::kUndecided && test.cs().n() < 100000) {
    if (!test.Add(0, &d).ok()) break;
  }
  return d == Decision::kSame ? test.cs().n() : std::numeric_limits<uint64_t>::max();
}

}  // namespace pot::stats
