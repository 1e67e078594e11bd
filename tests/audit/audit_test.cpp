// Evidence bundles from real pot verify runs, audited clean and tampered with every way we could think of.
#include "audit/audit.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/hmac.h"
#include "evidence/bundle.h"
#include "evidence/transcript.h"
#include "stats/sequential.h"
#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// One signed run of base against finetune (DIFFERENT after a handful of challenges), shared by the tests.
class AuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    ASSERT_EQ(RunPot("keygen -o " + dir_->File("signer")).exit_code, 0);
    ASSERT_EQ(RunPot("keygen -o " + dir_->File("intruder")).exit_code, 0);
    auto r = RunPot("verify --quiet --ref " + Member("base") + " --cand " + Member("finetune") + " --sign " +
                    dir_->File("signer") + " -o " + dir_->File("run"));
    ASSERT_EQ(r.exit_code, 1) << r.err;  // DIFFERENT
    bundle_ = new std::string(test::Slurp(dir_->File("run/bundle.json")));
  }
  static void TearDownTestSuite() {
    delete bundle_;
    delete dir_;
  }

  static audit::Options Trusting(const std::string& key_name = "signer") {
    audit::Options o;
    o.trusted_key.emplace();
    EXPECT_TRUE(ReadPublicKey(Env::Default(), dir_->File(key_name + ".pub"), &*o.trusted_key).ok());
    return o;
  }

  static audit::Report Audit(const std::string& text, const audit::Options& options) {
    audit::Report report;
    EXPECT_TRUE(audit::AuditBundle(Env::Default(), text, options, &report).ok());
    return report;
  }

  static std::vector<std::string> Failed(const audit::Report& r) {
    std::vector<std::string> names;
    for (const auto& c : r.checks) {
      if (!c.passed && !c.skipped) names.push_back(c.name);
    }
    return names;
  }

  // Re-signs a bundle whose transcript was edited, with a correct root: what a signer who lies would make.
  static std::string Resign(const std::string& text, const std::vector<std::string>& lines, const std::string& key) {
    evidence::Bundle b;
    EXPECT_TRUE(evidence::ParseBundle(text, &b).ok());
    evidence::Claim claim;
    EXPECT_TRUE(evidence::ParseStatement(b.payload, &claim).ok());
    claim.transcript_root = evidence::TranscriptRoot(lines);
    claim.transcript_size = lines.size();
    SigningKey signer;
    EXPECT_TRUE(ReadSigningKey(Env::Default(), dir_->File(key), &signer).ok());
    std::string out;
    EXPECT_TRUE(evidence::MakeBundle(signer, claim, lines, &out).ok());
    return out;
  }

  static std::vector<std::string> Lines() {
    evidence::Bundle b;
    EXPECT_TRUE(evidence::ParseBundle(*bundle_, &b).ok());
    return b.transcript;
  }

  static test::TempDir* dir_;
  static std::string* bundle_;
};
test::TempDir* AuditTest::dir_ = nullptr;
std::string* AuditTest::bundle_ = nullptr;

TEST_F(AuditTest, FreshBundleAuditsClean) {
  const audit::Report r = Audit(*bundle_, Trusting());
  EXPECT_TRUE(r.passed()) << ::testing::PrintToString(Failed(r));
  EXPECT_EQ(r.transcript.outcome.decision, stats::Decision::kDifferent);
  EXPECT_GE(r.checks.size(), 10u);
  // Through the CLI, with the models and every score recomputed.
  auto cli = RunPot("audit " + dir_->File("run/bundle.json") + " --trust " + dir_->File("signer.pub") + " --models " +
                    Member("base") + "," + Member("finetune") + " --rescore --json");
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  const auto j = nlohmann::json::parse(cli.out);
  EXPECT_EQ(j["passed"], true);
  EXPECT_EQ(j["decision"], "DIFFERENT");
  EXPECT_EQ(j["checks"].back()["check"], "rescore");
}

