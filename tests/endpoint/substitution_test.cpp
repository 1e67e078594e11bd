// Partial substitution (issue 15): pot verify --endpoint through RouteProxy in front of two real
// llama-servers on loopback ports, base and finetune, both answering as model "base" as a dishonest
// provider's would. Half the completions substituted ends DIFFERENT, and not before the first substituted
// one; none substituted ends SAME; the proxy routed exactly by its seeded rule, whose share is rho.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/llama_server.h"
#include "support/route_proxy.h"
#include "test_util.h"

namespace pot {
namespace {

using json = nlohmann::json;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// The rule alone, over many request numbers: no server needed.
TEST(RouteProxyRule, SendsTheShareRhoReproduciblyPerSeed) {
  constexpr int kDraws = 20000;
  for (double rho : {0.0, 0.1, 0.25, 0.5, 1.0}) {
    int substituted = 0;
    for (uint64_t n = 1; n <= kDraws; ++n) substituted += test::RouteProxy::ToSubstitute(rho, 7, n);
    EXPECT_NEAR(static_cast<double>(substituted) / kDraws, rho, 0.01) << "rho " << rho;
  }
  int same_as_seed_7 = 0, same_as_seed_8 = 0;
  for (uint64_t n = 1; n <= 1000; ++n) {
    same_as_seed_7 += test::RouteProxy::ToSubstitute(0.5, 7, n) == test::RouteProxy::ToSubstitute(0.5, 7, n);
    same_as_seed_8 += test::RouteProxy::ToSubstitute(0.5, 7, n) == test::RouteProxy::ToSubstitute(0.5, 8, n);
  }
  EXPECT_EQ(same_as_seed_7, 1000);
  EXPECT_NEAR(same_as_seed_8, 500, 60);  // another seed is another, independent pattern
}

class SubstitutionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(Member("base"))) return;
    for (const char* member : {"base", "finetune"}) {
      Status s = test::LlamaServer::Start(Member(member), {"--alias", "base"}, member == std::string("base") ? &base_ : &finetune_);
      if (!s.ok()) ADD_FAILURE() << "llama-server " << member << ": " << s.message();
    }
  }
  static void TearDownTestSuite() {
    base_.reset();
    finetune_.reset();
  }
  void SetUp() override {
    if (!std::filesystem::exists(Member("base"))) GTEST_SKIP() << "testbed not forged at " << test::TestbedDir();
    ASSERT_TRUE(base_ && finetune_);
    // A committed key: the challenges, and so with the seed the whole run, are the same every time.
    ASSERT_EQ(test::RunPot("challenge commit --family templates -n 64 -o " + dir_.File("c.key")).exit_code, 0);
  }

  // pot verify (replay, the strongest score against llama-server; one thread, as the servers have) through
  // proxy; returns its result.json.
  json Verify(const test::RouteProxy& proxy, const std::string& name) {
    const std::string run = dir_.File(name);
    auto r = test::RunPot("verify --ref " + Member("base") + " --endpoint " + proxy.base_url() +
                          " --api llama-server --score replay --mode audit --key " + dir_.File("c.key") + " --threads 1 --quiet -o " + run);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
    return json::parse(test::Slurp(run + "/result.json"));
  }

  static inline std::unique_ptr<test::LlamaServer> base_, finetune_;
  test::TempDir dir_;
};

TEST_F(SubstitutionTest, HalfTheCompletionsToFinetuneIsDifferent) {
  constexpr uint64_t kSeed = 1;
  uint64_t first_substituted = 1;
  while (!test::RouteProxy::ToSubstitute(0.5, kSeed, first_substituted)) ++first_substituted;
  ASSERT_EQ(first_substituted, 4u);  // this seed has base answer completions 1-3: honest answers first
  test::RouteProxy proxy(base_->port(), finetune_->port(), 0.5, kSeed);
  const json result = Verify(proxy, "half");
  EXPECT_EQ(result.at("decision"), "DIFFERENT");
  const test::RouteCounts counts = proxy.counts();
  const int completions = counts.completions_to_primary + counts.completions_to_substitute;
  EXPECT_EQ(completions, result.at("n_used").get<int>());  // one completion per challenge
  int routed_by_rule = 0;
  for (uint64_t n = 1; n <= static_cast<uint64_t>(completions); ++n) routed_by_rule += test::RouteProxy::ToSubstitute(0.5, kSeed, n);
  EXPECT_EQ(counts.completions_to_substitute, routed_by_rule);
  // base's answers score at or near 0 under replay: the evidence is the substitute's, so the run went on
  // at least until the first substituted completion.
  EXPECT_GE(completions, static_cast<int>(first_substituted));
  EXPECT_GE(counts.other_to_primary, 1);  // the model list and the fingerprint, asked of base
}

TEST_F(SubstitutionTest, NoCompletionToFinetuneIsSame) {
  test::RouteProxy proxy(base_->port(), finetune_->port(), 0, 3);
  const json result = Verify(proxy, "none");
  EXPECT_EQ(result.at("decision"), "SAME");
  const test::RouteCounts counts = proxy.counts();
  EXPECT_EQ(counts.completions_to_substitute, 0);
  EXPECT_EQ(counts.completions_to_primary, result.at("n_used").get<int>());
}

}  // namespace
}  // namespace pot
