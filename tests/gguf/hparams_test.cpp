// The hyperparameter wall: a tiny, well-formed llama GGUF passes; each value llama.cpp would abort on (or
// refuse) is a Corruption naming its key and value.
#include "gguf/hparams.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "gguf/gguf.h"
#include "gguf/gguf_builder.h"
#include "test_util.h"

namespace pot::gguf {
namespace {

using test::GgufBuilder;
using test::kF32;

std::string Tagged(uint32_t type, const std::string& payload) {
  std::string s;
  GgufBuilder::Put32(s, type);
  return s + payload;
}
std::string U32(uint32_t v) {
  std::string s;
  GgufBuilder::Put32(s, v);
  return Tagged(4, s);
}
std::string I32(int32_t v) {
  std::string s;
  GgufBuilder::Put32(s, static_cast<uint32_t>(v));
  return Tagged(5, s);
}
std::string F32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  std::string s;
  GgufBuilder::Put32(s, bits);
  return Tagged(6, s);
}
std::string Bool(bool v) { return Tagged(7, std::string(1, v ? '\1' : '\0')); }
std::string Str(const std::string& v) {
  std::string s;
  GgufBuilder::PutString(s, v);
  return Tagged(8, s);
}
std::string Strings(const std::vector<std::string>& v) {
  std::string s;
  GgufBuilder::Put32(s, 8);
  GgufBuilder::Put64(s, v.size());
  for (const auto& x : v) GgufBuilder::PutString(s, x);
  return Tagged(9, s);
}
std::string U32s(const std::vector<uint32_t>& v) {
  std::string s;
  GgufBuilder::Put32(s, 4);
  GgufBuilder::Put64(s, v.size());
  for (uint32_t x : v) GgufBuilder::Put32(s, x);
  return Tagged(9, s);
}

// A one-layer llama: embedding 8, two heads of 4, feed-forward 16, the given tokens (default four).
class TinyLlama {
 public:
  TinyLlama() {
    kvs_ = {{"general.architecture", Str("llama")},
            {"tokenizer.ggml.model", Str("llama")},
            {"tokenizer.ggml.tokens", Strings({"<unk>", "<s>", "</s>", "a"})},
            {"tokenizer.ggml.bos_token_id", U32(1)},
            {"llama.block_count", U32(1)},
            {"llama.context_length", U32(64)},
            {"llama.embedding_length", U32(8)},
            {"llama.feed_forward_length", U32(16)},
            {"llama.attention.head_count", U32(2)},
            {"llama.attention.head_count_kv", U32(2)},
            {"llama.rope.dimension_count", U32(4)},
            {"llama.rope.freq_base", F32(10000)},
            {"llama.attention.layer_norm_rms_epsilon", F32(1e-5f)}};
    shapes_ = {{"token_embd.weight", {8, 4}},        {"output_norm.weight", {8}},
               {"blk.0.attn_norm.weight", {8}},      {"blk.0.attn_q.weight", {8, 8}},
               {"blk.0.attn_k.weight", {8, 8}},      {"blk.0.attn_v.weight", {8, 8}},
               {"blk.0.attn_output.weight", {8, 8}}, {"blk.0.ffn_norm.weight", {8}},
               {"blk.0.ffn_gate.weight", {8, 16}},   {"blk.0.ffn_up.weight", {8, 16}},
               {"blk.0.ffn_down.weight", {16, 8}}};
  }
  TinyLlama& Set(const std::string& key, const std::string& value) {
    for (auto& kv : kvs_) {
      if (kv.first == key) {
        kv.second = value;
        return *this;
      }
    }
    kvs_.emplace_back(key, value);
    return *this;
  }
  TinyLlama& Remove(const std::string& key) {
    std::erase_if(kvs_, [&](const auto& kv) { return kv.first == key; });
    return *this;
  }
  TinyLlama& Append(const std::string& key, const std::string& value) {
    kvs_.emplace_back(key, value);
    return *this;
  }
  TinyLlama& Shape(const std::string& tensor, std::vector<uint64_t> ne) {
    shapes_[tensor] = std::move(ne);
    return *this;
  }
  TinyLlama& Drop(const std::string& tensor) {
    shapes_.erase(tensor);
    return *this;
  }

  Status Check(LoadScope scope = LoadScope::kFull) const {
    GgufBuilder b;
    for (const auto& [key, value] : kvs_) b.AddRaw(key, value);
    for (const auto& [name, ne] : shapes_) {
      uint64_t n = 1;
      for (uint64_t d : ne) n *= d;
      b.AddTensor(name, kF32, ne, std::string(4 * n, '\0'));
    }
    test::TempDir dir;
    const std::string path = dir.File("m.gguf");
    test::WriteBytes(path, b.Build());
    File f;
    Status s = Read(Env::Default(), path, &f);
    if (!s.ok()) return Status::Internal("the test model did not parse: " + s.message());
    return CheckLoadable(f, scope);
  }

