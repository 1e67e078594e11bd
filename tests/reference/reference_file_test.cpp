// The reference file format without a model: records round-trip within the fixed-point step, every
// malformed record is refused, and no byte of a signed file can change unnoticed.
#include "reference/reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace pot {
namespace {

reference::Header SmallHeader(uint64_t n) {
  reference::Header h;
  h.pot_version = "0.1.0";
  h.llama_commit = "test";
  h.model.files = {"m.gguf"};
  h.model.file_sha256s = {std::string(64, 'a')};
  h.model.manifest_root = std::string(64, 'b');
  h.model.weights_root = std::string(64, 'c');
  h.vocab_sha256 = std::string(64, 'd');
  h.n_vocab = 1000;
  h.commitment = std::string(64, 'e');
  h.family = "templates";
  h.family_params = "v1";
  h.n_max_committed = 16;
  h.n = n;
  h.continuation_tokens = 2;
  h.topk = 3;
  h.tail_samples = 2;
  return h;
}

// A challenge of 3 prompt tokens and 2 continuation tokens: 4 rows of 3 head + 2 tail entries.
reference::Challenge SmallChallenge(uint32_t seed) {
  std::mt19937 rng(seed);
  reference::Challenge c;
  c.prompt_tokens = {1, static_cast<int32_t>(rng() % 1000), static_cast<int32_t>(rng() % 1000)};
  c.continuation = {static_cast<int32_t>(rng() % 1000), 7};
  auto& r = c.rows;
  r.k = 3;
  r.samples = 2;
  for (int row = 0; row < 4; ++row) {
    const float head[] = {-0.7f - row * 0.1f, -1.5f, -2.75f};
    const int32_t ids[] = {10 + row, 20, 30, 400, 400};  // a tail sample may repeat
    const float tail[] = {-6.0f, -6.0f};
    for (int j = 0; j < 5; ++j) {
      r.ids.push_back(ids[j]);
      r.logp.push_back(j < 3 ? head[j] : tail[j - 3]);
    }
    r.target_logp.push_back(-3.125f - row);
  }
  return c;
}

std::string SignedFile(const reference::Header& h, const std::vector<reference::Challenge>& challenges,
                       SigningKey* key) {
  EXPECT_TRUE(GenerateSigningKey(key).ok());
  std::vector<std::string> records;
  for (const auto& c : challenges) {
    records.emplace_back();
    EXPECT_TRUE(reference::EncodeChallenge(h, c, &records.back()).ok());
  }
  std::string bytes;
  EXPECT_TRUE(reference::Assemble(h, records, *key, &bytes).ok());
  return bytes;
}

TEST(ReferenceFile, RoundTripsWithinTheFixedPointStep) {
  const auto h = SmallHeader(2);
  const std::vector<reference::Challenge> in = {SmallChallenge(1), SmallChallenge(2)};
  SigningKey key;
  const std::string bytes = SignedFile(h, in, &key);
  reference::File f;
  ASSERT_TRUE(reference::ParseFile(bytes, &f).ok());
  EXPECT_EQ(reference::HeaderJson(f.header), reference::HeaderJson(h));
  EXPECT_EQ(f.signer, key.public_raw);
  ASSERT_EQ(f.challenges.size(), 2u);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(f.challenges[i].prompt_tokens, in[i].prompt_tokens);
    EXPECT_EQ(f.challenges[i].continuation, in[i].continuation);
    EXPECT_EQ(f.challenges[i].rows.ids, in[i].rows.ids);
    EXPECT_EQ(f.challenges[i].rows.target_logp, in[i].rows.target_logp) << "targets are stored exactly (f32)";
    for (size_t j = 0; j < in[i].rows.logp.size(); ++j) {
      EXPECT_NEAR(f.challenges[i].rows.logp[j], in[i].rows.logp[j], std::ldexp(1.0, -19) + 1e-7);
    }
  }
  // 4 bytes of lengths, 5 tokens x 3 bytes, 4 rows x (5 entries x 6 bytes + 4): 153 bytes per challenge.
  std::string record;
  ASSERT_TRUE(reference::EncodeChallenge(h, in[0], &record).ok());
  EXPECT_EQ(record.size(), 4u + 15u + 4u * 34u);
}

TEST(ReferenceFile, EveryChangedByteIsRejected) {
  const auto h = SmallHeader(1);
  SigningKey key;
  const std::string bytes = SignedFile(h, {SmallChallenge(3)}, &key);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    reference::File f;
    EXPECT_FALSE(reference::ParseFile(bad, &f).ok()) << "byte " << i;
  }
  for (size_t cut : {size_t{0}, size_t{7}, bytes.size() / 2, bytes.size() - 1}) {
    reference::File f;
    EXPECT_FALSE(reference::ParseFile(bytes.substr(0, cut), &f).ok()) << "cut at " << cut;
  }
  reference::File f;
  EXPECT_FALSE(reference::ParseFile(bytes + "x", &f).ok());
}

