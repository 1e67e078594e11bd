// Internal to src/crypto: owning handles for OpenSSL objects, so every early return frees them.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

namespace pot::crypto_internal {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

inline Bio MemBio(const std::string& data) { return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))); }

inline std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// The private key as unencrypted PKCS#8 PEM (what pot keygen writes); false when OpenSSL cannot encode it.
inline bool PrivatePem(EVP_PKEY* key, std::string* out) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return false;
  *out = BioContents(bio.get());
  return true;
}

}  // namespace pot::crypto_internal