 private:
  std::vector<std::pair<std::string, std::string>> kvs_;
  std::map<std::string, std::vector<uint64_t>> shapes_;
};

// A Corruption whose message holds every needle (the key and the value).
void ExpectRefused(const Status& s, const std::vector<std::string>& needles) {
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.message();
  for (const auto& n : needles) EXPECT_NE(s.message().find(n), std::string::npos) << "no '" << n << "' in: " << s.message();
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(Hparams, AcceptsAWellFormedLlama) {
  EXPECT_TRUE(TinyLlama().Check().ok()) << TinyLlama().Check().message();
  EXPECT_TRUE(TinyLlama().Check(LoadScope::kVocabOnly).ok());
  // Optional keys in their legal forms: per-layer arrays, rope scaling 0 (none), a known scaling type.
  EXPECT_TRUE(TinyLlama()
                  .Set("llama.attention.head_count", U32s({2}))
                  .Set("llama.rope.scaling.factor", F32(0))
                  .Set("llama.rope.scaling.type", Str("linear"))
                  .Check()
                  .ok());
}

TEST(Hparams, RefusesAnEpsilonThatIsNotFiniteAndPositive) {
  const std::string key = "llama.attention.layer_norm_rms_epsilon";
  ExpectRefused(TinyLlama().Set(key, F32(-1)).Check(), {key, "-1"});
  ExpectRefused(TinyLlama().Set(key, F32(kNaN)).Check(), {key, "nan"});
  ExpectRefused(TinyLlama().Set(key, F32(kInf)).Check(), {key, "inf"});
  ExpectRefused(TinyLlama().Set(key, F32(0)).Check(), {key, "0"});
  ExpectRefused(TinyLlama().Set(key, U32(1)).Check(), {key, "not a float"});
  ExpectRefused(TinyLlama().Remove(key).Check(), {"no " + key});
  ExpectRefused(TinyLlama().Set("llama.attention.layer_norm_epsilon", F32(-2)).Check(),
                {"llama.attention.layer_norm_epsilon", "-2"});
}

TEST(Hparams, RefusesLayerCountsLlamaCppAssertsOn) {
  ExpectRefused(TinyLlama().Set("llama.block_count", U32(0)).Check(), {"llama.block_count", "0"});
  ExpectRefused(TinyLlama().Set("llama.block_count", U32(513)).Check(), {"llama.block_count", "513"});
  ExpectRefused(TinyLlama().Set("llama.block_count", I32(-1)).Check(), {"llama.block_count", "-1"});
  ExpectRefused(TinyLlama().Remove("llama.block_count").Check(), {"no llama.block_count"});
  ExpectRefused(TinyLlama().Set("llama.nextn_predict_layers", U32(2)).Check(), {"llama.nextn_predict_layers", "2"});
}

TEST(Hparams, RefusesSizesThatMakeEmptyOrMisfitWeights) {
  ExpectRefused(TinyLlama().Set("llama.embedding_length", U32(0)).Check(), {"llama.embedding_length", "0"});
  ExpectRefused(TinyLlama().Set("llama.feed_forward_length", U32(0)).Check(), {"llama.feed_forward_length", "0"});
  ExpectRefused(TinyLlama().Set("llama.attention.head_count", U32(0)).Check(), {"llama.attention.head_count", "0"});
  ExpectRefused(TinyLlama().Set("llama.attention.head_count_kv", U32(0)).Check(), {"llama.attention.head_count_kv", "0"});
  ExpectRefused(TinyLlama().Set("llama.attention.head_count_kv", U32(3)).Check(),
                {"llama.attention.head_count_kv", "3", "divide"});
  ExpectRefused(TinyLlama().Set("llama.attention.head_count", U32(16)).Check(), {"llama.attention.head_count", "16"});
  ExpectRefused(TinyLlama().Set("llama.attention.head_count", U32s({2, 2})).Check(),
                {"llama.attention.head_count", "an array of 2"});
  ExpectRefused(TinyLlama().Set("llama.context_length", U32(0)).Check(), {"llama.context_length", "0"});
  ExpectRefused(TinyLlama().Set("llama.context_length", U32(0x80000000u)).Check(), {"llama.context_length", "2147483648"});
}

TEST(Hparams, RefusesRopeValuesLlamaCppAssertsOnOrTurnsToNaN) {
  ExpectRefused(TinyLlama().Set("llama.rope.dimension_count", U32(2)).Check(), {"rope.dimension_count", "2 / 4 / 4"});
  ExpectRefused(TinyLlama().Set("llama.attention.key_length", U32(0)).Check(), {"llama.attention.key_length", "0"});
  ExpectRefused(TinyLlama().Set("llama.rope.freq_base", F32(kNaN)).Check(), {"llama.rope.freq_base", "nan"});
  ExpectRefused(TinyLlama().Set("llama.rope.freq_base", F32(-1)).Check(), {"llama.rope.freq_base", "-1"});
  ExpectRefused(TinyLlama().Set("llama.rope.scaling.factor", F32(-4)).Check(), {"llama.rope.scaling.factor", "-4"});
  ExpectRefused(TinyLlama().Set("llama.rope.scaling.type", Str("cubic")).Check(), {"llama.rope.scaling.type", "'cubic'"});
}

TEST(Hparams, RefusesExpertCountsLlamaCppAssertsOn) {
  ExpectRefused(TinyLlama().Set("llama.expert_count", U32(2000)).Check(), {"llama.expert_count", "2000"});
  ExpectRefused(TinyLlama().Set("llama.expert_used_count", U32(1)).Check(), {"llama.expert_used_count", "1"});
  ExpectRefused(TinyLlama().Set("llama.expert_count", U32(4)).Set("llama.expert_used_count", U32(0)).Check(),
                {"llama.expert_used_count", "0"});
  ExpectRefused(TinyLlama().Set("llama.expert_group_count", U32(2)).Check(), {"llama.expert_group_count", "2"});
}

TEST(Hparams, RefusesVocabulariesLlamaCppAssertsOn) {
  ExpectRefused(TinyLlama().Set("tokenizer.ggml.tokens", Strings({"<unk>", "<s>", "a", "a"})).Check(),
                {"tokenizer.ggml.tokens", "tokens 2 and 3"});
  // llama.cpp renames an empty token "[EMPTY_<id>]", so it can collide with a real one.
  ExpectRefused(TinyLlama().Set("tokenizer.ggml.tokens", Strings({"[EMPTY_3]", "<s>", "</s>", ""})).Check(),
                {"tokenizer.ggml.tokens", "tokens 0 and 3"});
  ExpectRefused(TinyLlama().Set("tokenizer.ggml.bos_token_id", U32(99)).Check(), {"tokenizer.ggml.bos_token_id", "99"});
  ExpectRefused(TinyLlama().Set("tokenizer.ggml.model", Str("none")).Check(), {"tokenizer.ggml.model", "'none'"});
  ExpectRefused(TinyLlama().Remove("tokenizer.ggml.model").Check(), {"no tokenizer.ggml.model"});
  // A one-token SPM vocabulary has no default BOS (id 1), which tokenizing adds.
  ExpectRefused(TinyLlama()
                    .Set("tokenizer.ggml.tokens", Strings({"a"}))
                    .Remove("tokenizer.ggml.bos_token_id")
                    .Shape("token_embd.weight", {8, 1})
                    .Check(),
                {"tokenizer.ggml.bos_token_id", "absent"});
  EXPECT_TRUE(TinyLlama()
                  .Set("tokenizer.ggml.tokens", Strings({"a"}))
                  .Remove("tokenizer.ggml.bos_token_id")
                  .Set("tokenizer.ggml.add_bos_token", Bool(false))
                  .Shape("token_embd.weight", {8, 1})
                  .Check()
                  .ok());
  // The vocabulary is checked on vocabulary-only loads too.
  ExpectRefused(TinyLlama().Set("tokenizer.ggml.bos_token_id", U32(4)).Check(LoadScope::kVocabOnly),
                {"tokenizer.ggml.bos_token_id", "4"});
}

TEST(Hparams, RefusesTensorsThatDoNotMatchTheKeys) {
  ExpectRefused(TinyLlama().Set("tokenizer.ggml.tokens", Strings({"<unk>", "<s>", "</s>", "a", "b"})).Check(),
                {"token_embd.weight", "[8, 4]", "[8, 5]", "tokenizer.ggml.tokens"});
  ExpectRefused(TinyLlama().Shape("blk.0.attn_q.weight", {8, 6}).Check(), {"blk.0.attn_q.weight", "[8, 6]", "head_count"});
  ExpectRefused(TinyLlama().Shape("blk.0.ffn_down.weight", {12, 8}).Check(),
                {"blk.0.ffn_down.weight", "feed_forward_length 16"});
  ExpectRefused(TinyLlama().Shape("output_norm.weight", {8, 0}).Check(), {"output_norm.weight", "[8, 0]"});
  ExpectRefused(TinyLlama().Drop("blk.0.ffn_norm.weight").Check(), {"no tensor 'blk.0.ffn_norm.weight'"});
}

TEST(Hparams, VocabularyOnlyLoadsIgnoreTheModelKeys) {
  EXPECT_TRUE(TinyLlama().Set("llama.block_count", U32(0)).Check(LoadScope::kVocabOnly).ok());
  ExpectRefused(TinyLlama().Set("llama.block_count", U32(0)).Check(), {"llama.block_count"});
}

TEST(Hparams, RefusesARepeatedKey) {
  ExpectRefused(TinyLlama().Append("llama.block_count", U32(0)).Check(), {"llama.block_count", "twice"});
}

}  // namespace
}  // namespace pot::gguf
