// stats: an anytime-valid sequential test for the mean of scores in [0, 1].
//
// The confidence sequence is the predictable plug-in empirical-Bernstein betting construction (PrPl-EB,
// hedged into two one-sided capital processes) of
//   I. Waudby-Smith and A. Ramdas, "Estimating means of bounded random variables by betting",
//   J. R. Stat. Soc. B 86(1), 2024 (arXiv:2010.09686), sections 4-5.
// For a candidate mean m the capital processes
//   K+_t(m) = prod_{i<=t} (1 + l+_i(m) (X_i - m)),   K-_t(m) = prod_{i<=t} (1 - l-_i(m) (X_i - m))
// are nonnegative supermartingales when the true mean is <= m (K+) or >= m (K-), because every bet
// l_i(m) is fixed before X_i is seen. Ville's inequality then bounds, over all times at once,
//   P(exists t: K+_t(mu) >= 1/alpha) <= alpha,   P(exists t: K-_t(mu) >= 1/beta) <= beta,
// which is why the test may look after every score and stop whenever it likes. docs/statistics.md has the
// derivation, the bets and the presets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stats/capital.h"
#include "util/status.h"

namespace pot::stats {

struct TestParams {
  double alpha = 0.01;    // bound on P(DIFFERENT) when the true mean score is <= epsilon
  double beta = 0.01;     // bound on P(SAME) when the true mean score is >= epsilon
  double epsilon = 0.2;   // tolerance on the mean score
  uint64_t n_max = 128;   // budget: UNDECIDED when reached
};

// Named presets (quick, audit, strict); docs/statistics.md justifies the numbers.
Status Preset(const std::string& name, TestParams* out);
std::vector<std::string> PresetNames();

// The fewest scores, all exactly 0, after which the test can say SAME: a property of the parameters
// (no test on [0, 1] scores can need fewer than log(beta) / log(1 - epsilon)).
uint64_t MinimumToSame(const TestParams& params);

enum class Decision { kUndecided, kSame, kDifferent };
const char* DecisionName(Decision d);

// OK when x is a score the tests accept: finite and in [0, 1].
Status CheckScore(double x);

// The candidate means the reported bounds are read on, increasing from 0 to 1: (j / 1000)^2, fine near 0,
// where SAME and DIFFERENT are decided.
std::vector<double> BoundGrid();

// Feeds zeros to test until it decides; the number fed if that decision is SAME, else (or past limit)
// UINT64_MAX. Shared by MinimumToSame and MinimumTokensToSame (stats/per_token.h).
template <typename Test>
uint64_t ZerosUntilSame(Test& test, uint64_t limit) {
  Decision d = Decision::kUndecided;
  uint64_t n = 0;
  while (d == Decision::kUndecided && n < limit) {
    if (!test.Add(0, &d).ok()) break;
    ++n;
  }
  return d == Decision::kSame ? n : UINT64_MAX;
}

// The one-sided confidence sequences: lower() at level alpha, upper() at level beta, both intersected
// over time (so monotone). Bounds are reported on a grid of candidate means (resolution 1e-6 near 0,
// 2e-3 near 1) and rounded outward, so they are never tighter than the exact construction.
class BettingConfidenceSequence {
 public:
  // with_bounds = false skips the grid (decisions only): simulations run millions of steps.
  BettingConfidenceSequence(double alpha, double beta, bool with_bounds = true);

  // x must be in [0, 1].
  void Add(double x);
  uint64_t n() const { return n_; }
  double mean() const { return n_ == 0 ? 0 : sum_ / static_cast<double>(n_); }
  double lower() const { return lower_; }
  double upper() const { return upper_; }

 private:
  friend class SequentialTest;
  friend class TokenTest;  // its DIFFERENT half is this construction's K+ (stats/per_token.h)
  friend class CenteredTokenTest;  // two of these K+ capitals (stats/per_token.h)
  // The two capitals at one candidate mean.
  struct Point {
    double m;
    double cap_plus, cap_minus;  // kMaxStake / m, kMaxStake / (1 - m)
    Capital plus, minus;         // K+_t(m), K-_t(m)
  };
  static Point MakePoint(double m);
  // The bets for the next score, from the scores before it (predictability).
  struct Bets {
    double plus, minus;
  };
  Bets NextBets() const;
  // The factor 1 + l+ (x - m) that x brings to K+(m), the bet truncated at the point's cap.
  static double PlusFactor(const Point& p, const Bets& bets, double x);
  static void Multiply(Point& p, const Bets& bets, double x);
  static void Renormalize(Point& p);
  void UpdateBounds();

  double alpha_, beta_;
  std::vector<Point> grid_;  // increasing m
  uint64_t n_ = 0;
  double sum_ = 0;
  // Predictable-plug-in state: regularized running mean and variance of the scores seen before X_t.
  double mu_hat_ = 0.5, var_sum_ = 0.25;
  double lower_ = 0, upper_ = 1;
};

// The sequential test: DIFFERENT once every mean <= epsilon is excluded at level alpha, SAME once every
// mean >= epsilon is excluded at level beta, UNDECIDED at n_max. The decision is read exactly at epsilon
// (tracked as its own point), not from the rounded bounds.
class SequentialTest {
 public:
  explicit SequentialTest(const TestParams& params, bool with_bounds = true);
  // Adds a score; returns the decision after it (kUndecided until one is reached). After a decision, or at
  // n_max, further scores are refused.
  Status Add(double x, Decision* decision);
  Decision decision() const { return decision_; }
  bool done() const { return decision_ != Decision::kUndecided || cs_.n() >= params_.n_max; }
  const BettingConfidenceSequence& cs() const { return cs_; }
  const TestParams& params() const { return params_; }

 private:
  TestParams params_;
  BettingConfidenceSequence cs_;
  BettingConfidenceSequence::Point at_epsilon_;
  Decision decision_ = Decision::kUndecided;
};

}  // namespace pot::stats
