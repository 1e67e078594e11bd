#include "crypto/ed25519.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "crypto/hmac.h"
#include "test_util.h"

namespace pot {
namespace {

std::string Hex(const std::string& hex) {
  std::string out;
  EXPECT_TRUE(FromHex(hex, &out));
  return out;
}

// RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
TEST(Ed25519, VerifiesRfc8032Vectors) {
  const std::string pub1 = Hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const std::string sig1 = Hex(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24"
      "655141438e7a100b");
  EXPECT_TRUE(VerifySignature(pub1, "", sig1).ok());
  const std::string pub2 = Hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const std::string sig2 = Hex(
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb0"
      "0d291612bb0c00");
  EXPECT_TRUE(VerifySignature(pub2, Hex("72"), sig2).ok());
  EXPECT_FALSE(VerifySignature(pub2, Hex("73"), sig2).ok());
  EXPECT_FALSE(VerifySignature(pub1, Hex("72"), sig2).ok());
}

TEST(Ed25519, SignsVerifiesAndRoundTripsKeys) {
  SigningKey key;
  ASSERT_TRUE(GenerateSigningKey(&key).ok());
  EXPECT_EQ(key.public_raw.size(), 32u);
  std::string sig;
  ASSERT_TRUE(Sign(key, "statement", &sig).ok());
  EXPECT_TRUE(VerifySignature(key.public_raw, "statement", sig).ok());
  for (size_t i = 0; i < sig.size(); ++i) {
    std::string bad = sig;
    bad[i] ^= 1;
    EXPECT_FALSE(VerifySignature(key.public_raw, "statement", bad).ok()) << i;
  }
  test::TempDir dir;
  test::WriteBytes(dir.File("k.pem"), key.private_pem);
  test::WriteBytes(dir.File("k.pub"), PublicKeyPem(key.public_raw));
  SigningKey again;
  ASSERT_TRUE(ReadSigningKey(Env::Default(), dir.File("k.pem"), &again).ok());
  EXPECT_EQ(again.public_raw, key.public_raw);
  std::string pub;
  ASSERT_TRUE(ReadPublicKey(Env::Default(), dir.File("k.pub"), &pub).ok());
  EXPECT_EQ(pub, key.public_raw);
  EXPECT_EQ(ReadPublicKey(Env::Default(), dir.File("k.pem"), &pub).code(), Status::Code::kCorruption);
  EXPECT_EQ(KeyId(pub).size(), 64u);
}

// DSSE protocol, "Pre-Authentication Encoding".
TEST(Dsse, PreAuthenticationEncoding) {
  EXPECT_EQ(DssePae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

TEST(Base64, CanonicalOnly) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  std::string out;
  for (const char* s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &out)) << s;
    EXPECT_EQ(out, s);
  }
  EXPECT_FALSE(Base64Decode("Zh==", &out)) << "non-zero unused bits";
  EXPECT_FALSE(Base64Decode("Zg=", &out));
  EXPECT_FALSE(Base64Decode("Zm9v YmFy", &out));
  EXPECT_FALSE(Base64Decode("Zm9v\nYmFy", &out));
}

}  // namespace
}  // namespace pot
