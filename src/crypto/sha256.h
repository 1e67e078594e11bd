// SHA-256 through OpenSSL's EVP interface, which dispatches to SHA-NI / AVX2 code where the CPU has it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>
#include <string>
#include <string_view>

#include "env/env.h"

namespace pot {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Length-prefixed (u64 little-endian) so that concatenations of fields cannot collide.
  void UpdateLengthPrefixed(std::string_view s);
  void UpdateU64(uint64_t v);
  Digest Final();

 private:
  struct Impl;
  Impl* impl_;
};

Digest Sha256Of(std::string_view data);
// SHA-256 of length bytes of file at offset, read in buffer-sized sequential chunks. Each chunk's size is added
// to *progress (when given) as it is hashed. A file shorter than the range is Corruption (it shrank under us).
Status Sha256OfRange(const RandomAccessFile& file, uint64_t offset, uint64_t length, std::vector<char>& buffer,
                     std::atomic<uint64_t>* progress, Digest* out);
// SHA-256 of a whole file.
Status Sha256OfFile(Env* env, const std::string& path, Digest* out);

std::string ToHex(const uint8_t* data, size_t n);
inline std::string ToHex(const Digest& d) { return ToHex(d.data(), d.size()); }
inline std::string HexOf(std::string_view bytes) {
  return ToHex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// The fixed encodings pot hashes (docs/formats.md): little-endian integers and length-prefixed strings.
std::string U32Le(uint32_t v);
std::string U64Le(uint64_t v);
inline std::string Lp(std::string_view s) { return U64Le(s.size()) + std::string(s); }

}  // namespace pot
