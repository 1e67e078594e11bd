#include "sigstore/bundle.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/ed25519.h"
#include "crypto/sha256.h"

namespace pot::sigstore {
namespace {

using json = nlohmann::json;

Bundle Signed(const EcdsaKey& key, const std::string& payload) {
  Bundle b;
  b.payload_type = kInTotoPayloadType;
  b.payload = payload;
  b.hint = KeyHint(key.public_pem);
  EXPECT_TRUE(EcdsaSign(key, DssePae(b.payload_type, b.payload), &b.signature).ok());
  return b;
}

TEST(SigstoreBundle, RendersTheV03JsonAndRoundTrips) {
  EcdsaKey key;
  ASSERT_TRUE(GenerateEcdsaKey(&key).ok());
  const Bundle b = Signed(key, "{\"_type\":\"https://in-toto.io/Statement/v1\"}");
  const std::string text = RenderBundle(b);
  const json j = json::parse(text);
  EXPECT_EQ(j["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
  EXPECT_EQ(j["verificationMaterial"]["publicKey"]["hint"], ToHex(Sha256Of(key.public_pem)));
  EXPECT_TRUE(j["verificationMaterial"]["tlogEntries"].empty());
  EXPECT_FALSE(j["verificationMaterial"].contains("certificate"));
  EXPECT_EQ(j["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");
  Bundle back;
  ASSERT_TRUE(ParseBundle(text, &back).ok());
  EXPECT_EQ(back.payload, b.payload);
  EXPECT_EQ(back.signature, b.signature);
  PublicKey pub;
  ASSERT_TRUE(ParsePublicKeyPem(key.public_pem, "key", &pub).ok());
  EXPECT_TRUE(VerifyBundle(back, pub).ok());
  back.payload += " ";
  EXPECT_EQ(VerifyBundle(back, pub).code(), Status::Code::kCorruption);
  EcdsaKey other;
  ASSERT_TRUE(GenerateEcdsaKey(&other).ok());
  PublicKey other_pub;
  ASSERT_TRUE(ParsePublicKeyPem(other.public_pem, "other", &other_pub).ok());
  EXPECT_NE(VerifyBundle(b, other_pub).message().find("another key"), std::string::npos);
}

TEST(SigstoreBundle, HostileBundlesAreRefusedWithOneLine) {
  EcdsaKey key;
  ASSERT_TRUE(GenerateEcdsaKey(&key).ok());
  const json good = json::parse(RenderBundle(Signed(key, "{}")));
  auto parse = [](const json& j) {
    Bundle b;
    return ParseBundle(j.dump(), &b);
  };
  ASSERT_TRUE(parse(good).ok());
  Bundle b;
  EXPECT_EQ(ParseBundle("{", &b).code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseBundle("[]", &b).code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseBundle(std::string(100000, '['), &b).code(), Status::Code::kCorruption);
  json j = good;
  j["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1";
  EXPECT_EQ(parse(j).code(), Status::Code::kUnsupported);
  j = good;
  j["mediaType"] = 3;
  EXPECT_EQ(parse(j).code(), Status::Code::kCorruption);
  j = good;
  j["dsseEnvelope"]["payload"] = "not base64!";
  EXPECT_EQ(parse(j).message(), "sigstore bundle: malformed base64");
  j = good;
  j["dsseEnvelope"]["signatures"][0]["sig"] = "QUJD\nRA==";
  EXPECT_EQ(parse(j).code(), Status::Code::kCorruption);
  j = good;
  j["dsseEnvelope"]["signatures"].push_back(j["dsseEnvelope"]["signatures"][0]);
  EXPECT_EQ(parse(j).code(), Status::Code::kCorruption);
  j = good;
  j["verificationMaterial"] = {{"certificate", {{"rawBytes", "AAAA"}}}, {"tlogEntries", json::array()}};
  EXPECT_EQ(parse(j).code(), Status::Code::kUnsupported);
  j = good;
  j["verificationMaterial"]["tlogEntries"] = json::array({json::object()});
  EXPECT_EQ(parse(j).code(), Status::Code::kUnsupported);
  j = good;
  j.erase("dsseEnvelope");
  EXPECT_EQ(parse(j).code(), Status::Code::kCorruption);
  for (const auto& status : {parse(j), ParseBundle("{", &b)}) {
    EXPECT_EQ(status.message().find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace pot::sigstore
