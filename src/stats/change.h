// stats/change: a sequential change detector for per-token scores whose false-alarm guarantee holds over
// unbounded monitoring time (docs/statistics.md, "Change detection (pot monitor)").
//
// Contract. Scores X_t in [0, 1] arrive in rounds. H0, "the endpoint still serves the reference":
//   one-sided: E[X_t | everything before token t] <= epsilon at every t;
//   two-sided: lower <= E[X_t | everything before token t] <= epsilon at every t (a centered score, e.g. the
//              text score with null mean 1/2 up to a tolerance: lower = 1/2 - delta, epsilon = 1/2 + delta).
// The detector keeps a statistic M_t >= 0 with M_0 = 1 that is a nonnegative supermartingale under H0,
// and alarms the first time M_t >= 1/alpha. By Ville's inequality,
//   P_H0(an alarm ever, over any number of rounds and tokens) <= alpha,
// whatever the dependence between tokens and however the means vary below epsilon. A journal replayed
// into a fresh detector (the same StartRound and Add calls) reproduces its state bit for bit (StateText),
// so a restarted monitor continues the same supermartingale: no reset, no second chance at alpha.
//
// Construction: the e-detector of
//   S. Shin, A. Ramdas and A. Rinaldo, "E-detectors: a nonparametric framework for sequential change
//   detection", New England Journal of Statistics in Data Science 2(2), 2024 (arXiv:2203.03532),
// in its probability-of-false-alarm form. Round r starts an e-process with prior weight w_r = 1/(r(r+1))
// (sum over r: 1); each e-process is a mixture, with weights pi_j (sum 1), of constant-bet products
//   prod_{tokens t since round r} (1 + lambda_j (Y_t - e)),   lambda_j in (0, 1/e),
// where (Y, e) is (X, epsilon), and in two-sided mode also (1 - X, 1 - lower) (the pi_j shared between
// the two sides). Each factor is positive and has conditional mean <= 1 under H0, so each product is a
// nonnegative supermartingale from its start. Summed over the starts r' <= r,
//   M_t = (1 - sum_{r' <= r} w_r') + sum_j pi_j S_j,   S_j <- S_j + w_r at round r,  S_j <- S_j (1 + lambda_j (Y_t - e)),
// the unstarted weight 1 - sum w_r' = 1/(r + 1) moves into S_j unchanged in total, so M_t is a supermartingale
// with M_0 = 1: O(1) work per token and bet, however long the monitor runs. (Averaging the two sides'
// statistics and testing at alpha is at least as strong as two detectors at alpha/2: an average >= 1/alpha
// whenever either side reaches 2/alpha.)
//
// Delay. After a change at round nu to tokens whose conditional means exceed e by enough, the e-process
// started at nu alone crosses 1/alpha once its bet j's log capital exceeds
//   log(1/alpha) + log(nu (nu + 1)) + log(1/pi_j),
// so the delay is about (log(1/alpha) + 2 log nu + log(1/pi_j)) / g_j tokens, where
// g_j = E log(1 + lambda_j (Y - e)) is bet j's growth rate after the change: O(log nu) beyond a detector
// told nu. Capitals are kept as mantissa * 2^exponent (stats/capital.h) so millions of tokens neither
// overflow nor underflow them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stats/capital.h"
#include "util/status.h"

namespace pot::stats {

struct ChangeParams {
  double alpha = 0.01;    // bound on P(any alarm, ever) under H0
  double epsilon = 0.01;  // the null's upper bound on every conditional mean
  bool two_sided = false;
  double lower = 0;       // two-sided: the null's lower bound on every conditional mean
};

// OK when alpha is in (0, 1), epsilon (and two-sided, lower <= epsilon) in [1e-6, 1 - 1e-6] (so every
// bet's factor stays within the range Capital renormalizes safely).
Status CheckChangeParams(const ChangeParams& params);

class ChangeDetector {
 public:
  // The constant bets lambda_j = kBetFractions[j] / e, each weighted 1/kBets within its side: from nearly
  // all-in (a factor of 0.1 on a score of 0) down to 1/128 of it, for changes of a small mean shift.
  static constexpr int kBets = 8;
  static const std::array<double, kBets> kBetFractions;

  // params must pass CheckChangeParams.
  explicit ChangeDetector(const ChangeParams& params);

  // Starts round r = rounds() + 1: its e-process joins with weight 1/(r(r+1)). Called before the round's
  // first score (predictable), whether or not the round brings any.
  void StartRound();
  // Adds one token's score; *alarm is true once M_t >= 1/alpha. Refuses x outside [0, 1] (or not finite),
  // a score before the first round, and every score after the alarm.
  Status Add(double x, bool* alarm);

  bool alarmed() const { return alarm_token_ != 0; }
  uint64_t rounds() const { return round_; }
  uint64_t tokens() const { return tokens_; }
  // The 1-based token at which the alarm came (0 before one).
  uint64_t alarm_token() const { return alarm_token_; }
  // log M_t and the alarm threshold log(1/alpha).
  double LogStatistic() const;
  double LogThreshold() const;
  // The whole state, exactly (hexadecimal floating point): equal texts mean bit-identical detectors.
  std::string StateText() const;
  const ChangeParams& params() const { return params_; }

 private:
  struct Bet {
    double lambda;
    double e;        // the side's null bound
    bool flipped;    // the side bets on 1 - X
    double weight;   // pi_j
    Capital sum;     // S_j
    // weight * 2^(sum's exponent), refreshed whenever that exponent changes, so pi_j S_j is one multiply of
    // the mantissa: the alarm check after a token costs no ldexp.
    double scale;
    void Rescale();
  };
  double Statistic() const;  // M_t in double, saturating: enough to compare with 1/alpha

  ChangeParams params_;
  std::vector<Bet> bets_;
  uint64_t round_ = 0, tokens_ = 0, alarm_token_ = 0;
};

}  // namespace pot::stats
