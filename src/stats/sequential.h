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
// which is why the test may look after every score and stop whenever it likes. The decision reads one K+
// and one K- at m = epsilon, whose bets are either those same plug-in bets (Bet::kPlugIn, transcripts before
// version 6) or GRAPA's growth-optimal bets with a stake cap of 0.99 on SAME's side (Bet::kGrapa, WSR
// section 5.3); both are predictable, so both are valid. docs/statistics.md has the derivation, the bets,
// the measurements that chose GRAPA, and the presets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stats/capital.h"
#include "util/status.h"

namespace pot::stats {

// How the two decision capitals at epsilon choose their bets. Every transcript records it
// (docs/formats.md), so an audit replays a run with the bets it ran with.
enum class Bet {
  kPlugIn,  // PrPl-EB on both sides, stake cap 0.9: the confidence sequence's own bets (before version 6)
  kGrapa,   // GRAPA on both sides, stake cap 0.9 on DIFFERENT's side and 0.99 on SAME's
};
const char* BetName(Bet bet);  // "plug-in", "grapa"
Status BetFrom(const std::string& name, Bet* out);

struct TestParams {
  double alpha = 0.01;    // bound on P(DIFFERENT) when the true mean score is <= epsilon
  double beta = 0.01;     // bound on P(SAME) when the true mean score is >= epsilon
  double epsilon = 0.2;   // tolerance on the mean score
  uint64_t n_max = 128;   // budget: UNDECIDED when reached
  Bet bet = Bet::kGrapa;  // what new runs use
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

// GRAPA's bet (WSR section 5.3) for one capital at candidate mean m: the constant bet that would have grown
// the capital most on the scores so far, lambda_t = argmax over [0, cap] of sum_{i<t} ln(1 + s lambda (X_i - m)),
// s = +1 for K+ and -1 for K-; the cap before any score. The maximization reads the scores rounded to
// multiples of 2^-kBinBits (a histogram), so a step costs at most 2^kBinBits + 1 terms however long the run;
// the capital itself multiplies by the exact score. The bet is a deterministic function of the scores before
// X_t, so it is predictable whatever the rounding.
class GrowthOptimalBet {
 public:
  static constexpr int kBinBits = 10;
  GrowthOptimalBet(double m, double sign, double cap);
  double next() const { return lambda_; }
  void Add(double x);  // then next() is the bet for the score after x

 private:
  double Slope(double lambda, double* curvature) const;  // d/dlambda and d2/dlambda2 of the log-capital
  double m_, sign_, cap_;
  std::vector<int> term_of_bin_;  // index into terms_, -1 for a bin without scores
  struct Term {
    double y, count;  // s (x_j - m) for bin j's rounded score x_j, and how many scores it holds
  };
  std::vector<Term> terms_;  // in first-use order
  double slope_at_0_ = 0;    // sum of s (X_i - m) over the rounded scores
  double lambda_;
};

// The sequential test: DIFFERENT once K+(epsilon) reaches 1/alpha (every mean <= epsilon excluded at level
// alpha), SAME once K-(epsilon) reaches 1/beta, UNDECIDED at n_max. The decision is read exactly at epsilon
// (its own capitals, with the bets params.bet names), not from the rounded bounds, which are always the
// plug-in confidence sequence.
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
  BettingConfidenceSequence::Point at_epsilon_;  // the capitals the decision reads; plug-in bets with kPlugIn
  GrowthOptimalBet plus_bet_, minus_bet_;        // with kGrapa
  Decision decision_ = Decision::kUndecided;
};

}  // namespace pot::stats
