#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "engine/engine.h"
#include "gguf/gguf.h"
#include "llama.h"
#include "test_util.h"

namespace pot {
namespace {

using json = nlohmann::json;

json Testbed() { return json::parse(test::Slurp(test::TestbedDir() + "/testbed.json")); }
std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

TEST(Forge, TestbedListsTheWholeFamilyWithDigests) {
  const json t = Testbed();
  EXPECT_EQ(t["format"], "pot.testbed");
  std::set<std::string> names;
  for (const auto& m : t["members"]) {
    names.insert(m["name"]);
    EXPECT_EQ(ToHex(Sha256Of(test::Slurp(test::TestbedDir() + "/" + m["file"].get<std::string>()))), m["sha256"])
        << m["name"];
    EXPECT_TRUE(m["expected_verdict"] == "SAME" || m["expected_verdict"] == "DIFFERENT");
  }
  for (const char* want : {"base", "base-copy", "base-q8_0", "base-q4_0", "finetune", "sibling", "scale", "distilled",
                           "other-tokenizer"}) {
    EXPECT_TRUE(names.count(want)) << want;
  }
}

// Every member loads in llama.cpp and decodes text to finite, better-than-uniform predictions.
TEST(Forge, EveryMemberLoadsAndDecodes) {
  engine::Init(false);
  const std::string text = test::Slurp("/usr/share/games/fortunes/fortunes");  // never trained on
  ASSERT_GT(text.size(), 6000u);
  const json testbed = Testbed();  // a named object: the loop must not iterate into a destroyed temporary
  int checked = 0;
  for (const auto& m : testbed["members"]) {
    ++checked;
    const std::string name = m["name"];
    engine::ModelPtr model;
    ASSERT_TRUE(engine::LoadModel(Member(name), {}, &model).ok()) << name;
    engine::ContextPtr ctx;
    ASSERT_TRUE(engine::NewContext(model.get(), {.n_ctx = 256, .n_batch = 256, .n_ubatch = 256}, &ctx).ok());
    std::vector<int32_t> tokens;
    ASSERT_TRUE(engine::Tokenize(llama_model_get_vocab(model.get()), text.substr(0, 6000), true, &tokens).ok());
    double nll = 0;
    uint64_t n = 0;
    ASSERT_TRUE(engine::MeanNll(ctx.get(), tokens, &nll, &n).ok()) << name;
    const double uniform = std::log(llama_vocab_n_tokens(llama_model_get_vocab(model.get())));
    EXPECT_TRUE(std::isfinite(nll)) << name;
    EXPECT_LT(nll, uniform - 1.0) << name << ": predictions barely better than uniform";
  }
  EXPECT_EQ(checked, 9);
}

TEST(Forge, TrainedMembersAreFarFromUniform) {
  const json testbed = Testbed();
  int trained = 0;
  for (const auto& m : testbed["members"]) {
    if (!m["trained"].get<bool>()) continue;
    ++trained;
    EXPECT_LT(m["heldout_perplexity"].get<double>(), m["uniform_perplexity"].get<double>() / 10) << m["name"];
  }
  EXPECT_EQ(trained, 6);  // base, finetune, sibling, scale, distilled, other-tokenizer
}

TEST(Forge, BaseCopyHasSameTensorsAndDifferentMetadata) {
  gguf::File a, b;
  ASSERT_TRUE(gguf::Read(Env::Default(), Member("base"), &a).ok());
  ASSERT_TRUE(gguf::Read(Env::Default(), Member("base-copy"), &b).ok());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  const std::string bytes_a = test::Slurp(Member("base")), bytes_b = test::Slurp(Member("base-copy"));
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].ne, b.tensors[i].ne);
    EXPECT_EQ(bytes_a.compare(a.tensors[i].file_offset, a.tensors[i].nbytes, bytes_b, b.tensors[i].file_offset,
                              b.tensors[i].nbytes),
              0)
        << a.tensors[i].name;
  }
  EXPECT_NE(a.GetString("general.name"), b.GetString("general.name"));
  EXPECT_EQ(b.GetString("pot.forge.copy_of"), "base");
  EXPECT_NE(bytes_a, bytes_b);
}

// Same seed, same bytes: two independent forges (shortened training) produce identical files.
TEST(Forge, SameSeedGivesIdenticalBytes) {
  test::TempDir one, two;
  const std::string args = " --seed 7 --max-steps 3 --members base,base-copy,base-q8_0 --quiet";
  ASSERT_EQ(test::RunPot("forge " + one.path() + args).exit_code, 0);
  ASSERT_EQ(test::RunPot("forge " + two.path() + args).exit_code, 0);
  for (const char* name : {"base", "base-copy", "base-q8_0"}) {
    const std::string a = test::Slurp(one.File(std::string(name) + ".gguf"));
    EXPECT_GT(a.size(), 1000000u);
    EXPECT_TRUE(a == test::Slurp(two.File(std::string(name) + ".gguf"))) << name << " differs between runs";
  }
  // A rerun finds the family built and does no work.
  auto again = test::RunPot("forge " + one.path() + args + " --json");
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_TRUE(json::parse(again.out)["cached"].get<bool>());
  // Another seed gives other weights.
  test::TempDir three;
  ASSERT_EQ(test::RunPot("forge " + three.path() + " --seed 8 --max-steps 3 --members base --quiet").exit_code, 0);
  EXPECT_FALSE(test::Slurp(three.File("base.gguf")) == test::Slurp(one.File("base.gguf")));
}

TEST(Forge, RefusesADirectoryItDidNotMake) {
  test::TempDir dir;
  test::WriteBytes(dir.File("base.gguf"), "precious user data");
  auto r = test::RunPot("forge " + dir.path() + " --members base --max-steps 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not made by pot forge"), std::string::npos) << r.err;
  EXPECT_EQ(test::Slurp(dir.File("base.gguf")), "precious user data");
}

}  // namespace
}  // namespace pot
