// The manifest and tensor proof readers on hostile JSON (found by manifest_fuzz and proof_fuzz): a field of
// another type or an integer out of range is Corruption, where it used to throw out of pot (abort) or be
// cast (undefined behaviour); and a proof pot writes reads back and verifies.
#include <gtest/gtest.h>

#include "manifest/manifest.h"
#include "merkle/merkle.h"

namespace pot::manifest {
namespace {

Manifest SmallManifest() {
  Manifest m;
  m.shards.push_back({"m.gguf", 4096, 3, 20, {}, ""});
  uint64_t offset = 1024;
  for (const char* name : {"t0", "t1", "t2"}) m.tensors.push_back({name, 0, {4, 2}, 32, {}, 0, offset += 32});
  ComputeRoots(&m);
  return m;
}

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ManifestJson, WrongTypesAndOutOfRangeIntegersAreCorruption) {
  const std::string text = ToJson(SmallManifest());
  Manifest m;
  ASSERT_TRUE(FromJson(text, "m.json", &m).ok());
  for (const std::string& bad : {std::string(R"({"format":1})"), Replaced(text, "\"nbytes\": 32", "\"nbytes\": 1e30"),
                                 Replaced(text, "\"shard\": 0", "\"shard\": -1"),
                                 Replaced(text, "\"size\": 4096", "\"size\": \"4096\"")}) {
    const Status s = FromJson(bad, "m.json", &m);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << bad;
  }
  EXPECT_EQ(FromJson(Replaced(text, "\"version\": 1", "\"version\": 1e30"), "m.json", &m).code(),
            Status::Code::kUnsupported);
}

TEST(TensorProof, RoundTripsVerifiesAndRefusesOutOfRangeIntegers) {
  const Manifest m = SmallManifest();
  TensorProof p;
  EXPECT_EQ(ProveTensor(m, "nope", &p).code(), Status::Code::kNotFound);
  ASSERT_TRUE(ProveTensor(m, "t1", &p).ok());
  const std::string text = ProofToJson(p);
  TensorProof back;
  ASSERT_TRUE(ProofFromJson(text, "p.json", &back).ok());
  EXPECT_EQ(ProofToJson(back), text);
  EXPECT_TRUE(merkle::VerifyInclusion(back.leaf_index, back.tree_size, merkle::LeafHash(TensorLeafData(back.tensor)),
                                      back.path, back.root).ok());
  for (const std::string& bad : {Replaced(text, "\"leaf_index\": 2", "\"leaf_index\": 1e30"),
                                 Replaced(text, "\"type_id\": 0", "\"type_id\": 8.1e31"),
                                 Replaced(text, "\"version\": 1", "\"version\": 1e30")}) {
    EXPECT_EQ(ProofFromJson(bad, "p.json", &back).code(), Status::Code::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace pot::manifest
