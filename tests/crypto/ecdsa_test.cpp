#include "crypto/ecdsa.h"

#include <gtest/gtest.h>

#include "crypto/ed25519.h"
#include "test_util.h"

namespace pot {
namespace {

TEST(Ecdsa, SignsDerThatVerifiesAndBindsMessageAndKey) {
  EcdsaKey key, other;
  ASSERT_TRUE(GenerateEcdsaKey(&key).ok());
  ASSERT_TRUE(GenerateEcdsaKey(&other).ok());
  std::string sig;
  ASSERT_TRUE(EcdsaSign(key, "statement", &sig).ok());
  // DER: a SEQUENCE (0x30) of two INTEGERs, at most 72 bytes for P-256.
  ASSERT_GE(sig.size(), 8u);
  EXPECT_EQ(static_cast<unsigned char>(sig[0]), 0x30);
  EXPECT_LE(sig.size(), 72u);
  PublicKey pub, other_pub;
  ASSERT_TRUE(ParsePublicKeyPem(key.public_pem, "key", &pub).ok());
  ASSERT_TRUE(ParsePublicKeyPem(other.public_pem, "other", &other_pub).ok());
  EXPECT_EQ(pub.type, KeyType::kEcdsaP256);
  EXPECT_EQ(pub.pem, key.public_pem);  // already canonical
  EXPECT_TRUE(VerifyWithPublicKey(pub, "statement", sig).ok());
  EXPECT_EQ(VerifyWithPublicKey(pub, "statemenT", sig).code(), Status::Code::kCorruption);
  EXPECT_EQ(VerifyWithPublicKey(other_pub, "statement", sig).code(), Status::Code::kCorruption);
  std::string flipped = sig;
  flipped.back() ^= 1;
  EXPECT_FALSE(VerifyWithPublicKey(pub, "statement", flipped).ok());
  EXPECT_FALSE(VerifyWithPublicKey(pub, "statement", sig + "x").ok());  // trailing bytes after the DER
}

TEST(Ecdsa, KeyFilesRoundTripAndKindsAreKeptApart) {
  test::TempDir dir;
  EcdsaKey key;
  ASSERT_TRUE(GenerateEcdsaKey(&key).ok());
  test::WriteBytes(dir.File("ec"), key.private_pem);
  test::WriteBytes(dir.File("ec.pub"), key.public_pem);
  EcdsaKey read;
  ASSERT_TRUE(ReadEcdsaKey(Env::Default(), dir.File("ec"), &read).ok());
  EXPECT_EQ(read.public_pem, key.public_pem);
  // An Ed25519 key is refused as an ECDSA signer, and an ECDSA key as an Ed25519 one.
  SigningKey ed;
  ASSERT_TRUE(GenerateSigningKey(&ed).ok());
  test::WriteBytes(dir.File("ed"), ed.private_pem);
  test::WriteBytes(dir.File("ed.pub"), PublicKeyPem(ed.public_raw));
  EXPECT_EQ(ReadEcdsaKey(Env::Default(), dir.File("ed"), &read).code(), Status::Code::kUnsupported);
  EXPECT_EQ(ReadSigningKey(Env::Default(), dir.File("ec"), &ed).code(), Status::Code::kUnsupported);
  // Public keys of both kinds parse, each with its type; Ed25519 verifies its raw signatures.
  PublicKey pub;
  ASSERT_TRUE(ReadAnyPublicKey(Env::Default(), dir.File("ed.pub"), &pub).ok());
  EXPECT_EQ(pub.type, KeyType::kEd25519);
  std::string sig;
  ASSERT_TRUE(Sign(ed, "m", &sig).ok());
  EXPECT_TRUE(VerifyWithPublicKey(pub, "m", sig).ok());
  EXPECT_FALSE(VerifyWithPublicKey(pub, "n", sig).ok());
  // Text that is no key, a public key where the private one belongs, a missing file.
  EXPECT_EQ(ParsePublicKeyPem("not a key", "x", &pub).code(), Status::Code::kCorruption);
  EXPECT_EQ(ReadEcdsaKey(Env::Default(), dir.File("ec.pub"), &read).code(), Status::Code::kCorruption);
  EXPECT_EQ(ReadAnyPublicKey(Env::Default(), dir.File("missing.pub"), &pub).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace pot
