// pot verify on the forged family: the engine's two scoring paths, the scores, and the acceptance table.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/engine.h"
#include "gguf/gguf.h"
#include "llama.h"
#include "test_util.h"
#include "verify/score.h"

namespace pot {
namespace {

using json = nlohmann::json;
using test::RunPot;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

TEST(Engine, GenerationRowsMatchOneTeacherForcedPass) {
  engine::Init(false);
  engine::ModelPtr model;
  ASSERT_TRUE(engine::LoadModel(Member("base"), {}, &model).ok());
  engine::ContextPtr ctx;
  ASSERT_TRUE(engine::NewContext(model.get(), {.n_threads = 2}, &ctx).ok());
  std::vector<int32_t> prompt;
  ASSERT_TRUE(engine::Tokenize(llama_model_get_vocab(model.get()), "The old man would never", true, &prompt).ok());
  std::vector<int32_t> continuation;
  engine::Distributions generated, forced;
  ASSERT_TRUE(engine::GenerateGreedy(ctx.get(), prompt, 8, &continuation, &generated).ok());
  ASSERT_FALSE(continuation.empty());
  std::vector<int32_t> sequence = prompt;
  sequence.insert(sequence.end(), continuation.begin(), continuation.end());
  ASSERT_EQ(generated.rows(), sequence.size() - 1);
  sequence.pop_back();
  ASSERT_TRUE(engine::Forward(ctx.get(), sequence, &forced).ok());
  ASSERT_EQ(forced.rows(), generated.rows());
  for (size_t i = 0; i < forced.rows(); ++i) {
    const float* p = generated.p_row(i);
    const float* q = forced.p_row(i);
    double tv = 0, sum = 0;
    for (int v = 0; v < forced.n_vocab; ++v) {
      tv += std::abs(p[v] - q[v]);
      sum += q[v];
      ASSERT_NEAR(std::exp(forced.logp_row(i)[v]), q[v], 1e-6);
    }
    EXPECT_NEAR(sum, 1.0, 1e-4) << "row " << i;
    EXPECT_LT(0.5 * tv, 1e-3) << "row " << i << ": batched and incremental passes differ only numerically";
    // Greedy: each continuation token is the argmax of the row before it.
    if (i + 1 >= prompt.size()) {
      const size_t j = i + 1 - prompt.size();
      EXPECT_EQ(std::max_element(q, q + forced.n_vocab) - q, continuation[j]) << "position " << i;
      EXPECT_EQ(forced.argmax[i], continuation[j]) << "position " << i;
    }
  }
}

TEST(Score, MatchesHandComputedDistances) {
  engine::Distributions a, b;
  a.n_vocab = b.n_vocab = 3;
  a.p = {0.5f, 0.3f, 0.2f, 1.0f, 0.0f, 0.0f};
  b.p = {0.2f, 0.3f, 0.5f, 1.0f, 0.0f, 0.0f};
  // As llama.cpp's softmax gives them: probabilities that underflow to 0 keep a finite log.
  for (auto* d : {&a, &b}) d->logp = {std::log(d->p[0]), std::log(d->p[1]), std::log(d->p[2]), 0.0f, -200.0f, -200.0f};
  a.argmax = {0, 0};
  b.argmax = {2, 0};
  verify::ChallengeScore s;
  ASSERT_TRUE(verify::ScoreChallenge(a, b, {0, 0}, verify::Distance::kJensenShannon, &s).ok());
  EXPECT_NEAR(s.mean_tv, (0.3 + 0.0) / 2, 1e-6);
  const double kl = 0.5 * std::log(0.5 / 0.2) + 0.2 * std::log(0.2 / 0.5);
  EXPECT_NEAR(s.mean_kl, kl / 2, 1e-6);
  const double js = 0.5 * (0.5 * std::log(0.5 / 0.35) + 0.2 * std::log(0.2 / 0.35)) +
                    0.5 * (0.2 * std::log(0.2 / 0.35) + 0.5 * std::log(0.5 / 0.35));
  EXPECT_NEAR(s.mean_js, js / std::log(2.0) / 2, 1e-6);
  EXPECT_DOUBLE_EQ(s.score, s.mean_js);
  EXPECT_DOUBLE_EQ(s.top1_agreement, 0.5);  // argmax 0 vs 2, then 0 vs 0
  EXPECT_NEAR(s.mean_abs_dnll, std::abs(std::log(0.5) - std::log(0.2)) / 2, 1e-6);
  EXPECT_EQ(s.positions, 2u);
  EXPECT_FALSE(verify::ScoreChallenge(a, b, {0}, verify::Distance::kTotalVariation, &s).ok()) << "row count";
}

struct Pair {
  const char* name;
  std::string cand_args;
  const char* expected;
};

// The lines of a run's transcript (header, records, outcome).
std::vector<json> Transcript(const std::string& path) {
  std::vector<json> lines;
  std::istringstream in(test::Slurp(path));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

json Verify(const std::string& args, test::TempDir& dir, const std::string& run) {
  auto r = RunPot("verify --mode audit --json -o " + dir.File(run) + " " + args);
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << args << ": " << r.err;
  return json::parse(r.out, nullptr, false);
}

// The acceptance table of docs/verify.md, in mode audit: same weights (also under other numerics and
// after 8-bit or 4-bit quantization) give SAME; every other model gives DIFFERENT.
TEST(VerifyAcceptance, ForgeFamilyInAuditMode) {
  test::TempDir dir;
  const Pair pairs[] = {
      {"base", "--cand " + Member("base"), "SAME"},
      {"base-copy", "--cand " + Member("base-copy"), "SAME"},
      {"base-ubatch7", "--cand " + Member("base") + " --cand-ubatch 7", "SAME"},
      {"base-flash", "--cand " + Member("base") + " --cand-flash-attn", "SAME"},
      {"base-q8_0", "--cand " + Member("base-q8_0"), "SAME"},
      {"base-q4_0", "--cand " + Member("base-q4_0"), "SAME"},
      {"finetune", "--cand " + Member("finetune"), "DIFFERENT"},
      {"sibling", "--cand " + Member("sibling"), "DIFFERENT"},
      {"scale", "--cand " + Member("scale"), "DIFFERENT"},
      {"distilled", "--cand " + Member("distilled"), "DIFFERENT"},
      {"copy-generated", "--cand " + Member("base-copy") + " --tokens 16", "SAME"},
      {"finetune-generated", "--cand " + Member("finetune") + " --tokens 16", "DIFFERENT"},
  };
  for (const auto& p : pairs) {
    const json j = Verify("--ref " + Member("base") + " " + p.cand_args, dir, p.name);
    ASSERT_TRUE(j.is_object()) << p.name;
    EXPECT_EQ(j["decision"], p.expected) << p.name;
    const uint64_t n = j["n_used"];
    EXPECT_LE(n, 128u) << p.name;
    // Every scored challenge is on disk, and the last record's bounds are the result's.
    const auto lines = Transcript(dir.File(std::string(p.name) + "/transcript.jsonl"));
    ASSERT_EQ(lines.size(), n + 2) << p.name << ": header, one record per challenge, outcome";
    EXPECT_EQ(lines.front()["type"], "header");
    EXPECT_EQ(lines.back()["type"], "outcome");
    EXPECT_EQ(lines.back()["decision"], p.expected);
    const json& last = lines[n];
    EXPECT_EQ(last["index"], n - 1);
    EXPECT_DOUBLE_EQ(last["lower"].get<double>(), j["lower"].get<double>());
    EXPECT_DOUBLE_EQ(last["upper"].get<double>(), j["upper"].get<double>());
    EXPECT_TRUE(std::filesystem::exists(dir.File(std::string(p.name) + "/run.key")));
  }
}

TEST(VerifyAcceptance, DifferentVocabulariesAreRefused) {
  test::TempDir dir;
  auto r = RunPot("verify --ref " + Member("base") + " --cand " + Member("other-tokenizer") + " -o " + dir.File("run"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("different vocabularies"), std::string::npos) << r.err;
  EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("run"))) << "refused before any key or directory is made";
}

// A model whose output norm is NaN makes every logit NaN: the run stops with the challenge named, exit 4,
// and no score is recorded for it.
TEST(VerifyAcceptance, ScoringFailureAbortsWithoutImputing) {
  test::TempDir dir;
  const std::string broken = dir.File("broken.gguf");
  std::filesystem::copy_file(Member("base"), broken);
  gguf::File f;
  ASSERT_TRUE(gguf::Read(Env::Default(), broken, &f).ok());
  const auto it = std::find_if(f.tensors.begin(), f.tensors.end(),
                               [](const gguf::TensorInfo& t) { return t.name == "output_norm.weight"; });
  ASSERT_NE(it, f.tensors.end());
  ASSERT_EQ(it->type, 0u) << "expected an f32 norm";
  {
    std::fstream out(broken, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(static_cast<std::streamoff>(it->file_offset));
    const float nan = std::nanf("");
    for (uint64_t i = 0; i < it->n_elements; ++i) out.write(reinterpret_cast<const char*>(&nan), 4);
  }
  auto r = RunPot("verify --ref " + Member("base") + " --cand " + broken + " -o " + dir.File("run"));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("challenge 0: non-finite logits"), std::string::npos) << r.err;
  EXPECT_EQ(test::CountLines(r.err), 2) << "the commitment line and the one-line error: " << r.err;
  const auto lines = Transcript(dir.File("run/transcript.jsonl"));
  ASSERT_EQ(lines.size(), 1u) << "the header only: no record, no outcome";
  EXPECT_EQ(lines[0]["type"], "header");
  EXPECT_FALSE(std::filesystem::exists(dir.File("run/result.json")));
}

TEST(VerifyCli, BadInputsGiveOneLineErrors) {
  test::TempDir dir;
  auto missing = RunPot("verify --ref " + dir.File("absent.gguf") + " --cand " + Member("base") + " -o " + dir.File("a"));
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  auto mode = RunPot("verify --ref " + Member("base") + " --cand " + Member("base") + " --mode sloppy");
  EXPECT_EQ(mode.exit_code, 2) << mode.err;
  test::WriteBytes(dir.File("bad.key"), "{not json");
  auto key = RunPot("verify --ref " + Member("base") + " --cand " + Member("base") + " --key " + dir.File("bad.key") +
                    " -o " + dir.File("b"));
  EXPECT_EQ(key.exit_code, 3) << key.err;
  EXPECT_EQ(test::CountLines(key.err), 1) << key.err;
}

TEST(VerifyCli, CommittedKeyFixesTheChallengesAndCapsTheBudget) {
  test::TempDir dir;
  ASSERT_EQ(RunPot("challenge commit --family templates -n 5 -o " + dir.File("k.key")).exit_code, 0);
  auto r = RunPot("verify --json --ref " + Member("base") + " --cand " + Member("base-copy") + " --key " +
                  dir.File("k.key") + " -o " + dir.File("run"));
  // Five committed challenges cannot reach SAME at audit's levels (21 are needed): UNDECIDED, exit 5.
  EXPECT_EQ(r.exit_code, 5) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["decision"], "UNDECIDED");
  EXPECT_EQ(j["n_used"], 5);
  auto listed = RunPot("challenge list --key " + dir.File("k.key") + " -n 5 --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json first = Transcript(dir.File("run/transcript.jsonl"))[1];
  EXPECT_NE(listed.out.find(first["prompt"].get<std::string>()), std::string::npos)
      << "the run scored the committed challenge 0";
  EXPECT_NE(RunPot("verify --ref " + Member("base") + " --cand " + Member("base") + " --key " + dir.File("k.key") +
                   " -o " + dir.File("run")).exit_code, 0) << "a run directory is never overwritten";
}

}  // namespace
}  // namespace pot
