#include "crypto/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <cstdio>

namespace pot {

struct Sha256::Impl {
  EVP_MD_CTX* ctx;
};

namespace {
// An OpenSSL failure here means memory exhaustion or a broken library: there is no digest to return,
// and continuing with a wrong one would be worse than stopping.
[[noreturn]] void DieOpenSsl(const char* what) {
  std::fprintf(stderr, "pot: fatal: OpenSSL %s failed\n", what);
  std::abort();
}
}  // namespace

Sha256::Sha256() : impl_(new Impl{EVP_MD_CTX_new()}) {
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) DieOpenSsl("SHA-256 init");
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(impl_->ctx);
  delete impl_;
}

void Sha256::Update(const void* data, size_t n) {
  if (EVP_DigestUpdate(impl_->ctx, data, n) != 1) DieOpenSsl("SHA-256 update");
}

void Sha256::UpdateU64(uint64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  Update(le, sizeof le);
}

void Sha256::UpdateLengthPrefixed(std::string_view s) {
  UpdateU64(s.size());
  Update(s);
}

Digest Sha256::Final() {
  Digest d;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, d.data(), &len) != 1 || len != d.size()) DieOpenSsl("SHA-256 final");
  return d;
}

Digest Sha256Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Final();
}

std::string U32Le(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string U64Le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string ToHex(const uint8_t* data, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

Status Sha256OfRange(const RandomAccessFile& file, uint64_t offset, uint64_t length, std::vector<char>& buffer,
                     std::atomic<uint64_t>* progress, Digest* out) {
  Sha256 h;
  uint64_t pos = offset;
  const uint64_t end = offset + length;
  while (pos < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - pos));
    size_t got = 0;
    POT_RETURN_IF_ERROR(file.Read(pos, want, buffer.data(), &got));
    if (got != want) return Status::Corruption("file shrank while being hashed (at byte " + std::to_string(pos) + ")");
    h.Update(buffer.data(), got);
    pos += got;
    if (progress != nullptr) progress->fetch_add(got, std::memory_order_relaxed);
  }
  *out = h.Final();
  return Status::OK();
}

Status Sha256OfFile(Env* env, const std::string& path, Digest* out) {
  std::unique_ptr<RandomAccessFile> file;
  POT_RETURN_IF_ERROR(env->NewRandomAccessFile(path, &file));
  std::vector<char> buffer(4 << 20);
  return Sha256OfRange(*file, 0, file->Size(), buffer, nullptr, out);
}

}  // namespace pot
