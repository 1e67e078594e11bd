#include <gtest/gtest.h>

#include "crypto/sha256.h"

namespace pot {
namespace {

// FIPS 180-2 / NIST example vectors.
TEST(Sha256, MatchesStandardVectors) {
  EXPECT_EQ(ToHex(Sha256Of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256Of("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(ToHex(Sha256Of(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  Sha256 h;
  h.Update("ab");
  h.Update("c");
  EXPECT_EQ(h.Final(), Sha256Of("abc"));
}

TEST(Sha256, LengthPrefixSeparatesFields) {
  Sha256 a, b;
  a.UpdateLengthPrefixed("ab");
  a.UpdateLengthPrefixed("c");
  b.UpdateLengthPrefixed("a");
  b.UpdateLengthPrefixed("bc");
  EXPECT_NE(a.Final(), b.Final());
  Sha256 c;
  c.UpdateLengthPrefixed("abc");
  std::string manual("\x03\0\0\0\0\0\0\0abc", 11);
  EXPECT_EQ(c.Final(), Sha256Of(manual));
}

}  // namespace
}  // namespace pot
