#include "sigstore/oms.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/hmac.h"
#include "crypto/sha256.h"

namespace pot::sigstore {
namespace {

using json = nlohmann::json;

ModelStatement TwoFiles() {
  ModelStatement s;
  s.model_name = "model";
  s.resources = {{"a-00001-of-00002.gguf", ToHex(Sha256Of("one"))}, {"a-00002-of-00002.gguf", ToHex(Sha256Of("two"))}};
  s.ignore_paths = {"model.sig"};
  s.pot = ModelStatement::PotRoots{std::string(64, 'a'), std::string(64, 'b'), 3};
  return s;
}

TEST(OmsStatement, IsThePublishedV1PayloadAndRoundTrips) {
  const ModelStatement s = TwoFiles();
  const std::string text = StatementJson(s);
  const json j = json::parse(text);
  EXPECT_EQ(j["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(j["predicateType"], "https://model_signing/signature/v1.0");
  ASSERT_EQ(j["subject"].size(), 1u);
  EXPECT_EQ(j["subject"][0]["name"], "model");
  // The subject digest: SHA-256 over the raw resource digests, in name order (signing.py, Payload).
  EXPECT_EQ(j["subject"][0]["digest"]["sha256"], ToHex(Sha256Of(std::string(AsBytes(Sha256Of("one"))) + std::string(AsBytes(Sha256Of("two"))))));
  EXPECT_EQ(j["predicate"]["serialization"],
            json::parse(R"({"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":["model.sig"]})"));
  EXPECT_EQ(j["predicate"]["resources"][1],
            json({{"name", "a-00002-of-00002.gguf"}, {"algorithm", "sha256"}, {"digest", ToHex(Sha256Of("two"))}}));
  EXPECT_EQ(j["predicate"]["pot"]["tensor_count"], 3);
  ModelStatement back;
  ASSERT_TRUE(ParseStatement(text, &back).ok());
  EXPECT_EQ(StatementJson(back), text);
}

TEST(OmsStatement, PayloadsFailingThePublishedChecksAreRefused) {
  const json good = json::parse(StatementJson(TwoFiles()));
  auto check = [](const json& j) {
    ModelStatement s;
    return ParseStatement(j.dump(), &s);
  };
  ASSERT_TRUE(check(good).ok());
  json j = good;
  j["predicateType"] = "https://model_signing/Digests/v0.1";
  EXPECT_NE(check(j).message().find("predicate type"), std::string::npos);
  j = good;
  j["_type"] = "https://in-toto.io/Statement/v0.1";
  EXPECT_EQ(check(j).code(), Status::Code::kCorruption);
  j = good;
  j["subject"].push_back(j["subject"][0]);
  EXPECT_NE(check(j).message().find("one subject"), std::string::npos);
  j = good;
  j["predicate"]["resources"][0]["digest"] = ToHex(Sha256Of("three"));  // the subject digest no longer agrees
  EXPECT_NE(check(j).message().find("subject digest"), std::string::npos);
  j = good;
  j["predicate"]["serialization"]["method"] = "shards";
  EXPECT_EQ(check(j).code(), Status::Code::kCorruption);
  j = good;
  j["predicate"]["resources"][0]["name"] = "../../etc/passwd";
  EXPECT_NE(check(j).message().find("leaves the model"), std::string::npos);
  j = good;
  j["predicate"]["resources"][0]["algorithm"] = "blake2";
  EXPECT_EQ(check(j).code(), Status::Code::kCorruption);
  j = good;
  j["predicate"]["resources"][0]["digest"] = std::string(64, 'A');
  EXPECT_EQ(check(j).code(), Status::Code::kCorruption);
  j = good;
  j["predicate"]["resources"] = json::array();
  EXPECT_EQ(check(j).code(), Status::Code::kCorruption);
  ModelStatement s;
  EXPECT_EQ(ParseStatement("not json", &s).code(), Status::Code::kCorruption);
  // A resource listed twice, with a subject digest that agrees with the list: still refused.
  ModelStatement dup = TwoFiles();
  dup.resources[1] = dup.resources[0];
  EXPECT_NE(ParseStatement(StatementJson(dup), &s).message().find("twice"), std::string::npos);
}

}  // namespace
}  // namespace pot::sigstore
