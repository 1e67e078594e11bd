// Builds GGUF files byte by byte for the reader tests, including deliberately malformed ones.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace pot::test {

class GgufBuilder {
 public:
  uint32_t version = 3;
  uint64_t alignment = 32;
  bool write_alignment_key = false;
  // When set, these replace the true counts in the header (to build lying files).
  int64_t n_tensors_override = -1;
  int64_t n_kv_override = -1;

  void AddU32(const std::string& key, uint32_t v) {
    Kv kv{key, {}};
    Put32(kv.bytes, 4);
    Put32(kv.bytes, v);
    kvs_.push_back(kv);
  }
  void AddString(const std::string& key, const std::string& v) {
    Kv kv{key, {}};
    Put32(kv.bytes, 8);
    PutString(kv.bytes, v);
    kvs_.push_back(kv);
  }
  void AddStringArray(const std::string& key, const std::vector<std::string>& v) {
    Kv kv{key, {}};
    Put32(kv.bytes, 9);
    Put32(kv.bytes, 8);
    Put64(kv.bytes, v.size());
    for (const auto& s : v) PutString(kv.bytes, s);
    kvs_.push_back(kv);
  }
  // Raw value bytes after the key (type tag included), for malformed values.
  void AddRaw(const std::string& key, const std::string& value_bytes) { kvs_.push_back({key, value_bytes}); }

  // Adds a tensor; data must be exactly its byte size. offset < 0: next aligned position.
  void AddTensor(const std::string& name, uint32_t type, std::vector<uint64_t> ne, std::string data,
                 int64_t offset = -1) {
    uint64_t off;
    if (offset >= 0) {
      off = static_cast<uint64_t>(offset);
    } else {
      off = next_offset_;
    }
    next_offset_ = Align(std::max(next_offset_, off + data.size()));
    tensors_.push_back({name, type, std::move(ne), std::move(data), off});
  }

  std::string Build() const {
    std::string out = "GGUF";
    Put32(out, version);
    Put64(out, n_tensors_override >= 0 ? static_cast<uint64_t>(n_tensors_override) : tensors_.size());
    const size_t n_kv = kvs_.size() + (write_alignment_key ? 1 : 0);
    Put64(out, n_kv_override >= 0 ? static_cast<uint64_t>(n_kv_override) : n_kv);
    if (write_alignment_key) {
      PutString(out, "general.alignment");
      Put32(out, 4);
      Put32(out, static_cast<uint32_t>(alignment));
    }
    for (const auto& kv : kvs_) {
      PutString(out, kv.key);
      out += kv.bytes;
    }
    for (const auto& t : tensors_) {
      PutString(out, t.name);
      Put32(out, static_cast<uint32_t>(t.ne.size()));
      for (uint64_t d : t.ne) Put64(out, d);
      Put32(out, t.type);
      Put64(out, t.offset);
    }
    const size_t data_start = Align(out.size());
    out.resize(data_start, '\0');
    for (const auto& t : tensors_) {
      if (t.data.empty()) continue;  // a tensor placed outside the file on purpose
      if (out.size() < data_start + t.offset + t.data.size()) out.resize(data_start + t.offset + t.data.size(), '\0');
      std::memcpy(out.data() + data_start + t.offset, t.data.data(), t.data.size());
    }
    return out;
  }

  static void Put32(std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  }
  static void Put64(std::string& s, uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  }
  static void PutString(std::string& s, const std::string& v) {
    Put64(s, v.size());
    s += v;
  }

 private:
  struct Kv {
    std::string key;
    std::string bytes;
  };
  struct Tensor {
    std::string name;
    uint32_t type;
    std::vector<uint64_t> ne;
    std::string data;
    uint64_t offset;
  };
  uint64_t Align(uint64_t x) const { return (x + alignment - 1) / alignment * alignment; }

  std::vector<Kv> kvs_;
  std::vector<Tensor> tensors_;
  uint64_t next_offset_ = 0;
};

// n float32 values 0, 1, 2, ... as bytes.
inline std::string F32Bytes(size_t n, float start = 0) {
  std::string s(n * 4, '\0');
  for (size_t i = 0; i < n; ++i) {
    float v = start + static_cast<float>(i);
    std::memcpy(s.data() + 4 * i, &v, 4);
  }
  return s;
}

constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ8_0 = 8;

// A well-formed three-tensor llama-style model (f32 and q8_0) with a four-token vocabulary.
inline GgufBuilder SmallModel(uint64_t alignment = 32) {
  GgufBuilder b;
  b.alignment = alignment;
  b.write_alignment_key = alignment != 32;
  b.AddString("general.architecture", "llama");
  b.AddString("general.name", "tiny");
  b.AddString("tokenizer.ggml.model", "llama");
  b.AddStringArray("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b"});
  b.AddTensor("token_embd.weight", kF32, {8, 4}, F32Bytes(32));
  b.AddTensor("output_norm.weight", kF32, {8}, F32Bytes(8, 100));
  // Q8_0: blocks of 32 values in 34 bytes.
  b.AddTensor("blk.0.attn_q.weight", kQ8_0, {32, 2}, std::string(68, '\x07'));
  b.AddU32("llama.block_count", 1);
  return b;
}

// Shard `shard` (from 0) of a model split in `count` files, as llama.cpp's gguf-split names and marks them
// (split.no and split.count, u16): one tensor "t<shard>" of 8 floats starting at `shard`.
inline std::string SplitShard(int shard, int count) {
  GgufBuilder b;
  for (const auto& [key, value] : {std::pair<const char*, int>{"split.no", shard}, {"split.count", count}}) {
    std::string v;
    GgufBuilder::Put32(v, 2);  // u16
    v += std::string(1, static_cast<char>(value)) + std::string(1, '\0');
    b.AddRaw(key, v);
  }
  b.AddTensor("t" + std::to_string(shard), kF32, {8}, F32Bytes(8, static_cast<float>(shard)));
  return b.Build();
}

}  // namespace pot::test
