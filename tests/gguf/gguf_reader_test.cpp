#include <gtest/gtest.h>

#include <random>

#include "gguf/gguf.h"
#include "gguf/gguf_builder.h"
#include "gguf/model_info.h"
#include "test_util.h"

namespace pot::gguf {
namespace {

using test::F32Bytes;
using test::GgufBuilder;
using test::SmallModel;
using test::kF32;
using test::kQ8_0;

Status ReadBytes(const std::string& bytes, File* out, test::TempDir& dir) {
  const std::string path = dir.File("m.gguf");
  test::WriteBytes(path, bytes);
  return Read(Env::Default(), path, out);
}

TEST(GgufReader, ParsesTensorTableAndLocatesExactBytes) {
  test::TempDir dir;
  const std::string bytes = SmallModel().Build();
  File f;
  ASSERT_TRUE(ReadBytes(bytes, &f, dir).ok());
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.GetString("general.architecture"), "llama");
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors[0].nbytes, 128u);
  EXPECT_EQ(f.tensors[1].nbytes, 32u);
  EXPECT_EQ(f.tensors[2].nbytes, 68u);
  EXPECT_EQ(TypeName(f.tensors[2].type), "q8_0");
  // The reported extent holds exactly the bytes we wrote.
  EXPECT_EQ(bytes.substr(f.tensors[1].file_offset, f.tensors[1].nbytes), F32Bytes(8, 100));
  EXPECT_EQ(f.tensors[0].file_offset % 32, 0u);
}

// Found by the fuzzer: a header with no tensors whose padding is cut off. Vocabulary-only GGUFs really end
// like that (llama.cpp's models/ggml-vocab-*.gguf), so it is accepted with an empty data section at the end.
TEST(GgufReader, TensorlessFileMayEndWithoutPadding) {
  test::TempDir dir;
  GgufBuilder b;
  b.AddString("general.architecture", "llama");
  std::string bytes = b.Build();
  while (bytes.back() == '\0') bytes.pop_back();  // drop the padding; the value "llama" ends the file
  File f;
  ASSERT_TRUE(ReadBytes(bytes, &f, dir).ok());
  EXPECT_TRUE(f.tensors.empty());
  EXPECT_EQ(f.data_offset, bytes.size());
  EXPECT_LE(f.kv_end, f.data_offset);
}

TEST(GgufReader, AcceptsVersion2AndCustomAlignment) {
  test::TempDir dir;
  GgufBuilder b = SmallModel(/*alignment=*/256);
  b.version = 2;
  File f;
  const std::string bytes = b.Build();
  ASSERT_TRUE(ReadBytes(bytes, &f, dir).ok());
  EXPECT_EQ(f.alignment, 256u);
  EXPECT_EQ(f.data_offset % 256, 0u);
  EXPECT_EQ(bytes.substr(f.tensors[1].file_offset, 32), F32Bytes(8, 100));
}

TEST(GgufReader, EveryTruncationIsRejected) {
  test::TempDir dir;
  const std::string bytes = SmallModel().Build();
  for (size_t len = 0; len < bytes.size(); ++len) {
    File f;
    Status s = ReadBytes(bytes.substr(0, len), &f, dir);
    ASSERT_FALSE(s.ok()) << "prefix of " << len << " bytes accepted";
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.message();
  }
}

void ExpectCorrupt(const GgufBuilder& b, const std::string& needle) {
  test::TempDir dir;
  File f;
  Status s = ReadBytes(b.Build(), &f, dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
}

TEST(GgufReader, RejectsHugeCounts) {
  GgufBuilder b = SmallModel();
  b.n_tensors_override = int64_t{1} << 62;
  ExpectCorrupt(b, "tensor count");
  GgufBuilder c = SmallModel();
  c.n_kv_override = int64_t{1} << 40;
  ExpectCorrupt(c, "metadata count");
}

TEST(GgufReader, RejectsHugeStringAndArrayLengths) {
  GgufBuilder b;
  std::string v;
  GgufBuilder::Put32(v, 8);
  GgufBuilder::Put64(v, uint64_t{1} << 60);
  b.AddRaw("general.name", v);
  ExpectCorrupt(b, "exceeds the file");

  GgufBuilder c;
  std::string a;
  GgufBuilder::Put32(a, 9);
  GgufBuilder::Put32(a, 4);
  GgufBuilder::Put64(a, uint64_t{1} << 61);
  c.AddRaw("tokenizer.ggml.scores", a);
  ExpectCorrupt(c, "array length");
}

TEST(GgufReader, RejectsOverlappingOutOfFileAndUnalignedTensors) {
  GgufBuilder overlap;
  overlap.AddTensor("a", kF32, {16}, F32Bytes(16), 0);
  overlap.AddTensor("b", kF32, {16}, F32Bytes(16), 32);
  ExpectCorrupt(overlap, "overlap");

  GgufBuilder outside = SmallModel();
  outside.AddTensor("far", kF32, {8}, "", /*offset=*/int64_t{1} << 40);
  ExpectCorrupt(outside, "past the end");

  GgufBuilder unaligned;
  unaligned.AddTensor("a", kF32, {8}, F32Bytes(8), 4);
  ExpectCorrupt(unaligned, "not aligned");
}

TEST(GgufReader, RejectsBadMagicUnknownTypesAndBadShapes) {
  test::TempDir dir;
  File f;
  Status s = ReadBytes("not a gguf file at all", &f, dir);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("not a GGUF"), std::string::npos);

  GgufBuilder type;
  type.AddTensor("t", 999, {8}, F32Bytes(8));
  ExpectCorrupt(type, "unknown type 999");

  GgufBuilder block;
  block.AddTensor("t", kQ8_0, {30}, std::string(34, '\0'));
  ExpectCorrupt(block, "block size");

  GgufBuilder dims;
  dims.AddTensor("t", kF32, {1, 1, 1, 1, 1}, F32Bytes(1));
  ExpectCorrupt(dims, "dimensions");

  GgufBuilder overflow;
  overflow.AddTensor("t", kF32, {uint64_t{1} << 40, uint64_t{1} << 40}, "");
  ExpectCorrupt(overflow, "impossible shape");

  GgufBuilder dup;
  dup.AddTensor("same", kF32, {8}, F32Bytes(8));
  dup.AddTensor("same", kF32, {8}, F32Bytes(8));
  ExpectCorrupt(dup, "duplicate tensor name");
}

