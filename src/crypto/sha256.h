// SHA-256 through OpenSSL's EVP interface, which dispatches to SHA-NI / AVX2 code where the CPU has it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

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
