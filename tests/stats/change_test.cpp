// The change detector (stats/change.h) in simulation, fixed seeds: false alarms under null streams stay
// below alpha over long horizons, the delay after a change grows like log of the change round, and a
// replay of the same events reproduces the state bit for bit.
#include "stats/change.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

namespace pot::stats {
namespace {

constexpr int kTokensPerRound = 32;  // one challenge of 32 tokens per monitoring round

// A stream of scores: the score of token t (0-based) from rng.
using Stream = std::function<double(uint64_t t, std::mt19937_64& rng)>;

double Uniform(std::mt19937_64& rng) { return std::uniform_real_distribution<double>(0, 1)(rng); }

// Feeds tokens of stream in rounds until an alarm or the horizon; the 1-based alarm token, 0 for none.
uint64_t RunUntilAlarm(const ChangeParams& params, const Stream& stream, uint64_t horizon, uint64_t seed) {
  ChangeDetector d(params);
  std::mt19937_64 rng(seed);
  bool alarm = false;
  for (uint64_t t = 0; t < horizon && !alarm; ++t) {
    if (t % kTokensPerRound == 0) d.StartRound();
    EXPECT_TRUE(d.Add(stream(t, rng), &alarm).ok());
  }
  return d.alarm_token();
}

int FalseAlarms(const ChangeParams& params, const Stream& stream, int runs, uint64_t horizon) {
  int alarms = 0;
  for (int run = 0; run < runs; ++run) alarms += RunUntilAlarm(params, stream, horizon, 1000 + run) != 0;
  std::printf("  %d false alarms in %d runs of %llu tokens (alpha %g: at most %g expected)\n", alarms, runs,
              static_cast<unsigned long long>(horizon), params.alpha, params.alpha * runs);
  return alarms;
}

TEST(ChangeDetector, RefusesBadParamsAndScores) {
  EXPECT_FALSE(CheckChangeParams({0, 0.01, false}).ok());
  EXPECT_FALSE(CheckChangeParams({1, 0.01, false}).ok());
  EXPECT_FALSE(CheckChangeParams({0.01, 0, false}).ok());
  EXPECT_FALSE(CheckChangeParams({0.01, 1, true, 0.5}).ok());
  EXPECT_FALSE(CheckChangeParams({0.01, 0.5, true, 0.6}).ok()) << "lower above epsilon";
  EXPECT_FALSE(CheckChangeParams({0.01, 0.5, true, 0}).ok());
  EXPECT_TRUE(CheckChangeParams({0.01, 0.5, true, 0.5}).ok());
  ChangeDetector d({0.01, 0.01, false});
  bool alarm = false;
  EXPECT_FALSE(d.Add(0, &alarm).ok()) << "a score before the first round";
  d.StartRound();
  EXPECT_FALSE(d.Add(-0.1, &alarm).ok());
  EXPECT_FALSE(d.Add(1.1, &alarm).ok());
  EXPECT_FALSE(d.Add(std::nan(""), &alarm).ok());
  EXPECT_EQ(d.tokens(), 0u);
  EXPECT_DOUBLE_EQ(d.LogStatistic(), 0) << "M_0 = 1: the first round's weight 1/2 plus the unstarted 1/2";
  while (!alarm) ASSERT_TRUE(d.Add(1, &alarm).ok());
  EXPECT_GE(d.LogStatistic(), d.LogThreshold());
  EXPECT_EQ(d.alarm_token(), d.tokens());
  EXPECT_FALSE(d.Add(1, &alarm).ok()) << "no score after the alarm";
}

// The worst null for bounded scores: every conditional mean exactly epsilon (Bernoulli, so all mass at
// the extremes), 1000 runs of 10^5 tokens each (3125 rounds).
TEST(ChangeDetector, FalseAlarmsBelowAlphaAtTheNullsEdge) {
  const ChangeParams p{0.05, 0.01, false};
  const Stream bernoulli = [](uint64_t, std::mt19937_64& rng) { return Uniform(rng) < 0.01 ? 1.0 : 0.0; };
  EXPECT_LE(FalseAlarms(p, bernoulli, 1000, 100000), 50);
}

// Means that vary below epsilon (a slow wave between 0 and epsilon, continuous scores), and bursts: a
// Markov chain that stays in each state for ~2000 tokens, alternating Bernoulli(epsilon) with zeros.
TEST(ChangeDetector, FalseAlarmsBelowAlphaWhenMeansVaryAndBurst) {
  const ChangeParams p{0.05, 0.02, false};
  const Stream wave = [](uint64_t t, std::mt19937_64& rng) {
    const double mean = 0.02 * 0.5 * (1 + std::sin(static_cast<double>(t) / 700));
    return 2 * mean * Uniform(rng);
  };
  EXPECT_LE(FalseAlarms(p, wave, 300, 100000), 15);
  struct Burst {
    bool on = false;
  };
  auto state = std::make_shared<Burst>();
  const Stream bursty = [state](uint64_t t, std::mt19937_64& rng) {
    if (t == 0) state->on = false;
    if (Uniform(rng) < 1.0 / 2000) state->on = !state->on;
    return state->on && Uniform(rng) < 0.02 ? 1.0 : 0.0;
  };
  EXPECT_LE(FalseAlarms(p, bursty, 300, 100000), 15);
}

// Two-sided, for a centered score whose null mean is 1/2: exactly (a fair coin), and within a tolerance
// delta = 0.0025 as the text score's null allows (means alternating between its two edges every challenge).
TEST(ChangeDetector, TwoSidedFalseAlarmsBelowAlphaAndBothDirectionsDetected) {
  const ChangeParams p{0.05, 0.5, true, 0.5};
  const Stream fair = [](uint64_t, std::mt19937_64& rng) { return Uniform(rng) < 0.5 ? 1.0 : 0.0; };
  EXPECT_LE(FalseAlarms(p, fair, 300, 100000), 15);
  const ChangeParams tolerant{0.05, 0.5025, true, 0.4975};
  const Stream edges = [](uint64_t t, std::mt19937_64& rng) {
    return Uniform(rng) < ((t / kTokensPerRound) % 2 == 0 ? 0.5025 : 0.4975) ? 1.0 : 0.0;
  };
  EXPECT_LE(FalseAlarms(tolerant, edges, 300, 100000), 15);
  for (double mean : {0.4, 0.6}) {
    const Stream shifted = [mean](uint64_t, std::mt19937_64& rng) { return Uniform(rng) < mean ? 1.0 : 0.0; };
    EXPECT_NE(RunUntilAlarm(p, shifted, 100000, 7), 0u) << "a shift of the mean to " << mean;
  }
}

// A change at round nu from Bernoulli(epsilon / 2) to Bernoulli(mu): the mean delay over 50 runs is near
// (log(1/alpha) + log(nu (nu + 1)) + log(kBets)) / g, g the growth rate of the best bet on the grid, and
// grows by about 2 log(10) / g per decade of nu. No run alarms before the change.
TEST(ChangeDetector, DelayGrowsLikeLogOfTheChangeRound) {
  const ChangeParams p{0.01, 0.01, false};
  const double mu = 0.1;
  double g = 0;  // E log(1 + lambda (X - e)) for X ~ Bernoulli(mu), best over the grid
  for (double f : ChangeDetector::kBetFractions) {
    const double l = f / p.epsilon;
    g = std::max(g, mu * std::log(1 + l * (1 - p.epsilon)) + (1 - mu) * std::log(1 - l * p.epsilon));
  }
  std::vector<double> delays;
  for (uint64_t nu : {1, 10, 100, 1000, 10000}) {
    const uint64_t change = (nu - 1) * kTokensPerRound;  // round nu's first token
    const Stream stream = [change, mu](uint64_t t, std::mt19937_64& rng) {
      return Uniform(rng) < (t < change ? 0.005 : mu) ? 1.0 : 0.0;
    };
    double total = 0;
    const int runs = 50;
    for (int run = 0; run < runs; ++run) {
      const uint64_t at = RunUntilAlarm(p, stream, change + 100000, 77 + run);
      ASSERT_GT(at, change) << "an alarm before the change at round " << nu;
      total += static_cast<double>(at - change);
    }
    const double mean = total / runs;
    const double n = static_cast<double>(nu);
    const double predicted = (std::log(1 / p.alpha) + std::log(n * (n + 1)) + std::log(ChangeDetector::kBets)) / g;
    std::printf("  change at round %llu: mean delay %.1f tokens (%.2f rounds of %d), predicted %.1f\n",
                static_cast<unsigned long long>(nu), mean, mean / kTokensPerRound, kTokensPerRound, predicted);
    EXPECT_LE(mean, 1.5 * predicted + kTokensPerRound);
    delays.push_back(mean);
  }
  EXPECT_LE(delays.back() - delays[1], 1.5 * 2 * std::log(1000.0) / g + kTokensPerRound)
      << "from round 10 to round 10^4 the delay grows by about log(10^6) / g";
}

// Ten million tokens (zeros: every capital shrinks by up to 0.1 per token) neither underflow nor stall
// the detector: a change after them is still caught, and log M stays finite throughout.
TEST(ChangeDetector, NoUnderflowOverMillionsOfTokens) {
  ChangeDetector d({0.01, 0.01, false});
  bool alarm = false;
  for (uint64_t t = 0; t < 10000000; ++t) {
    if (t % kTokensPerRound == 0) d.StartRound();
    ASSERT_TRUE(d.Add(0, &alarm).ok());
  }
  EXPECT_FALSE(alarm);
  EXPECT_TRUE(std::isfinite(d.LogStatistic()));
  EXPECT_LT(d.LogStatistic(), 0);
  d.StartRound();
  uint64_t after = 0;
  while (!alarm) {
    ASSERT_TRUE(d.Add(1, &alarm).ok());
    ++after;
  }
  EXPECT_LE(after, 10u) << "log M " << d.LogStatistic();
  EXPECT_TRUE(std::isfinite(d.LogStatistic()));
}

// The journal's promise: the same events replayed into a fresh detector give the same state, bit for bit,
// and both continue identically; any one score more or less shows in the state.
TEST(ChangeDetector, ReplayReproducesTheStateExactly) {
  const ChangeParams p{0.01, 0.5, true, 0.5};
  struct Event {
    bool round;
    double x;
  };
  std::vector<Event> log;
  std::mt19937_64 rng(5);
  ChangeDetector live(p);
  bool alarm = false;
  for (int t = 0; t < 5000; ++t) {
    if (t % 17 == 0) {
      live.StartRound();
      log.push_back({true, 0});
    }
    const double x = Uniform(rng);
    ASSERT_TRUE(live.Add(x, &alarm).ok());
    log.push_back({false, x});
  }
  ChangeDetector replayed(p);
  for (const Event& e : log) {
    if (e.round) replayed.StartRound();
    else ASSERT_TRUE(replayed.Add(e.x, &alarm).ok());
  }
  EXPECT_EQ(replayed.StateText(), live.StateText());
  const std::string before = live.StateText();
  for (int t = 0; t < 1000; ++t) {
    if (t % 17 == 0) {
      live.StartRound();
      replayed.StartRound();
    }
    const double x = Uniform(rng);
    ASSERT_TRUE(live.Add(x, &alarm).ok());
    ASSERT_TRUE(replayed.Add(x, &alarm).ok());
  }
  EXPECT_EQ(replayed.StateText(), live.StateText());
  EXPECT_NE(before, live.StateText());
  ASSERT_TRUE(replayed.Add(0.5, &alarm).ok());
  EXPECT_NE(replayed.StateText(), live.StateText());
}

}  // namespace
}  // namespace pot::stats