TEST(GgufReader, RejectsUnsupportedVersionsAndMissingFiles) {
  test::TempDir dir;
  GgufBuilder v1 = SmallModel();
  v1.version = 1;
  File f;
  EXPECT_EQ(ReadBytes(v1.Build(), &f, dir).code(), Status::Code::kUnsupported);
  EXPECT_EQ(Read(Env::Default(), dir.File("absent.gguf"), &f).code(), Status::Code::kNotFound);
}

// Random corruption anywhere in the header region must yield a Status, never a crash or a hang.
TEST(GgufReader, SurvivesRandomByteFlips) {
  test::TempDir dir;
  const std::string bytes = SmallModel().Build();
  File clean;
  ASSERT_TRUE(ReadBytes(bytes, &clean, dir).ok());
  std::mt19937_64 rng(42);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string mutated = bytes;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      mutated[rng() % clean.data_offset] ^= static_cast<char>(1 + rng() % 255);
    }
    File f;
    rejected += !ReadBytes(mutated, &f, dir).ok();
  }
  EXPECT_GT(rejected, 1000);  // most header corruption is detectable; the rest parses to some valid file
}

TEST(ModelInfo, CountsParametersTypesAndHashesTheVocabulary) {
  test::TempDir dir;
  test::WriteBytes(dir.File("a.gguf"), SmallModel().Build());
  ModelInfo info;
  ASSERT_TRUE(GetModelInfo(Env::Default(), dir.File("a.gguf"), &info).ok());
  EXPECT_EQ(info.architecture, "llama");
  EXPECT_EQ(info.n_params, 32u + 8u + 64u);
  EXPECT_EQ(info.tensors_by_type.at("f32"), 2u);
  EXPECT_EQ(info.tensors_by_type.at("q8_0"), 1u);
  EXPECT_EQ(info.n_vocab, 4u);

  // Same tokens, different tensors: same vocabulary digest. One token changed: different digest.
  GgufBuilder same;
  same.AddString("general.architecture", "llama");
  same.AddStringArray("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b"});
  test::WriteBytes(dir.File("b.gguf"), same.Build());
  GgufBuilder other;
  other.AddString("general.architecture", "llama");
  other.AddStringArray("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "c"});
  test::WriteBytes(dir.File("c.gguf"), other.Build());
  ModelInfo b, c;
  ASSERT_TRUE(GetModelInfo(Env::Default(), dir.File("b.gguf"), &b).ok());
  ASSERT_TRUE(GetModelInfo(Env::Default(), dir.File("c.gguf"), &c).ok());
  EXPECT_EQ(info.vocab_sha256, b.vocab_sha256);
  EXPECT_NE(info.vocab_sha256, c.vocab_sha256);
  // Token boundaries matter: {"ab"} and {"a","b"} must not collide.
  GgufBuilder joined;
  joined.AddString("general.architecture", "llama");
  joined.AddStringArray("tokenizer.ggml.tokens", {"<s>", "</s>", "ab"});
  test::WriteBytes(dir.File("d.gguf"), joined.Build());
  ModelInfo d;
  ASSERT_TRUE(GetModelInfo(Env::Default(), dir.File("d.gguf"), &d).ok());
  EXPECT_NE(d.vocab_sha256, info.vocab_sha256);
}

}  // namespace
}  // namespace pot::gguf
