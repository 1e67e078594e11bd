// pot reference build and pot verify --reference on the forged family: the same verdicts as with both
// models loaded, bundles that audit and rescore from the file, and clear refusals of every bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace pot {
namespace {

using json = nlohmann::json;
using test::RunPot;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

class ReferenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    ASSERT_EQ(RunPot("keygen -o " + dir_->File("signer")).exit_code, 0);
    ASSERT_EQ(RunPot("keygen -o " + dir_->File("intruder")).exit_code, 0);
    ASSERT_EQ(RunPot("challenge commit --family templates -n 128 -o " + dir_->File("k.key")).exit_code, 0);
    ASSERT_EQ(RunPot("challenge commit --family templates -n 128 -o " + dir_->File("other.key")).exit_code, 0);
    auto r = RunPot("reference build " + Member("base") + " --key " + dir_->File("k.key") + " --sign " +
                    dir_->File("signer") + " -n 96 -o " + dir_->File("base.potref") + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Verify(const std::string& cand, const std::string& extra = "") {
    return "verify --quiet --json --reference " + dir_->File("base.potref") + " --key " + dir_->File("k.key") +
           " --cand " + Member(cand) + " " + extra;
  }

  static test::TempDir* dir_;
};
test::TempDir* ReferenceTest::dir_ = nullptr;

TEST_F(ReferenceTest, InfoShowsTheFileAndChecksItsSigner) {
  auto r = RunPot("reference info " + dir_->File("base.potref") + " --json --trust " + dir_->File("signer.pub"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["n"], 96);
  EXPECT_EQ(j["topk"], 4);
  EXPECT_EQ(j["tail_samples"], 4);
  EXPECT_EQ(j["signer_trusted"], true);
  EXPECT_EQ(j["model"]["files"][0], "base.gguf");
  auto untrusted = RunPot("reference info " + dir_->File("base.potref") + " --trust " + dir_->File("intruder.pub"));
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.out.find("NOT the trusted key"), std::string::npos);
}

TEST_F(ReferenceTest, VerdictsMatchTheTwoModelRun) {
  // Expected verdicts as in VerifyAcceptance.ForgeFamilyInAuditMode: copies and quantizations SAME, the
  // rest DIFFERENT; the two-model run of each pair with the same key must agree.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"base-copy", "SAME"}, {"base-q4_0", "SAME"}, {"finetune", "DIFFERENT"}, {"sibling", "DIFFERENT"},
      {"distilled", "DIFFERENT"}};
  for (const auto& [member, expected] : pairs) {
    auto r = RunPot(Verify(member, "-o " + dir_->File("run-" + member)));
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << member << ": " << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["decision"], expected) << member;
    auto both = RunPot("verify --quiet --json --ref " + Member("base") + " --cand " + Member(member) + " --key " +
                       dir_->File("k.key") + " -o " + dir_->File("pair-" + member));
    EXPECT_EQ(json::parse(both.out)["decision"], expected) << member << " with both models";
    const std::string header = test::Slurp(dir_->File("run-" + member + "/transcript.jsonl"));
    const json h = json::parse(header.substr(0, header.find('\n')));
    EXPECT_EQ(h["reference_file"]["name"], "base.potref");
    EXPECT_EQ(h["reference"]["files"][0], "base.gguf") << "the transcript still names the reference model";
  }
}

TEST_F(ReferenceTest, SignedBundleAuditsAndRescoresFromTheFile) {
  auto r = RunPot(Verify("finetune", "--sign " + dir_->File("signer") + " -o " + dir_->File("signed")));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const std::string bundle = dir_->File("signed/bundle.json");
  const std::string trust = " --trust " + dir_->File("signer.pub");
  auto audit = RunPot("audit " + bundle + trust + " --cand " + Member("finetune") + " --reference " +
                      dir_->File("base.potref") + " --rescore --json");
  ASSERT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  const json j = json::parse(audit.out);
  std::vector<std::string> names;
  for (const auto& c : j["checks"]) names.push_back(c["check"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "reference file"), names.end());
  EXPECT_EQ(names.back(), "rescore");
  // The reference model itself can be checked against the bundle too.
  EXPECT_EQ(RunPot("audit " + bundle + trust + " --models " + Member("base") + "," + Member("finetune")).exit_code, 0);
  // Another reference file (same model, another key) is not the one the bundle was scored against.
  ASSERT_EQ(RunPot("reference build " + Member("base") + " --key " + dir_->File("other.key") + " --sign " +
                   dir_->File("signer") + " -n 8 -o " + dir_->File("other.potref") + " --quiet")
                .exit_code,
            0);
  auto wrong = RunPot("audit " + bundle + trust + " --cand " + Member("finetune") + " --reference " +
                      dir_->File("other.potref") + " --rescore");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.out.find("FAIL  reference file"), std::string::npos) << wrong.out;
  // Rescoring needs the file: the candidate alone is a usage error.
  EXPECT_EQ(RunPot("audit " + bundle + trust + " --cand " + Member("finetune") + " --rescore").exit_code, 2);
}

TEST_F(ReferenceTest, BadInputsGiveOneLineErrors) {
  struct Case {
    std::string args;
    int exit_code;
    std::string message;
  };
  const std::string ref = dir_->File("base.potref");
  std::string tampered = test::Slurp(ref);
  tampered[tampered.size() / 2] ^= 0x20;
  test::WriteBytes(dir_->File("tampered.potref"), tampered);
  test::WriteBytes(dir_->File("short.potref"), tampered.substr(0, 100));
  const std::vector<Case> cases = {
      {Verify("base-copy", "--trust " + dir_->File("intruder.pub")), 3, "not the trusted key"},
      {"verify --reference " + ref + " --key " + dir_->File("other.key") + " --cand " + Member("base-copy"), 2,
       "not the one the reference file was built with"},
      {"verify --reference " + ref + " --cand " + Member("base-copy"), 2, "needs --key"},
      {Verify("other-tokenizer"), 3, "different vocabularies"},
      {Verify("base-copy", "--distance js"), 2, "tv distance only"},
      {Verify("base-copy", "--tokens 4"), 2, "--tokens differs"},
      {"verify --reference " + dir_->File("tampered.potref") + " --key " + dir_->File("k.key") + " --cand " +
           Member("base-copy"), 3, "signature"},
      {"verify --reference " + dir_->File("short.potref") + " --key " + dir_->File("k.key") + " --cand " +
           Member("base-copy"), 3, "truncated"},
      {"verify --reference " + ref + " --ref " + Member("base") + " --cand " + Member("base-copy"), 2, "either"},
      {"reference build " + Member("base") + " --key " + dir_->File("k.key") + " --sign " + dir_->File("signer") +
           " -n 500 -o " + dir_->File("x.potref"), 2, "exceeds the key's committed n_max"},
      {"reference build " + Member("base") + " --key " + dir_->File("k.key") + " --sign " + dir_->File("signer") +
           " -n 4 -o " + ref, 2, "never overwrites"},
      {"reference build " + Member("base") + " --key " + dir_->File("k.key") + " -n 4 -o " + dir_->File("y.potref"), 2,
       "--sign"},
      {"reference build " + Member("base") + " --key " + dir_->File("k.key") + " --sign " + dir_->File("signer") +
           " -n 4 --topk 21 -o " + dir_->File("y.potref"), 2, "--topk"},
      {"reference info " + dir_->File("tampered.potref"), 3, "signature"},
  };
  for (const auto& c : cases) {
    auto r = RunPot(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.err;
    EXPECT_EQ(test::CountLines(r.err), 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_->File("y.potref")));
}

}  // namespace
}  // namespace pot
