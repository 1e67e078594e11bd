// Writes a large synthetic GGUF for the hash and diff benchmarks: n_layers blocks of Q8_0 matrices plus one
// F32 norm vector per block, filled from a seeded xorshift generator (valid Q8_0 blocks: a fixed f16 scale
// and random int8 quants). With --perturb K, every K-th matrix gets a different seed, so two files made with
// and without it differ in known tensors and agree in the rest. Streams to disk; memory stays at one row.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "env/env.h"

namespace {

constexpr uint32_t kTypeF32 = 0;
constexpr uint32_t kTypeQ8_0 = 8;
constexpr uint64_t kAlignment = 32;
constexpr uint64_t kQ8Block = 32, kQ8BlockBytes = 34;

std::string U32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string U64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string Str(const std::string& s) { return U64(s.size()) + s; }

struct Tensor {
  std::string name;
  uint32_t type;
  uint64_t ne0, ne1;
  uint64_t nbytes() const { return type == kTypeF32 ? ne0 * ne1 * 4 : ne0 / kQ8Block * kQ8BlockBytes * ne1; }
};

uint64_t Align(uint64_t x) { return (x + kAlignment - 1) / kAlignment * kAlignment; }

class XorShift {
 public:
  explicit XorShift(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }

 private:
  uint64_t s_;
};

void Fill(const Tensor& t, uint64_t seed, std::string* row) {
  XorShift rng(seed);
  const uint64_t row_bytes = t.nbytes() / t.ne1;
  row->resize(row_bytes);
  for (uint64_t i = 0; i + 8 <= row_bytes; i += 8) {
    const uint64_t r = rng.Next();
    std::memcpy(row->data() + i, &r, 8);
  }
  if (t.type == kTypeF32) {
    for (uint64_t i = 0; i < t.ne0; ++i) {
      const float v = 1.0f + static_cast<float>(rng.Next() % 1000) / 1000.0f;
      std::memcpy(row->data() + 4 * i, &v, 4);
    }
  } else {
    const uint16_t scale = 0x2C00;  // f16 0.0625
    for (uint64_t b = 0; b < row_bytes; b += kQ8BlockBytes) std::memcpy(row->data() + b, &scale, 2);
  }
}

int Fail(const pot::Status& s) {
  std::fprintf(stderr, "synth_gguf: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: synth_gguf OUT.gguf MIB [--width N] [--perturb K]\n");
    return 2;
  }
  const std::string out = argv[1];
  const uint64_t target = std::stoull(argv[2]) << 20;
  uint64_t width = 4096, perturb = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--width") width = std::stoull(argv[i + 1]);
    if (std::string(argv[i]) == "--perturb") perturb = std::stoull(argv[i + 1]);
  }
  // Each block: one width x width Q8_0 matrix and one width-long F32 norm.
  std::vector<Tensor> tensors;
  uint64_t total = 0;
  for (int layer = 0; total < target; ++layer) {
    Tensor m{"blk." + std::to_string(layer) + ".ffn.weight", kTypeQ8_0, width, width};
    Tensor n{"blk." + std::to_string(layer) + ".norm.weight", kTypeF32, width, 1};
    total += Align(m.nbytes()) + Align(n.nbytes());
    tensors.push_back(m);
    tensors.push_back(n);
  }

  std::string header = "GGUF" + U32(3) + U64(tensors.size()) + U64(2);
  header += Str("general.architecture") + U32(8) + Str("synthetic");
  header += Str("general.name") + U32(8) + Str(perturb ? "synthetic-perturbed" : "synthetic");
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    header += Str(t.name) + U32(2) + U64(t.ne0) + U64(t.ne1) + U32(t.type) + U64(offset);
    offset = Align(offset + t.nbytes());
  }
  header.resize(Align(header.size()), '\0');

  pot::Env* env = pot::Env::Default();
  std::unique_ptr<pot::WritableFile> file;
  pot::Status s = env->NewWritableFile(out, &file);
  if (s.ok()) s = file->Append(header);
  std::string row;
  for (size_t k = 0; k < tensors.size() && s.ok(); ++k) {
    const Tensor& t = tensors[k];
    const bool changed = perturb != 0 && t.type == kTypeQ8_0 && (k / 2) % perturb == 0;
    for (uint64_t r = 0; r < t.ne1 && s.ok(); ++r) {
      Fill(t, (k << 32) + r + (changed ? 0xABCDEF : 0), &row);
      s = file->Append(row);
    }
    if (s.ok()) s = file->Append(std::string(Align(t.nbytes()) - t.nbytes(), '\0'));
  }
  if (s.ok()) s = file->Close();
  if (!s.ok()) return Fail(s);
  std::printf("%s: %zu tensors, %llu bytes of tensor data\n", out.c_str(), tensors.size(),
              static_cast<unsigned long long>(offset));
  return 0;
}