// Found by reference_fuzz: a signed header claiming 10^12 challenges made ParseFile allocate them all up front
// (std::bad_alloc out of pot verify --reference); a float where an integer belongs was cast (undefined).
TEST(ReferenceFile, HeaderClaimsAreCheckedAgainstTheBytes) {
  SigningKey key;
  ASSERT_TRUE(GenerateSigningKey(&key).ok());
  auto signed_file = [&](const std::string& header, const std::string& records) {
    std::string body = "POTREF1\n" + U32Le(static_cast<uint32_t>(header.size())) + header + records;
    std::string signature;
    EXPECT_TRUE(Sign(key, DssePae(reference::kPayloadType, body), &signature).ok());
    return body + key.public_raw + signature;
  };
  auto h = SmallHeader(1);
  std::string record;
  ASSERT_TRUE(reference::EncodeChallenge(h, SmallChallenge(4), &record).ok());
  h.n = h.n_max_committed = 1000000000000;
  reference::File f;
  Status s = reference::ParseFile(signed_file(reference::HeaderJson(h), record), &f);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("challenge 1: truncated"), std::string::npos) << s.message();

  std::string header = reference::HeaderJson(SmallHeader(1));
  header.replace(header.find("\"topk\":3"), 8, "\"topk\":3e30");
  s = reference::ParseFile(signed_file(header, record), &f);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("topk: not an integer in range"), std::string::npos) << s.message();
}

TEST(ReferenceFile, MalformedRecordsAreRefusedEvenWhenSigned) {
  const auto h = SmallHeader(1);
  struct Case {
    const char* what;
    void (*spoil)(reference::Challenge*);
    const char* message;
  };
  const Case cases[] = {
      {"head out of order", [](reference::Challenge* c) { std::swap(c->rows.logp[0], c->rows.logp[1]); }, "descending"},
      {"repeated head token", [](reference::Challenge* c) { c->rows.ids[1] = c->rows.ids[0]; }, "repeated head"},
      {"tail sample from the head", [](reference::Challenge* c) { c->rows.ids[3] = c->rows.ids[0]; }, "tail sample from"},
      {"tail sample above the head", [](reference::Challenge* c) { c->rows.logp[4] = -0.01f; }, "above the head"},
      {"token out of the vocabulary", [](reference::Challenge* c) { c->prompt_tokens[1] = 5000; }, "vocabulary"},
      {"head mass above 1", [](reference::Challenge* c) { c->rows.logp[0] = c->rows.logp[1] = c->rows.logp[2] = -0.1f; },
       "above 1"},
      {"positive target log-probability", [](reference::Challenge* c) { c->rows.target_logp[0] = 0.5f; }, "target"},
  };
  for (const auto& k : cases) {
    reference::Challenge c = SmallChallenge(4);
    k.spoil(&c);
    SigningKey key;
    const std::string bytes = SignedFile(h, {c}, &key);
    reference::File f;
    const Status s = reference::ParseFile(bytes, &f);
    EXPECT_FALSE(s.ok()) << k.what;
    EXPECT_NE(s.message().find(k.message), std::string::npos) << k.what << ": " << s.message();
  }
  // An encoder given an inconsistent shape refuses rather than write it.
  reference::Challenge c = SmallChallenge(5);
  c.rows.target_logp.pop_back();
  std::string record;
  EXPECT_FALSE(reference::EncodeChallenge(h, c, &record).ok());
}

TEST(ReferenceFile, TailUniformIsKeyedAndInTheUnitInterval) {
  const std::string key(32, 'k'), other(32, 'o');
  double sum = 0;
  for (uint64_t j = 0; j < 4000; ++j) {
    const double u = reference::TailUniform(key, 3, j / 4, j % 4);
    ASSERT_GE(u, 0);
    ASSERT_LT(u, 1);
    sum += u;
  }
  EXPECT_NEAR(sum / 4000, 0.5, 0.02);
  EXPECT_EQ(reference::TailUniform(key, 1, 2, 3), reference::TailUniform(key, 1, 2, 3));
  EXPECT_NE(reference::TailUniform(key, 1, 2, 3), reference::TailUniform(other, 1, 2, 3));
  EXPECT_NE(reference::TailUniform(key, 1, 2, 3), reference::TailUniform(key, 1, 3, 2));
}

}  // namespace
}  // namespace pot
