// How the reference-file score compares with the full-vocabulary score on the forged family (docs/verify.md,
// "Reference files"). Top-k alone gives a lower bound, which must never exceed the full TV; top-k plus
// tail samples gives an unbiased estimate, whose mean over many draws must agree with the full TV. The
// table it prints is the study.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "challenge/challenge.h"
#include "engine/engine.h"
#include "test_util.h"
#include "verify/score.h"
#include "verify/verify.h"

namespace pot {
namespace {

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

struct Scheme {
  int k, samples;
};

TEST(ReferenceScoreStudy, LowerBoundHoldsAndTailSamplesAreUnbiased) {
  engine::Init(false);
  engine::ModelPtr ref_model;
  engine::ContextPtr ref_ctx;
  ASSERT_TRUE(engine::LoadModel(Member("base"), {}, &ref_model).ok());
  ASSERT_TRUE(engine::NewContext(ref_model.get(), {.n_threads = 2}, &ref_ctx).ok());
  std::unique_ptr<challenge::Generator> gen;
  ASSERT_TRUE(challenge::NewGenerator(Env::Default(), std::string(32, '\x07'), {"templates", "v1"}, "", &gen).ok());
  constexpr int kChallenges = 16, kDraws = 32;
  const std::vector<Scheme> schemes = {{8, 0}, {20, 0}, {4, 4}, {8, 1}, {1, 7}};
  std::printf("mean over %d challenges; with tail samples: the estimate's mean over %d draws per challenge and, in\n"
              "brackets, its standard deviation per challenge\n%-10s %8s", kChallenges, kDraws, "candidate", "full TV");
  for (const auto& s : schemes) std::printf("   k=%-2d s=%d        ", s.k, s.samples);
  std::printf("\n");
  std::mt19937_64 rng(20261122);
  std::uniform_real_distribution<double> uniform(0, 1);
  for (const char* member : {"base-q8_0", "base-q4_0", "finetune", "sibling", "scale", "distilled"}) {
    engine::ModelPtr cand_model;
    engine::ContextPtr cand_ctx;
    ASSERT_TRUE(engine::LoadModel(Member(member), {}, &cand_model).ok());
    ASSERT_TRUE(engine::NewContext(cand_model.get(), {.n_threads = 2}, &cand_ctx).ok());
    double full = 0;
    std::vector<double> mean(schemes.size()), spread(schemes.size());
    for (int i = 0; i < kChallenges; ++i) {
      challenge::Challenge c;
      ASSERT_TRUE(gen->Generate(i, &c).ok());
      verify::ChallengeRecord rec;
      engine::Distributions ref, cand;
      std::vector<int32_t> sequence, targets;
      ASSERT_TRUE(verify::ReferencePass(ref_ctx.get(), c.prompt, 0, &rec, &ref, &sequence, &targets).ok());
      ASSERT_TRUE(engine::Forward(cand_ctx.get(), sequence, &cand).ok());
      verify::ChallengeScore exact;
      ASSERT_TRUE(verify::ScoreChallenge(ref, cand, targets, verify::Distance::kTotalVariation, &exact).ok());
      full += exact.mean_tv / kChallenges;
      for (size_t j = 0; j < schemes.size(); ++j) {
        const Scheme& scheme = schemes[j];
        double sum = 0, sum_sq = 0;
        for (int draw = 0; draw < (scheme.samples > 0 ? kDraws : 1); ++draw) {
          verify::ReferenceRows rows;
          verify::ExtractReferenceRows(ref, targets, scheme.k, scheme.samples,
                                       [&](size_t, int) { return uniform(rng); }, &rows);
          verify::ChallengeScore s;
          ASSERT_TRUE(verify::ScoreAgainstReference(rows, cand, targets, &s).ok());
          ASSERT_GE(s.score, 0);
          ASSERT_LE(s.score, 1);
          if (scheme.samples == 0) {
            EXPECT_LE(s.score, exact.mean_tv + 1e-6) << member << " challenge " << i << ": a bound above the value";
          }
          sum += s.score;
          sum_sq += s.score * s.score;
        }
        const double n = scheme.samples > 0 ? kDraws : 1;
        const double m = sum / n;
        mean[j] += m / kChallenges;
        spread[j] += std::sqrt(std::max(0.0, sum_sq / n - m * m)) / kChallenges;
        if (scheme.samples > 0) {
          // Unbiased: over kDraws draws the estimate's mean is the exact value up to sampling error (6 sigma).
          const double sigma = std::sqrt(std::max(0.0, sum_sq / n - m * m) / n);
          EXPECT_NEAR(m, exact.mean_tv, 6 * sigma + 1e-4) << member << " challenge " << i << " k " << scheme.k;
        }
      }
    }
    std::printf("%-10s %8.4f", member, full);
    for (size_t j = 0; j < schemes.size(); ++j) std::printf("   %.4f (%.4f)    ", mean[j], spread[j]);
    std::printf("\n");
  }
}

}  // namespace
}  // namespace pot
