// pot diff --activations and --gradients (issue 17) on the forged family, through the real pot binary, and
// the spill file they share (src/pairwise) through its API: identical copies give zero, a fine-tune and a
// quantized copy differ, structurally different pairs and quantized gradients are refused in one line, and
// the spill file is 0600 and gone after every run.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "env/env.h"
#include "pairwise/pairwise.h"
#include "test_util.h"

namespace pot {
namespace {

using json = nlohmann::json;
using test::RunPot;
namespace fs = std::filesystem;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// Runs pot with TMPDIR set to a fresh directory, which must be empty again afterwards: no spill file left.
test::RunResult RunClean(const std::string& args) {
  test::TempDir tmp;
  auto r = RunPot(args + " --threads 1 --quiet", "TMPDIR=" + tmp.path() + " ");
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "a spill file was left behind by: " << args;
  return r;
}

json Parse(const test::RunResult& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.out << r.err;
  return j;
}

void ExpectRefused(const test::RunResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(r.err.rfind("pot: error: ", 0), 0u) << r.err;
  EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << needle << " in " << r.err;
}

TEST(Spill, IsPrivateReadsBackInOrderAndIsRemoved) {
  test::TempDir dir;
  Env* env = Env::Default();
  std::unique_ptr<pairwise::Spill> spill;
  ASSERT_TRUE(pairwise::Spill::Create(env, dir.path(), &spill).ok());
  const std::string path = spill->path();
  EXPECT_EQ(fs::path(path).parent_path(), fs::path(dir.path()));
  unsigned mode = 0;
  ASSERT_TRUE(env->GetPermissions(path, &mode).ok());
  EXPECT_EQ(mode, 0600u);
  const std::vector<float> a = {1, 2, 3}, b = {-1.5f};
  ASSERT_TRUE(spill->Append("l_out-0", a.data(), a.size()).ok());
  ASSERT_TRUE(spill->Append("l_out-1", b.data(), b.size()).ok());
  ASSERT_TRUE(spill->Rewind().ok());
  EXPECT_FALSE(env->FileExists(path)) << "the name goes once the file is open for reading back";
  const std::vector<float> near = {1, 2, 4};
  pairwise::Moments m;
  ASSERT_TRUE(spill->Compare("l_out-0", near.data(), near.size(), &m).ok());
  EXPECT_EQ(m.n, 3u);
  EXPECT_DOUBLE_EQ(m.d2, 1);  // read back exactly: (3 - 4)^2
  EXPECT_DOUBLE_EQ(m.a2, 14);
  Status s = spill->Compare("l_out-2", b.data(), 1, &m);  // the second model computed something else here
  EXPECT_EQ(s.code(), Status::Code::kUnsupported) << s.message();
  EXPECT_NE(s.message().find("l_out-1"), std::string::npos) << s.message();
  EXPECT_FALSE(spill->AtEnd());
  // A record longer than one read-back chunk is compared piece by piece.
  std::unique_ptr<pairwise::Spill> big;
  ASSERT_TRUE(pairwise::Spill::Create(env, dir.path(), &big).ok());
  std::vector<float> x(pairwise::Spill::kChunkFloats * 2 + 3), y;
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7);
  y = x;
  y.back() += 1;
  ASSERT_TRUE(big->Append("output.weight", x.data(), x.size()).ok());
  ASSERT_TRUE(big->Rewind().ok());
  pairwise::Moments bm;
  ASSERT_TRUE(big->Compare("output.weight", y.data(), y.size(), &bm).ok());
  EXPECT_EQ(bm.n, x.size());
  EXPECT_DOUBLE_EQ(bm.d2, 1);
  EXPECT_TRUE(big->AtEnd());
  big.reset();

