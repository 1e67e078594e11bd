// Interop (issue 18): pot's Sigstore bundles and OpenSSF Model Signing signatures, checked by verifiers
// that are not pot's: Sigstore's own @sigstore/verify (node, pinned by tests/interop/package-lock.json,
// installed by scripts/deps.sh) and oms_verify.py, the OMS key verification re-implemented step by step
// from sigstore/model-transparency's source. Each check is run on a good input and on tampered ones.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/ecdsa.h"
#include "crypto/ed25519.h"
#include "evidence/bundle.h"
#include "gguf/gguf_builder.h"
#include "sigstore/bundle.h"
#include "sigstore/oms.h"
#include "test_util.h"

namespace pot {
namespace {

using json = nlohmann::json;
using test::RunPot;
using test::RunResult;
using test::Slurp;
using test::TempDir;
using test::WriteBytes;

// Runs a shell command line, capturing both streams.
RunResult Shell(const std::string& cmd) {
  TempDir dir;
  const int raw = std::system((cmd + " >" + dir.File("out") + " 2>" + dir.File("err")).c_str());
  RunResult r;
  r.exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = Slurp(dir.File("out"));
  r.err = Slurp(dir.File("err"));
  return r;
}

// @sigstore/verify on a bundle, trusting one public key: 0 verified, 1 not.
RunResult SigstoreVerify(const std::string& bundle, const std::string& pub) {
  EXPECT_TRUE(std::filesystem::is_directory(POT_NPM_MODULES))
      << POT_NPM_MODULES << " is missing: scripts/deps.sh installs the interop npm packages";
  return Shell("node " POT_INTEROP_DIR "/sigstore_verify.mjs " + bundle + " " + pub + " " POT_NPM_MODULES);
}

// The reference OMS verification steps (oms_verify.py), as `model_signing verify key` takes its arguments.
RunResult OmsVerify(const std::string& sig, const std::string& pub, const std::string& model) {
  return Shell("python3 " POT_INTEROP_DIR "/oms_verify.py --signature " + sig + " --public_key " + pub + " " + model);
}

std::string Payload(const std::string& bundle_path) {
  sigstore::Bundle b;
  EXPECT_TRUE(sigstore::ParseBundle(Slurp(bundle_path), &b).ok());
  return b.payload;
}

// The bundle with its payload replaced (base64 re-encoded), its signature left as it was.
void WriteWithPayload(const std::string& from, const std::string& to, const std::string& payload) {
  json j = json::parse(Slurp(from));
  j["dsseEnvelope"]["payload"] = Base64Encode(payload);
  WriteBytes(to, j.dump());
}

class OmsSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunPot("keygen --type ecdsa-p256 -o " + dir_.File("signer")).exit_code, 0);
    ASSERT_EQ(RunPot("keygen --type ecdsa-p256 -o " + dir_.File("intruder")).exit_code, 0);
    ASSERT_EQ(RunPot("keygen -o " + dir_.File("ed")).exit_code, 0);
    WriteBytes(model_, test::SmallModel().Build());
    auto r = RunPot("hash " + model_ + " --sign " + dir_.File("signer") + " -o " + sig_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  int PotVerify(const std::string& sig, const std::string& pub, const std::string& model, std::string* out = nullptr) {
    auto r = RunPot("hash --verify-signature " + sig + " --trust " + pub + " " + model);
    if (out) *out = r.out + r.err;
    return r.exit_code;
  }

  TempDir dir_;
  const std::string model_ = dir_.File("tiny.gguf"), sig_ = dir_.File("tiny.sig"), pub_ = dir_.File("signer.pub");
};

TEST_F(OmsSignatureTest, PotsSignatureVerifiesWithPotOmsAndSigstore) {
  std::string out;
  EXPECT_EQ(PotVerify(sig_, pub_, model_, &out), 0) << out;
  EXPECT_NE(out.find(": OK (OpenSSF Model Signing"), std::string::npos) << out;
  auto oms = OmsVerify(sig_, pub_, model_);
  EXPECT_EQ(oms.exit_code, 0) << oms.out << oms.err;
  EXPECT_NE(oms.out.find("Verification succeeded"), std::string::npos);
  auto sigstore = SigstoreVerify(sig_, pub_);
  EXPECT_EQ(sigstore.exit_code, 0) << sigstore.out << sigstore.err;
  // The payload is the published one: a single-file model is one resource ".", pot's roots ride along.
  const json st = json::parse(Payload(sig_));
  EXPECT_EQ(st["predicateType"], "https://model_signing/signature/v1.0");
  EXPECT_EQ(st["subject"][0]["name"], "tiny.gguf");
  ASSERT_EQ(st["predicate"]["resources"].size(), 1u);
  EXPECT_EQ(st["predicate"]["resources"][0]["name"], ".");
  auto manifest = RunPot("hash --json " + model_);
  EXPECT_EQ(st["predicate"]["pot"]["root"], json::parse(manifest.out)["root"]);
  // The private key never reaches the output, and its file is the owner's alone.
  EXPECT_EQ(std::filesystem::status(dir_.File("signer")).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string secret = Slurp(dir_.File("signer"));
  auto sign = RunPot("hash " + model_ + " --sign " + dir_.File("signer") + " -o " + dir_.File("again.sig"));
  EXPECT_EQ((sign.out + sign.err).find(secret.substr(30, 40)), std::string::npos);
}

TEST_F(OmsSignatureTest, ATamperedModelFailsPotAndOms) {
  std::string bytes = Slurp(model_);
  bytes[bytes.size() - 3] ^= 0x01;  // the last tensor's data
  WriteBytes(model_, bytes);
  std::string out;
  EXPECT_EQ(PotVerify(sig_, pub_, model_, &out), 1) << out;
  EXPECT_NE(out.find(": FAILED (signature: "), std::string::npos) << out;
  EXPECT_EQ(OmsVerify(sig_, pub_, model_).exit_code, 1);
}

TEST_F(OmsSignatureTest, ATamperedPayloadFailsEveryVerifier) {
  // A resource digest changed, the subject digest made to agree: only the signature stands in the way.
  json st = json::parse(Payload(sig_));
  sigstore::ModelStatement s;
  ASSERT_TRUE(sigstore::ParseStatement(st.dump(), &s).ok());
  s.resources[0].sha256 = std::string(64, '0');
  WriteWithPayload(sig_, dir_.File("edited.sig"), sigstore::StatementJson(s));
  EXPECT_EQ(PotVerify(dir_.File("edited.sig"), pub_, model_), 1);
  EXPECT_EQ(OmsVerify(dir_.File("edited.sig"), pub_, model_).exit_code, 1);
  EXPECT_EQ(SigstoreVerify(dir_.File("edited.sig"), pub_).exit_code, 1);
  // Signed by the right key but inconsistent (subject digest not the resources'): OMS's check, and pot's.
  st["subject"][0]["digest"]["sha256"] = std::string(64, 'f');
  EcdsaKey signer;
  ASSERT_TRUE(ReadEcdsaKey(Env::Default(), dir_.File("signer"), &signer).ok());
  sigstore::Bundle b;
  b.payload_type = sigstore::kInTotoPayloadType;
  b.payload = st.dump();
  b.hint = sigstore::KeyHint(signer.public_pem);
  ASSERT_TRUE(EcdsaSign(signer, DssePae(b.payload_type, b.payload), &b.signature).ok());
  WriteBytes(dir_.File("inconsistent.sig"), sigstore::RenderBundle(b));
  EXPECT_EQ(SigstoreVerify(dir_.File("inconsistent.sig"), pub_).exit_code, 0);  // the envelope is fine
  std::string out;
  EXPECT_EQ(PotVerify(dir_.File("inconsistent.sig"), pub_, model_, &out), 1);
  EXPECT_NE(out.find("subject digest"), std::string::npos) << out;
  EXPECT_EQ(OmsVerify(dir_.File("inconsistent.sig"), pub_, model_).exit_code, 1);
}

TEST_F(OmsSignatureTest, AnotherKeyFailsAndAnEd25519KeyIsBadInput) {
  const std::string intruder = dir_.File("intruder.pub");
  EXPECT_EQ(PotVerify(sig_, intruder, model_), 1);
  EXPECT_EQ(OmsVerify(sig_, intruder, model_).exit_code, 1);
  EXPECT_EQ(SigstoreVerify(sig_, intruder).exit_code, 1);
  // OMS refuses Ed25519 keys, to sign and to verify: exit 3, one line.
  auto r = RunPot("hash --verify-signature " + sig_ + " --trust " + dir_.File("ed.pub") + " " + model_);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
  r = RunPot("hash " + model_ + " --sign " + dir_.File("ed") + " -o " + dir_.File("ed.sig"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("ECDSA P-256"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.File("ed.sig")));
  EXPECT_EQ(OmsVerify(sig_, dir_.File("ed.pub"), model_).exit_code, 1);
  EXPECT_EQ(RunPot("keygen --type rsa -o " + dir_.File("rsa")).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("rsa")));
}

TEST_F(OmsSignatureTest, HostileSignaturesAreBadInputOnOneLine) {
  const json good = json::parse(Slurp(sig_));
  auto expect_bad_input = [&](const std::string& name, const std::string& text, const std::string& says) {
    WriteBytes(dir_.File(name), text);
    auto r = RunPot("hash --verify-signature " + dir_.File(name) + " --trust " + pub_ + " " + model_);
    EXPECT_EQ(r.exit_code, 3) << name << ": " << r.out << r.err;
    EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  };
  expect_bad_input("truncated.sig", Slurp(sig_).substr(0, 100), "not a JSON object");
  expect_bad_input("binary.sig", std::string("\x00\xff\x1b[2J", 6), "not a JSON object");
  json j = good;
  j["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.2+json";
  expect_bad_input("media.sig", j.dump(), "media type");
  j = good;
  j["dsseEnvelope"]["payload"] = "%%%%";
  expect_bad_input("base64.sig", j.dump(), "malformed base64");
  j = good;
  j["verificationMaterial"].erase("publicKey");
  expect_bad_input("material.sig", j.dump(), "not a public key");
  // Missing files: the model, the signature, the key.
  auto r = RunPot("hash --verify-signature " + sig_ + " --trust " + pub_ + " " + dir_.File("gone.gguf"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(RunPot("hash --verify-signature " + dir_.File("gone.sig") + " --trust " + pub_ + " " + model_).exit_code, 3);
  EXPECT_EQ(RunPot("hash --verify-signature " + sig_ + " --trust " + dir_.File("gone.pub") + " " + model_).exit_code, 3);
  EXPECT_EQ(RunPot("hash --verify-signature " + sig_ + " " + model_).exit_code, 2);  // no --trust
}

// A split model is its directory: the resources are the shard names, the signature inside it is ignored.
TEST_F(OmsSignatureTest, ASplitModelIsSignedAsItsDirectory) {
  const std::string model_dir = dir_.File("split");
  std::filesystem::create_directory(model_dir);
  for (int shard = 0; shard < 2; ++shard) {
    WriteBytes(model_dir + "/m-0000" + std::to_string(shard + 1) + "-of-00002.gguf", test::SplitShard(shard, 2));
  }
  const std::string first = model_dir + "/m-00001-of-00002.gguf", sig = model_dir + "/model.sig";
  auto r = RunPot("hash " + first + " --sign " + dir_.File("signer") + " -o " + sig);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json st = json::parse(Payload(sig));
  EXPECT_EQ(st["subject"][0]["name"], "split");
  ASSERT_EQ(st["predicate"]["resources"].size(), 2u);
  EXPECT_EQ(st["predicate"]["resources"][1]["name"], "m-00002-of-00002.gguf");
  EXPECT_EQ(st["predicate"]["serialization"]["ignore_paths"], json::array({"model.sig"}));
  EXPECT_EQ(PotVerify(sig, pub_, first), 0);
  auto oms = OmsVerify(sig, pub_, model_dir);
  EXPECT_EQ(oms.exit_code, 0) << oms.err;
  std::filesystem::remove(model_dir + "/m-00002-of-00002.gguf");
  EXPECT_EQ(OmsVerify(sig, pub_, model_dir).exit_code, 1);
  EXPECT_EQ(PotVerify(sig, pub_, first), 3);  // the model itself is incomplete: bad input
}

// pot verify --sign writes bundle.sigstore.json beside bundle.json: Sigstore's verifier accepts it with the
// signer's Ed25519 key, and refuses it tampered or under another key.
TEST(EvidenceSigstoreBundle, SigstoreVerifiesPotsEvidence) {
  TempDir dir;
  ASSERT_EQ(RunPot("keygen -o " + dir.File("signer")).exit_code, 0);
  ASSERT_EQ(RunPot("keygen -o " + dir.File("intruder")).exit_code, 0);
  const std::string base = test::TestbedDir() + "/base.gguf", finetune = test::TestbedDir() + "/finetune.gguf";
  auto r = RunPot("verify --quiet --ref " + base + " --cand " + finetune + " --sign " + dir.File("signer") + " -o " +
                  dir.File("run"));
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;  // DIFFERENT
  const std::string bundle = dir.File("run/bundle.sigstore.json"), pub = dir.File("signer.pub");
  auto ok = SigstoreVerify(bundle, pub);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  // The Statement is bundle.json's, byte for byte.
  evidence::Bundle pot_bundle;
  ASSERT_TRUE(evidence::ParseBundle(Slurp(dir.File("run/bundle.json")), &pot_bundle).ok());
  EXPECT_EQ(Payload(bundle), pot_bundle.payload);
  EXPECT_EQ(SigstoreVerify(bundle, dir.File("intruder.pub")).exit_code, 1);
  std::string edited = Payload(bundle);
  const size_t at = edited.find("DIFFERENT");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 9, "SAME");
  WriteWithPayload(bundle, dir.File("edited.json"), edited);
  EXPECT_EQ(SigstoreVerify(dir.File("edited.json"), pub).exit_code, 1);
  // pot's own audit is unchanged by the second file.
  EXPECT_EQ(RunPot("audit " + dir.File("run/bundle.json") + " --trust " + pub).exit_code, 0);
}

}  // namespace
}  // namespace pot