// Checks an audit could not do are listed as skipped, naming what they need, and neither pass nor fail.
TEST_F(AuditTest, ChecksWithoutTheirInputsAreSkippedByName) {
  auto r = RunPot("audit " + dir_->File("run/bundle.json") + " --trust " + dir_->File("signer.pub"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("SKIP  reference model"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SKIP  candidate model"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SKIP  rescore"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("reference file"), std::string::npos) << "a two-model bundle has no reference file to check";
  auto with_models = RunPot("audit " + dir_->File("run/bundle.json") + " --trust " + dir_->File("signer.pub") +
                            " --models " + Member("base") + "," + Member("finetune"));
  EXPECT_EQ(with_models.out.find("SKIP  reference model"), std::string::npos) << with_models.out;
  EXPECT_NE(with_models.out.find("PASS  reference model"), std::string::npos) << with_models.out;
  audit::Report only_skips;
  only_skips.checks.push_back({"rescore", false, true, "not asked for"});
  EXPECT_FALSE(only_skips.passed()) << "an audit that checked nothing does not pass";
}

TEST_F(AuditTest, EverySingleByteFlipIsRejected) {
  const audit::Options options = Trusting();
  size_t accepted = 0;
  for (size_t i = 0; i < bundle_->size(); ++i) {
    for (unsigned char mask : {0x01, 0x80}) {
      std::string flipped = *bundle_;
      flipped[i] = static_cast<char>(flipped[i] ^ mask);
      if (Audit(flipped, options).passed()) {
        ++accepted;
        ADD_FAILURE() << "byte " << i << " ^ " << int(mask) << " accepted";
      }
    }
    if (accepted > 5) break;
  }
  EXPECT_EQ(accepted, 0u);
}

TEST_F(AuditTest, UntrustedOrMissingSignerIsRejected) {
  EXPECT_EQ(Failed(Audit(*bundle_, Trusting("intruder"))), std::vector<std::string>{"signer trusted"});
  EXPECT_EQ(Failed(Audit(*bundle_, audit::Options{})), std::vector<std::string>{"signer trusted"});
  // The whole bundle re-signed by another key: valid signature, wrong signer.
  const std::string resigned = Resign(*bundle_, Lines(), "intruder");
  EXPECT_EQ(Failed(Audit(resigned, Trusting())), std::vector<std::string>{"signer trusted"});
}

TEST_F(AuditTest, EditedTranscriptsAreDetectedEvenWhenResigned) {
  const std::vector<std::string> lines = Lines();
  ASSERT_GE(lines.size(), 5u);  // header, >= 3 records, outcome
  auto records_dropped = lines;
  records_dropped.erase(records_dropped.begin() + 2);
  auto duplicated = lines;
  duplicated.insert(duplicated.begin() + 2, lines[2]);
  auto reordered = lines;
  std::swap(reordered[1], reordered[2]);
  auto edited = lines;
  auto record = nlohmann::ordered_json::parse(lines[1]);
  record["score"] = record["score"].get<double>() * 0.5;
  record["tv"] = record["score"];
  edited[1] = record.dump();
  auto prompt = lines;
  record = nlohmann::ordered_json::parse(lines[1]);
  record["prompt"] = record["prompt"].get<std::string>() + " ";
  prompt[1] = record.dump();
  const std::pair<const char*, std::vector<std::string>> cases[] = {
      {"dropped", records_dropped}, {"duplicated", duplicated}, {"reordered", reordered},
      {"edited score", edited},     {"edited prompt", prompt}};
  for (const auto& [name, changed] : cases) {
    // Swapped into the signed bundle: the root no longer matches.
    std::string text = *bundle_;
    evidence::Bundle b;
    ASSERT_TRUE(evidence::ParseBundle(text, &b).ok());
    auto j = nlohmann::ordered_json::parse(text);
    j["transcript"] = changed;
    const auto unsigned_failures = Failed(Audit(j.dump() + "\n", Trusting()));
    EXPECT_NE(std::find(unsigned_failures.begin(), unsigned_failures.end(), "transcript root"), unsigned_failures.end())
        << name;
    // Re-signed by the trusted key with a correct root: the content checks still fail.
    const auto failures = Failed(Audit(Resign(*bundle_, changed, "signer"), Trusting()));
    EXPECT_FALSE(failures.empty()) << name;
    for (const auto& f : failures) EXPECT_TRUE(f == "challenges" || f == "decision") << name << ": " << f;
  }
}

// Bundles before transcript version 6 name no bets: they mean the plug-in bets, the only ones then, and the
// audit replays them so. The run's transcript relabelled as version 5 (no test.bet) audits exactly as with
// "bet":"plug-in": everything passes when the plug-in test stops where the run (GRAPA) stopped, and only
// "decision" fails otherwise.
TEST_F(AuditTest, AVersion5BundleIsReplayedWithThePlugInBets) {
  const std::vector<std::string> lines = Lines();
  auto header = nlohmann::ordered_json::parse(lines[0]);
  ASSERT_EQ(header["version"], 6);
  ASSERT_EQ(header["test"]["bet"], "grapa");
  auto as_plug_in = lines, as_v5 = lines;
  header["test"]["bet"] = "plug-in";
  as_plug_in[0] = header.dump();
  header["version"] = 5;
  header["test"].erase("bet");
  as_v5[0] = header.dump();
  // Re-signed with the edited header in the statement too: what an older pot would have signed.
  auto resign = [&](const std::vector<std::string>& changed) {
    evidence::Bundle b;
    EXPECT_TRUE(evidence::ParseBundle(*bundle_, &b).ok());
    evidence::Claim claim;
    EXPECT_TRUE(evidence::ParseStatement(b.payload, &claim).ok());
    evidence::Transcript t;
    EXPECT_TRUE(evidence::ParseTranscript(changed, &t).ok());
    claim.header = t.header;
    claim.transcript_root = evidence::TranscriptRoot(changed);
    claim.transcript_size = changed.size();
    SigningKey signer;
    EXPECT_TRUE(ReadSigningKey(Env::Default(), dir_->File("signer"), &signer).ok());
    std::string out;
    EXPECT_TRUE(evidence::MakeBundle(signer, claim, changed, &out).ok());
    return out;
  };
  // Where the plug-in test stops on the recorded scores.
  evidence::Transcript t;
  ASSERT_TRUE(evidence::ParseTranscript(lines, &t).ok());
  stats::TestParams p = t.header.test;
  p.bet = stats::Bet::kPlugIn;
  stats::SequentialTest plug_in(p);
  stats::Decision d = stats::Decision::kUndecided;
  for (const auto& r : t.records) {
    if (plug_in.done()) break;
    ASSERT_TRUE(plug_in.Add(r.score.score, &d).ok());
  }
  const bool same_stop = plug_in.done() && d == t.outcome.decision && plug_in.cs().n() == t.records.size();
  const auto v5_failures = Failed(Audit(resign(as_v5), Trusting()));
  EXPECT_EQ(v5_failures, Failed(Audit(resign(as_plug_in), Trusting())));
  EXPECT_EQ(v5_failures, same_stop ? std::vector<std::string>{} : std::vector<std::string>{"decision"})
      << "plug-in stops after " << plug_in.cs().n() << " of " << t.records.size();
}

TEST_F(AuditTest, OtherModelsAndWrongKeysAreNamed) {
  audit::Options options = Trusting();
  options.reference_model = Member("base");
  options.candidate_model = Member("sibling");
  EXPECT_EQ(Failed(Audit(*bundle_, options)), std::vector<std::string>{"candidate model"});
  // A revealed key that does not open the commitment.
  evidence::Bundle b;
  ASSERT_TRUE(evidence::ParseBundle(*bundle_, &b).ok());
  evidence::Claim claim;
  ASSERT_TRUE(evidence::ParseStatement(b.payload, &claim).ok());
  claim.key_hex[0] = claim.key_hex[0] == '0' ? '1' : '0';
  SigningKey signer;
  ASSERT_TRUE(ReadSigningKey(Env::Default(), dir_->File("signer"), &signer).ok());
  std::string text;
  ASSERT_TRUE(evidence::MakeBundle(signer, claim, b.transcript, &text).ok());
  EXPECT_EQ(Failed(Audit(text, Trusting())), std::vector<std::string>{"commitment"});
}

TEST_F(AuditTest, CliNamesFailuresAndExitsNonZero) {
  std::string flipped = *bundle_;
  flipped[flipped.size() / 2] ^= 1;
  test::WriteBytes(dir_->File("flipped.json"), flipped);
  auto r = RunPot("audit " + dir_->File("flipped.json") + " --trust " + dir_->File("signer.pub"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("AUDIT FAILED"), std::string::npos) << r.out;
  auto missing = RunPot("audit " + dir_->File("absent.json") + " --trust " + dir_->File("signer.pub"));
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  auto bad_trust = RunPot("audit " + dir_->File("run/bundle.json") + " --trust " + dir_->File("signer"));
  EXPECT_EQ(bad_trust.exit_code, 3) << bad_trust.err;
}

}  // namespace
}  // namespace pot
