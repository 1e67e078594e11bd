// pot reference build and pot verify --reference on the forged family: the same verdicts as with both
// models loaded, bundles that audit and rescore from the file, and clear refusals of every bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "crypto/ed25519.h"
#include "reference/reference.h"
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

  // verify --reference against base.potref, its signer pinned unless trust says otherwise.
  static std::string Verify(const std::string& cand, const std::string& extra = "",
                            const std::string& trust = "--trust " + dir_->File("signer.pub")) {
    return "verify --quiet --json --reference " + dir_->File("base.potref") + " --key " + dir_->File("k.key") +
           " --cand " + Member(cand) + " " + trust + " " + extra;
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
  const std::string trust = " --trust " + dir_->File("signer.pub") + " --reference-trust " + dir_->File("signer.pub");
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

// The forgery of issue 13: a file built from finetune, relabelled as base and signed by a key nobody
// trusts. Verify refuses it unless the signer is pinned or the user opts out by name (recorded); an
// auditor holding the real base recomputes the records and fails the file; so does reference info.
TEST_F(ReferenceTest, ForgedReferenceFileIsRefusedAndFailsAuditWithTheRealModel) {
  ASSERT_EQ(RunPot("reference build " + Member("finetune") + " --key " + dir_->File("k.key") + " --sign " +
                   dir_->File("intruder") + " -n 64 -o " + dir_->File("finetune.potref") + " --quiet")
                .exit_code,
            0);
  reference::File genuine, finetune;
  ASSERT_TRUE(reference::ReadFile(Env::Default(), dir_->File("base.potref"), &genuine).ok());
  ASSERT_TRUE(reference::ReadFile(Env::Default(), dir_->File("finetune.potref"), &finetune).ok());
  reference::Header forged_header = finetune.header;
  forged_header.model = genuine.header.model;  // the label says base
  std::vector<std::string> records(finetune.challenges.size());
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_TRUE(reference::EncodeChallenge(forged_header, finetune.challenges[i], &records[i]).ok());
  }
  SigningKey intruder;
  ASSERT_TRUE(ReadSigningKey(Env::Default(), dir_->File("intruder"), &intruder).ok());
  std::string forged;
  ASSERT_TRUE(reference::Assemble(forged_header, records, intruder, &forged).ok());
  const std::string forged_path = dir_->File("forged.potref");
  test::WriteBytes(forged_path, forged);
  const std::string verify = "verify --quiet --json --reference " + forged_path + " --key " + dir_->File("k.key") +
                             " --cand " + Member("finetune") + " --n-max 64 ";

  // Verify: no pinned signer, no run; the wrong pin, refused; the loud opt-out runs, warns and records it.
  auto unpinned = RunPot(verify + "-o " + dir_->File("forged-none"));
  EXPECT_EQ(unpinned.exit_code, 2) << unpinned.err;
  EXPECT_NE(unpinned.err.find("needs --trust"), std::string::npos) << unpinned.err;
  auto wrong_pin = RunPot(verify + "--trust " + dir_->File("signer.pub") + " -o " + dir_->File("forged-pinned"));
  EXPECT_EQ(wrong_pin.exit_code, 3) << wrong_pin.err;
  EXPECT_NE(wrong_pin.err.find("not the trusted key"), std::string::npos) << wrong_pin.err;
  auto opted_out = RunPot(verify + "--accept-any-reference-signer --sign " + dir_->File("intruder") + " -o " +
                          dir_->File("forged-run"));
  ASSERT_EQ(opted_out.exit_code, 0) << opted_out.err;  // SAME: finetune matches what the file holds
  EXPECT_NE(opted_out.err.find("WARNING"), std::string::npos) << opted_out.err;
  EXPECT_EQ(json::parse(opted_out.out)["reference_file"]["signer_trust"], "unpinned");
  const std::string transcript = test::Slurp(dir_->File("forged-run/transcript.jsonl"));
  EXPECT_EQ(json::parse(transcript.substr(0, transcript.find('\n')))["reference_file"]["signer_trust"], "unpinned");

  // Audit trusting the forger as bundle signer: without a trusted reference signer the file's origin fails...
  const std::string bundle = dir_->File("forged-run/bundle.json");
  const std::string audit = "audit " + bundle + " --trust " + dir_->File("intruder.pub") + " --cand " +
                            Member("finetune") + " --reference " + forged_path + " --rescore";
  auto no_reference_trust = RunPot(audit);
  EXPECT_EQ(no_reference_trust.exit_code, 1) << no_reference_trust.out;
  EXPECT_NE(no_reference_trust.out.find("FAIL  reference signer trusted"), std::string::npos) << no_reference_trust.out;
  EXPECT_NE(no_reference_trust.out.find("did NOT pin it"), std::string::npos) << no_reference_trust.out;
  EXPECT_NE(no_reference_trust.out.find("SKIP  reference file records"), std::string::npos) << no_reference_trust.out;
  // ...and with the real base at hand, even an auditor who trusts the forger's key fails the records.
  auto with_base = RunPot(audit + " --reference-trust " + dir_->File("intruder.pub") + " --ref " + Member("base") + " --json");
  EXPECT_EQ(with_base.exit_code, 1) << with_base.out;
  const json checks = json::parse(with_base.out)["checks"];
  std::map<std::string, bool> passed;
  for (const auto& c : checks) passed[c["check"]] = c["passed"];
  EXPECT_TRUE(passed.at("reference signer trusted"));
  EXPECT_TRUE(passed.at("reference model")) << "the label is the real base's manifest";
  EXPECT_FALSE(passed.at("reference file records"));
  EXPECT_TRUE(passed.at("rescore")) << "the scores are what the forged file gives";

  // reference info: the forged file is not reproduced by base, the genuine one is, all or a sample.
  auto info_forged = RunPot("reference info " + forged_path + " --model " + Member("base") + " --quiet");
  EXPECT_EQ(info_forged.exit_code, 1) << info_forged.out << info_forged.err;
  EXPECT_NE(info_forged.out.find("NOT REPRODUCED"), std::string::npos) << info_forged.out;
  auto info_genuine = RunPot("reference info " + dir_->File("base.potref") + " --model " + Member("base") + " --key " +
                             dir_->File("k.key") + " --json --quiet");
  ASSERT_EQ(info_genuine.exit_code, 0) << info_genuine.out << info_genuine.err;
  EXPECT_EQ(json::parse(info_genuine.out)["records_checked"], 96);
  auto sampled = RunPot("reference info " + dir_->File("base.potref") + " --model " + Member("base-copy") +
                        " --sample 5 --json --quiet");
  EXPECT_EQ(sampled.exit_code, 1) << "base-copy has other file names than the model the file names";
  auto sampled_base = RunPot("reference info " + dir_->File("base.potref") + " --model " + Member("base") +
                             " --sample 5 --json --quiet");
  ASSERT_EQ(sampled_base.exit_code, 0) << sampled_base.out;
  EXPECT_EQ(json::parse(sampled_base.out)["records_checked"], 5);

  // The genuine file audits clean with the real base: records recomputed, reference signer pinned.
  auto genuine_run = RunPot(Verify("base-q4_0", "--sign " + dir_->File("signer") + " -o " + dir_->File("genuine-run")));
  ASSERT_EQ(genuine_run.exit_code, 0) << genuine_run.err;
  auto genuine_audit = RunPot("audit " + dir_->File("genuine-run/bundle.json") + " --trust " + dir_->File("signer.pub") +
                              " --reference-trust " + dir_->File("signer.pub") + " --models " + Member("base") + "," +
                              Member("base-q4_0") + " --reference " + dir_->File("base.potref") + " --recheck-sample 8");
  EXPECT_EQ(genuine_audit.exit_code, 0) << genuine_audit.out;
  EXPECT_NE(genuine_audit.out.find("PASS  reference file records"), std::string::npos) << genuine_audit.out;
  EXPECT_NE(genuine_audit.out.find("pinned it with --trust"), std::string::npos) << genuine_audit.out;
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
      {Verify("base-copy", "", "--trust " + dir_->File("intruder.pub")), 3, "not the trusted key"},
      {Verify("base-copy", "", ""), 2, "needs --trust"},
      {Verify("base-copy", "--accept-any-reference-signer"), 2, "not both"},
      {"verify --reference " + ref + " --key " + dir_->File("other.key") + " --cand " + Member("base-copy") +
           " --trust " + dir_->File("signer.pub"), 2,
       "not the one the reference file was built with"},
      {"verify --reference " + ref + " --cand " + Member("base-copy"), 2, "needs --key"},
      {Verify("other-tokenizer"), 3, "different vocabularies"},
      {Verify("base-copy", "--distance js"), 2, "tv distance only"},
      {Verify("base-copy", "--tokens 4"), 2, "--tokens differs"},
      {"verify --reference " + dir_->File("tampered.potref") + " --key " + dir_->File("k.key") + " --cand " +
           Member("base-copy") + " --trust " + dir_->File("signer.pub"), 3, "signature"},
      {"verify --reference " + dir_->File("short.potref") + " --key " + dir_->File("k.key") + " --cand " +
           Member("base-copy") + " --trust " + dir_->File("signer.pub"), 3, "truncated"},
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
