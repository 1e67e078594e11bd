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
// Bet::kGrapa's cap on SAME's side: all-zero scores then reach SAME at the floor of every preset
// (docs/statistics.md). GRAPA bets below the cap as soon as the scores so far favour a smaller stake, so a
// spike costs a factor 0.01 at most once.
constexpr double kSameStake = 0.99;
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

const char* BetName(Bet bet) { return bet == Bet::kPlugIn ? "plug-in" : "grapa"; }

Status BetFrom(const std::string& name, Bet* out) {
  for (Bet b : {Bet::kPlugIn, Bet::kGrapa}) {
    if (name == BetName(b)) {
      *out = b;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown bet '" + name + "' (plug-in or grapa)");
}

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

GrowthOptimalBet::GrowthOptimalBet(double m, double sign, double cap)
    : m_(m), sign_(sign), cap_(cap), term_of_bin_((size_t{1} << kBinBits) + 1, -1), lambda_(cap) {}

double GrowthOptimalBet::Slope(double lambda, double* curvature) const {
  double slope = 0, curve = 0;
  for (const Term& t : terms_) {
    const double r = t.y / (1 + lambda * t.y);  // 1 + lambda y >= 1 - stake > 0 for lambda <= cap
    slope += t.count * r;
    curve -= t.count * r * r;
  }
  *curvature = curve;
  return slope;
}

// The log-capital sum ln(1 + s lambda y_i) is concave in lambda, so its maximum over [0, cap] is 0 when
// the slope at 0 is <= 0, the cap when the slope at the cap is >= 0, and otherwise the one root of the slope:
// Newton's method from the previous bet, kept inside a shrinking bracket (bisection when a step leaves it),
// stopped once a step is below 1e-7 of the cap (quadratic convergence: the bet is then exact to ~1e-14).
void GrowthOptimalBet::Add(double x) {
  const int j = static_cast<int>(std::lround(std::ldexp(x, kBinBits)));
  const double y = sign_ * (std::ldexp(j, -kBinBits) - m_);
  if (term_of_bin_[j] < 0) {
    term_of_bin_[j] = static_cast<int>(terms_.size());
    terms_.push_back({y, 0});
  }
  terms_[term_of_bin_[j]].count += 1;
  slope_at_0_ += y;
  if (slope_at_0_ <= 0) {
    lambda_ = 0;
    return;
  }
  double lo = 0, hi = cap_, curvature;
  // From the cap (or 0), first ask whether the cap is the maximum; from an interior bet, ask only when a
  // Newton step would reach it.
  double lambda = lambda_ > lo && lambda_ < hi ? lambda_ : cap_;
  bool cap_checked = false;
  for (int i = 0; i < 100; ++i) {
    const double slope = Slope(lambda, &curvature);
    if (lambda == cap_) {
      if (slope >= 0) break;
      cap_checked = true;
      lambda = (lo + hi) / 2;
      continue;
    }
    (slope > 0 ? lo : hi) = lambda;
    double next = lambda - slope / curvature;
    if (next >= cap_ && !cap_checked) {
      lambda = cap_;
      continue;
    }
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    const bool converged = std::abs(next - lambda) <= 1e-7 * cap_ || hi - lo <= 1e-12 * cap_;
    lambda = next;
    if (converged) break;
  }
  lambda_ = lambda;
}

SequentialTest::SequentialTest(const TestParams& params, bool with_bounds)
    : params_(params),
      cs_(params.alpha, params.beta, with_bounds),
      at_epsilon_(BettingConfidenceSequence::MakePoint(params.epsilon)),
      plus_bet_(params.epsilon, +1, kMaxStake / params.epsilon),
      minus_bet_(params.epsilon, -1, kSameStake / (1 - params.epsilon)) {}

Status SequentialTest::Add(double x, Decision* decision) {
  if (Status s = CheckScore(x); !s.ok()) return s;
  if (done()) return Status::InvalidArgument("the test has already stopped");
  // The bets from the scores before x. Every factor is >= 1 - kSameStake > 0, and the two capitals are
  // renormalized after each one, so any finite factor stays inside Capital's range.
  if (params_.bet == Bet::kPlugIn) {
    BettingConfidenceSequence::Multiply(at_epsilon_, cs_.NextBets(), x);
  } else {
    at_epsilon_.plus.Multiply(1 + plus_bet_.next() * (x - params_.epsilon));
    at_epsilon_.minus.Multiply(1 - minus_bet_.next() * (x - params_.epsilon));
    plus_bet_.Add(x);
    minus_bet_.Add(x);
  }
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
