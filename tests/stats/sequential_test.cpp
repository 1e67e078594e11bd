#include "stats/sequential.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

namespace pot::stats {
namespace {

// Expected values come from an independent Python implementation written from docs/statistics.md
// (kept in the doc's appendix): same stream, same levels, same grid.
const std::vector<double> kStream = {0.31, 0.05, 0.62, 0.44, 0.12, 0.90, 0.27, 0.33, 0.48, 0.21,
                                     0.39, 0.05, 0.55, 0.30, 0.41, 0.26, 0.36, 0.18, 0.47, 0.33};

TEST(BettingConfidenceSequence, BoundsMatchAnIndependentComputation) {
  BettingConfidenceSequence cs(0.05, 0.05);
  struct Expected {
    size_t t;
    double lower, upper;
  };
  const Expected expected[] = {{1, 0.0, 1.0},
                               {2, 0.0, 0.861184},
                               {5, 0.054289, 0.6561},
                               {10, 0.178929, 0.605284},
                               {20, 0.228484, 0.49}};
  size_t t = 0;
  for (const auto& e : expected) {
    while (t < e.t) cs.Add(kStream[t++]);
    EXPECT_NEAR(cs.lower(), e.lower, 1e-12) << "t=" << t;
    EXPECT_NEAR(cs.upper(), e.upper, 1e-12) << "t=" << t;
  }
  EXPECT_NEAR(cs.mean(), 0.3515, 1e-12);
}

TEST(SequentialTest, DecidesWhereTheIndependentComputationDoes) {
  SequentialTest test({0.05, 0.05, 0.2, 100});
  Decision d = Decision::kUndecided;
  size_t t = 0;
  while (d == Decision::kUndecided) ASSERT_TRUE(test.Add(kStream[t++], &d).ok());
  EXPECT_EQ(d, Decision::kDifferent);
  EXPECT_EQ(t, 15u);
  EXPECT_GT(test.cs().lower(), 0.0);
  EXPECT_FALSE(test.Add(0.5, &d).ok()) << "a stopped test takes no more scores";
}

TEST(SequentialTest, RejectsScoresOutsideTheUnitInterval) {
  SequentialTest test({0.05, 0.05, 0.2, 100});
  Decision d;
  EXPECT_FALSE(test.Add(-0.01, &d).ok());
  EXPECT_FALSE(test.Add(1.01, &d).ok());
  EXPECT_FALSE(test.Add(std::nan(""), &d).ok());
  EXPECT_EQ(test.cs().n(), 0u);
}

TEST(SequentialTest, EveryPresetReachesSameWithinItsBudgetOnZeroScores) {
  const std::map<std::string, uint64_t> independent = {{"quick", 15}, {"audit", 23}, {"strict", 73}};
  for (const auto& name : PresetNames()) {
    TestParams p;
    ASSERT_TRUE(Preset(name, &p).ok());
    const uint64_t n = MinimumToSame(p);
    EXPECT_EQ(n, independent.at(name)) << name;
    EXPECT_LE(n, p.n_max) << name;
    // No valid test does better than log(beta) / log(1 - epsilon) (all-zero streams of Bernoulli(epsilon)).
    EXPECT_GE(static_cast<double>(n), std::log(p.beta) / std::log(1 - p.epsilon)) << name;
    // And the real test agrees: n zeros give SAME.
    SequentialTest test(p);
    Decision d = Decision::kUndecided;
    for (uint64_t i = 0; i < n; ++i) ASSERT_TRUE(test.Add(0, &d).ok());
    EXPECT_EQ(d, Decision::kSame) << name;
  }
  TestParams p;
  EXPECT_FALSE(Preset("sloppy", &p).ok());
}

// ---- validity at any stopping time, by simulation (fixed seeds) --------------------------------------

// Score streams whose true mean is exactly mean: the boundary, the hardest case for both error rates.
enum class Shape { kBernoulli, kBeta, kUniform };

double Draw(Shape shape, double mean, std::mt19937_64& rng) {
  switch (shape) {
    case Shape::kBernoulli: return std::bernoulli_distribution(mean)(rng) ? 1.0 : 0.0;
    case Shape::kBeta: {  // Beta(2 mean / (1 - mean) * 2, 4): mean as given
      const double b = 4, a = b * mean / (1 - mean);
      const double x = std::gamma_distribution<double>(a, 1)(rng), y = std::gamma_distribution<double>(b, 1)(rng);
      return x / (x + y);
    }
    case Shape::kUniform: return std::uniform_real_distribution<double>(0, 2 * mean)(rng);
  }
  return 0;
}

struct Rates {
  double different = 0, same = 0;
};

// Runs streams to a decision or n_max, the test consulted after every score.
Rates Simulate(const TestParams& p, Shape shape, double mean, int streams, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int different = 0, same = 0;
  for (int s = 0; s < streams; ++s) {
    SequentialTest test(p, /*with_bounds=*/false);
    Decision d = Decision::kUndecided;
    while (!test.done()) {
      if (!test.Add(Draw(shape, mean, rng), &d).ok()) std::abort();
    }
    different += d == Decision::kDifferent;
    same += d == Decision::kSame;
  }
  return {static_cast<double>(different) / streams, static_cast<double>(same) / streams};
}

// Allowance for simulation error: three binomial standard deviations.
double Slack(double rate, int n) { return 3 * std::sqrt(rate * (1 - rate) / n); }

TEST(SequentialValidity, FalseDifferentAndFalseSameStayWithinAlphaAndBetaAtTheBoundary) {
  constexpr int kStreams = 10000;
  for (const auto& name : PresetNames()) {
    TestParams p;
    ASSERT_TRUE(Preset(name, &p).ok());
    uint64_t seed = 1;
    for (Shape shape : {Shape::kBernoulli, Shape::kBeta, Shape::kUniform}) {
      const Rates r = Simulate(p, shape, p.epsilon, kStreams, seed++);
      EXPECT_LE(r.different, p.alpha + Slack(p.alpha, kStreams)) << name << " shape " << static_cast<int>(shape);
      EXPECT_LE(r.same, p.beta + Slack(p.beta, kStreams)) << name << " shape " << static_cast<int>(shape);
    }
  }
}

TEST(SequentialValidity, DecidesCorrectlyAwayFromTheBoundary) {
  // Not a validity property but a guard against a test that can never fire: clear cases decide.
  TestParams p;
  ASSERT_TRUE(Preset("audit", &p).ok());
  const Rates far_above = Simulate(p, Shape::kBeta, 0.45, 1000, 7);
  const Rates far_below = Simulate(p, Shape::kBeta, 0.01, 1000, 8);
  EXPECT_GT(far_above.different, 0.99);
  EXPECT_GT(far_below.same, 0.99);
}

TEST(SequentialValidity, ConfidenceBoundsCoverTheMeanAtEveryTime) {
  constexpr int kStreams = 1000;
  constexpr double kLevel = 0.05, kMean = 0.3;
  std::mt19937_64 rng(42);
  int lower_missed = 0, upper_missed = 0;
  for (int s = 0; s < kStreams; ++s) {
    BettingConfidenceSequence cs(kLevel, kLevel);
    bool low = false, high = false;
    for (int t = 0; t < 100; ++t) {
      cs.Add(Draw(Shape::kBeta, kMean, rng));
      low |= cs.lower() > kMean;
      high |= cs.upper() < kMean;
    }
    lower_missed += low;
    upper_missed += high;
  }
  EXPECT_LE(lower_missed, kStreams * (kLevel + Slack(kLevel, kStreams)));
  EXPECT_LE(upper_missed, kStreams * (kLevel + Slack(kLevel, kStreams)));
}

}  // namespace
}  // namespace pot::stats