  std::unique_ptr<pairwise::Spill> abandoned;  // a run that fails before reading back leaves nothing either
  ASSERT_TRUE(pairwise::Spill::Create(env, dir.path(), &abandoned).ok());
  const std::string abandoned_path = abandoned->path();
  ASSERT_TRUE(abandoned->Append("x", a.data(), a.size()).ok());
  EXPECT_TRUE(env->FileExists(abandoned_path));
  abandoned.reset();
  spill.reset();
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(Moments, RelativeL2AndCosine) {
  const std::vector<float> a = {3, 4}, same = {3, 4}, other = {3, 5}, zero = {0, 0};
  pairwise::Moments m;
  m.Add(a.data(), same.data(), 2);
  EXPECT_TRUE(m.Identical());
  EXPECT_EQ(m.RelL2(), 0);
  EXPECT_DOUBLE_EQ(m.Cosine(), 1);
  pairwise::Moments d;
  d.Add(a.data(), other.data(), 2);
  EXPECT_FALSE(d.Identical());
  EXPECT_DOUBLE_EQ(d.RelL2(), 1.0 / 5);
  pairwise::Moments z;
  z.Add(zero.data(), a.data(), 2);
  EXPECT_TRUE(std::isinf(z.RelL2()));
  EXPECT_EQ(z.Cosine(), 0);
}

TEST(Activations, CopyIsIdenticalAtEveryLayer) {
  const auto r = RunClean("diff --activations " + Member("base") + " " + Member("base-copy") + " --prompts 4 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json j = Parse(r);
  EXPECT_TRUE(j["identical"].get<bool>());
  ASSERT_EQ(j["layers"].size(), 4u);
  for (const auto& l : j["layers"]) EXPECT_EQ(l["rel_l2"].get<double>(), 0);
  EXPECT_TRUE(j["first_divergent_layer"].is_null());
  EXPECT_EQ(j["challenges"]["commitment"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["challenges"]["n"].get<int>(), 4);
  EXPECT_GT(j["positions"].get<uint64_t>(), 4u);
  EXPECT_GT(j["memory"]["spill_bytes"].get<uint64_t>(), 0u);
}

TEST(Activations, CommittedKeyGivesTheSameChallengesAndItsBudgetIsEnforced) {
  test::TempDir dir;
  ASSERT_EQ(RunPot("challenge commit --family templates -n 3 -o " + dir.File("k")).exit_code, 0);
  const std::string args = "diff --activations " + Member("base") + " " + Member("finetune") + " --key " + dir.File("k");
  const auto one = RunClean(args + " --prompts 3 --json"), two = RunClean(args + " --prompts 3 --json");
  ASSERT_EQ(one.exit_code, 1) << one.err;
  EXPECT_EQ(Parse(one)["layers"], Parse(two)["layers"]) << "the same key gives the same challenges and numbers";
  EXPECT_EQ(Parse(one)["challenges"], Parse(two)["challenges"]);
  EXPECT_FALSE(Parse(one)["challenges"].contains("key_hex")) << "a user's key is never printed";
  ExpectRefused(RunClean(args + " --prompts 4"), 2, "exceeds");
}

TEST(Activations, FinetuneAndQuantizedCopiesDiffer) {
  const auto ft = RunClean("diff --activations " + Member("base") + " " + Member("finetune") + " --prompts 4 --json");
  ASSERT_EQ(ft.exit_code, 1) << ft.err;
  const auto q8 = RunClean("diff --activations " + Member("base") + " " + Member("base-q8_0") + " --prompts 4 --json");
  ASSERT_EQ(q8.exit_code, 1) << q8.err;
  const json f = Parse(ft), q = Parse(q8);
  ASSERT_EQ(f["layers"].size(), 4u);
  ASSERT_EQ(q["layers"].size(), 4u);
  for (size_t l = 0; l < 4; ++l) {
    const double fl = f["layers"][l]["rel_l2"], ql = q["layers"][l]["rel_l2"];
    EXPECT_GT(ql, 0) << "q8_0 drifts from layer 0, layer " << l;
    EXPECT_LT(ql, 0.05) << "q8_0's drift is small, layer " << l;
    EXPECT_GT(fl, ql) << "the fine-tune moves further than rounding, layer " << l;
  }
  EXPECT_FALSE(q["identical"].get<bool>());
  // forge's fine-tune trains every layer (docs/methods.md), so it moves from the first layer on.
  EXPECT_EQ(f["first_divergent_layer"].get<int>(), 0);
  // An independently trained model of the same shape is unrelated from the first layer on.
  const auto sib = RunClean("diff --activations " + Member("base") + " " + Member("sibling") + " --prompts 4 --json");
  ASSERT_EQ(sib.exit_code, 1) << sib.err;
  const json g = Parse(sib);
  EXPECT_EQ(g["first_divergent_layer"].get<int>(), 0);
  EXPECT_LT(g["layers"][0]["cosine"].get<double>(), 0.5);
}

TEST(Activations, StructurallyDifferentPairsAreNotComparable) {
  ExpectRefused(RunClean("diff --activations " + Member("base") + " " + Member("other-tokenizer")), 3,
                "not comparable");
  ExpectRefused(RunClean("diff --activations " + Member("base") + " " + Member("scale")), 3, "6 layers");
}

TEST(Activations, TruncatedModelIsRefusedInOneLine) {
  test::TempDir dir;
  const std::string bytes = test::Slurp(Member("base-copy"));
  test::WriteBytes(dir.File("cut.gguf"), bytes.substr(0, bytes.size() / 2));
  ExpectRefused(RunClean("diff --activations " + Member("base") + " " + dir.File("cut.gguf")), 3, "cut.gguf");
  ExpectRefused(RunClean("diff --gradients " + dir.File("cut.gguf") + " " + Member("base")), 3, "cut.gguf");
}

TEST(Activations, UsageErrors) {
  ExpectRefused(RunPot("diff --activations --gradients a b"), 2, "one of");
  ExpectRefused(RunPot("diff " + Member("base") + " " + Member("base") + " --prompts 3"), 2, "one of");
  ExpectRefused(RunPot("diff --activations " + Member("base") + " " + Member("base") + " --prompts 0"), 2, "--prompts");
  ExpectRefused(RunPot("diff --gradients " + Member("base") + " " + Member("base") + " --threshold 0.1"), 2, "--threshold");
}

TEST(Gradients, CopyIsIdenticalFinetuneDiffers) {
  test::TempDir dir;
  ASSERT_EQ(RunPot("challenge commit --family templates -n 4 -o " + dir.File("k")).exit_code, 0);
  const std::string key = " --key " + dir.File("k");
  const auto same = RunClean("diff --gradients " + Member("base") + " " + Member("base-copy") + " --prompts 4 --json");
  ASSERT_EQ(same.exit_code, 0) << same.err << same.out;
  const json s = Parse(same);
  EXPECT_TRUE(s["identical"].get<bool>());
  EXPECT_EQ(s["loss_a"].get<double>(), s["loss_b"].get<double>());
  size_t with_gradient = 0;
  for (const auto& t : s["tensors"]) {
    if (t["has_gradient"].get<bool>()) {
      ++with_gradient;
      EXPECT_EQ(t["rel_l2"].get<double>(), 0) << t["name"];
    } else {
      EXPECT_FALSE(t["why_none"].get<std::string>().empty());
    }
  }
  EXPECT_GE(with_gradient, 4u * 7) << "every layer's q, o, ffn and norm tensors have a gradient";

  const auto ft = RunClean("diff --gradients " + Member("base") + " " + Member("finetune") + key + " --json");
  ASSERT_EQ(ft.exit_code, 1) << ft.err;
  const json f = Parse(ft);
  EXPECT_FALSE(f["identical"].get<bool>());
  EXPECT_NE(f["loss_a"].get<double>(), f["loss_b"].get<double>());
  for (const auto& t : f["tensors"]) {
    if (t["has_gradient"].get<bool>()) {
      EXPECT_GT(t["rel_l2"].get<double>(), 0) << t["name"];
    }
  }
  // Per-layer passes see the loaded weights, so they give what one pass over every tensor gives.
  const auto one = RunClean("diff --gradients " + Member("base") + " " + Member("finetune") + key + " --json --one-pass");
  ASSERT_EQ(one.exit_code, 1) << one.err;
  EXPECT_EQ(Parse(one)["tensors"], f["tensors"]);
  EXPECT_GT(f["passes"].get<int>(), 1);
  EXPECT_EQ(Parse(one)["passes"].get<int>(), 1);
}

TEST(Gradients, QuantizedAndStructurallyDifferentAreRefused) {
  ExpectRefused(RunClean("diff --gradients " + Member("base") + " " + Member("base-q8_0")), 3, "F32");
  ExpectRefused(RunClean("diff --gradients " + Member("base") + " " + Member("other-tokenizer")), 3, "not comparable");
}

}  // namespace
}  // namespace pot
