#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/hmac.h"
#include "crypto/sha256.h"
#include "merkle/merkle.h"
#include "test_util.h"

namespace pot::merkle {
namespace {

using json = nlohmann::json;
const std::string kVectors = POT_VECTORS_DIR "/rfc6962";

std::string Base64(const json& v) {
  if (v.is_null()) return "";
  const std::string in = v.get<std::string>();
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const size_t pos = alphabet.find(c);
    EXPECT_NE(pos, std::string::npos) << in;
    acc = acc << 6 | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits & 0xff));
    }
  }
  return out;
}

std::vector<std::string> Proof(const json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& p : v) out.push_back(Base64(p));
  }
  return out;
}

TEST(Merkle, TreeHashesMatchVectors) {
  const json t = json::parse(test::SlurpVector(kVectors + "/tree.json"));
  std::vector<std::string> leaves;
  for (const auto& hex : t["leaf_inputs_hex"]) {
    std::string data;
    ASSERT_TRUE(FromHex(hex.get<std::string>(), &data));
    leaves.push_back(LeafHash(data));
  }
  for (size_t n = 0; n < t["roots_hex"].size(); ++n) {
    EXPECT_EQ(HexOf(Root({leaves.begin(), leaves.begin() + static_cast<long>(n)})), t["roots_hex"][n]) << "size " << n;
  }
  EXPECT_EQ(HexOf(LeafHash("")), t["single_hashes"]["empty_leaf"]);
}

// Every vector: accept each wantErr=false, reject each wantErr=true.
TEST(Merkle, InclusionAndConsistencyVectors) {
  int accepted = 0, rejected = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kVectors)) {
    if (entry.path().extension() != ".json" || entry.path().filename() == "tree.json") continue;
    const json v = json::parse(test::SlurpVector(entry.path()));
    const bool inclusion = entry.path().string().find("/inclusion/") != std::string::npos;
    Status s = inclusion ? VerifyInclusion(v["leafIdx"], v["treeSize"], Base64(v["leafHash"]), Proof(v["proof"]),
                                           Base64(v["root"]))
                         : VerifyConsistency(v["size1"], v["size2"], Proof(v["proof"]), Base64(v["root1"]),
                                             Base64(v["root2"]));
    EXPECT_EQ(!s.ok(), v["wantErr"].get<bool>()) << entry.path() << ": " << s.message();
    (s.ok() ? accepted : rejected)++;
  }
  EXPECT_GT(accepted, 5);
  EXPECT_GT(rejected, 50);
}

// Proofs pot generates verify, for every size, index and prefix, and a wrong leaf or root fails.
TEST(Merkle, GeneratedProofsRoundTrip) {
  for (uint64_t n = 1; n <= 33; ++n) {
    std::vector<std::string> leaves;
    for (uint64_t i = 0; i < n; ++i) leaves.push_back(LeafHash("leaf " + std::to_string(i)));
    const std::string root = Root(leaves);
    for (uint64_t i = 0; i < n; ++i) {
      const auto proof = InclusionProof(leaves, i);
      EXPECT_TRUE(VerifyInclusion(i, n, leaves[i], proof, root).ok()) << n << "/" << i;
      EXPECT_FALSE(VerifyInclusion(i, n, LeafHash("other"), proof, root).ok());
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion((i + 1) % n, n, leaves[i], proof, root).ok());
      }
    }
    for (uint64_t m = 1; m <= n; ++m) {
      const std::string old_root = Root({leaves.begin(), leaves.begin() + static_cast<long>(m)});
      const auto proof = ConsistencyProof(leaves, m);
      EXPECT_TRUE(VerifyConsistency(m, n, proof, old_root, root).ok()) << m << "->" << n;
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, proof, LeafHash("x"), root).ok());
      }
    }
  }
}

}  // namespace
}  // namespace pot::merkle
