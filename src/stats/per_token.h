// stats: the sequential test for per-token scores of an endpoint run (docs/statistics.md, "Per-token
// scores (endpoint runs)").
//
// An endpoint run scores every generated token, X_t in [0, 1]. These scores are neither independent nor
// identically distributed: tokens of one challenge depend on each other and their conditional means
//   mu_t = E[X_t | everything before token t]
// vary. SequentialTest assumes mu_t is one constant; TokenTest does not:
//   DIFFERENT (level alpha) rejects H0: mu_t <= epsilon at every t. Its capital is SequentialTest's K+ at
//     epsilon (predictable bets), a nonnegative supermartingale under H0, so P(ever DIFFERENT) <= alpha.
//   SAME (level beta) rejects H1_t: (1/t) sum_{i<=t} mu_i >= epsilon, the average conditional mean of the
//     t tokens scored so far: P(exists t: SAME at t and H1_t) <= beta. Its capital is a mixture of K- with
//     constant bets: only a constant bet makes K- <= a martingale whenever the average is >= epsilon
//     (Jensen); with varying bets, a stream that disagrees where the bet is small and agrees where it is
//     large can grow K- while its average stays >= epsilon.
// SAME speaks about the scored tokens' average, not about unseen prompts: a model that disagrees on a few
// whole challenges and agrees on the rest can reach SAME before one of those challenges is drawn. Its link
// to the prompt family rests on the challenges being secret random draws, and it is only as strong as the
// number of distinct challenges scored (the doc's section quantifies this).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "stats/capital.h"
#include "stats/sequential.h"
#include "util/status.h"

namespace pot::stats {

// The fewest token scores, all exactly 0, after which TokenTest says SAME (UINT64_MAX beyond 10^6).
uint64_t MinimumTokensToSame(const TestParams& params);

class TokenTest {
 public:
  // Uses params.alpha, beta and epsilon (in (0, 1)). params.n_max counts challenges, not tokens, and is
  // the caller's to enforce: TokenTest stops only on a decision.
  // with_bounds = false skips lower() and upper() (decisions only): simulations run millions of tokens.
  explicit TokenTest(const TestParams& params, bool with_bounds = true);

  // Adds one token's score, x finite and in [0, 1]; returns the decision after it (kUndecided until one
  // is reached). Refuses x outside [0, 1] and every score after a decision.
  Status Add(double x, Decision* decision);
  Decision decision() const { return decision_; }
  uint64_t n() const { return cs_.n(); }
  double mean() const { return cs_.mean(); }

  // Bounds on the grid of BoundGrid(), rounded outward. For every m:
  //   P(exists t: lower_t > m while mu_i <= m for all i <= t) <= alpha   (lower is intersected over time:
  //     its claim, "some mu_i so far exceeded m", only grows more true);
  //   P(exists t: upper_t <= m while (1/t) sum_{i<=t} mu_i >= m) <= beta  (upper is NOT intersected over
  //     time: the running average it bounds moves, so an earlier upper says nothing about it now).
  // 0 and 1 (no claim) when constructed with_bounds = false.
  double lower() const { return cs_.lower(); }
  double upper() const { return upper_; }
  const TestParams& params() const { return params_; }

  // The constant bets of the SAME mixture, as fractions f_j of 1 / (1 - m), and their weights (sum 1).
  static constexpr int kBets = 5;
  static const std::array<double, kBets> kBetFractions, kBetWeights;

 private:
  // sum_j w_j prod_{i<=t} (1 - l_j (X_i - m)) with the constant bets l_j = f_j / (1 - m), for one m < 1.
  struct Mixture {
    double m;
    std::array<Capital, kBets> k;
    void Multiply(double x);
    void Renormalize();
    double Value() const;
  };
  void UpdateUpper();

  TestParams params_;
  BettingConfidenceSequence cs_;  // K+ grid and bets; its K- half is not valid here and is never read
  BettingConfidenceSequence::Point different_;  // K+(epsilon)
  Mixture same_;                                // the SAME mixture at epsilon
  std::vector<Mixture> upper_grid_;             // the SAME mixture at each grid point below 1
  double upper_ = 1;
  Decision decision_ = Decision::kUndecided;
};

// CenteredTokenTest: per-token scores Z_t in [0, 1] whose conditional mean is exactly 1/2 under the null
// (the text score: the sampled token's surprisal under the reference minus its expectation, rescaled), with
// departures either way meaning another distribution. DIFFERENT (level alpha) rejects
//   H0: |mu_t - 1/2| <= delta at every t,   delta = params.epsilon,
// with two K+ capitals at 1/2 + delta, one on Z and one on 1 - Z, each against 2 / alpha: each is a
// nonnegative supermartingale under H0, so Ville's inequality and a union bound give P(ever DIFFERENT) <=
// alpha. There is no SAME: a mean of 1/2 is what every model with the reference's entropy profile shows
// (a quantized copy among them), so not finding a difference certifies nothing; the run ends UNDECIDED at
// its budget.
class CenteredTokenTest {
 public:
  // Uses params.alpha and epsilon (delta, in (0, 1/2)); beta is unused. with_bounds as TokenTest's.
  explicit CenteredTokenTest(const TestParams& params, bool with_bounds = true);
  Status Add(double z, Decision* decision);
  Decision decision() const { return decision_; }
  uint64_t n() const { return high_.n(); }
  double mean() const { return high_.mean(); }
  // A confidence sequence for the running mean at level alpha (alpha / 2 each side, both intersected over
  // time): P(exists t: lower_t > m while mu_i <= m for all i) <= alpha / 2, and upper_t likewise.
  double lower() const { return high_.lower(); }
  double upper() const { return 1 - low_.lower(); }

 private:
  TestParams params_;
  BettingConfidenceSequence high_, low_;  // K+ on Z and on 1 - Z; their K- halves are never read
  BettingConfidenceSequence::Point high_at_, low_at_;  // K+(1/2 + delta) of each
  Decision decision_ = Decision::kUndecided;
};

}  // namespace pot::stats
