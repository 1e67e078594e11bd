#include "crypto/ed25519.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/openssl_util.h"
#include "crypto/sha256.h"

namespace pot {
namespace {

using crypto_internal::Bio;
using crypto_internal::BioContents;
using crypto_internal::MdCtx;
using crypto_internal::MemBio;
using crypto_internal::Pkey;

Status RawPublic(EVP_PKEY* key, std::string* out) {
  size_t n = 32;
  out->resize(n);
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out->data()), &n) != 1 || n != 32) {
    return Status::Internal("OpenSSL could not export an Ed25519 public key");
  }
  return Status::OK();
}

Status FromPrivatePem(const std::string& pem, const std::string& what, SigningKey* out) {
  Bio bio = MemBio(pem);
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::Corruption(what + ": not a PEM private key");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) return Status::Unsupported(what + ": not an Ed25519 key");
  out->private_pem = pem;
  return RawPublic(key.get(), &out->public_raw);
}

}  // namespace

Status GenerateSigningKey(SigningKey* out) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Status::Internal("OpenSSL could not generate an Ed25519 key");
  if (!crypto_internal::PrivatePem(key.get(), &out->private_pem)) {
    return Status::Internal("OpenSSL could not encode the private key");
  }
  return RawPublic(key.get(), &out->public_raw);
}

Status ReadSigningKey(Env* env, const std::string& path, SigningKey* out) {
  std::string pem;
  POT_RETURN_IF_ERROR(ReadFileToString(env, path, &pem));
  POT_RETURN_IF_ERROR(FromPrivatePem(pem, path, out));
  WarnIfUnprotectedKey(env, path);  // a file that is not a key holds no secret to warn about
  return Status::OK();
}

Status ReadPublicKey(Env* env, const std::string& path, std::string* public_raw) {
  std::string pem;
  POT_RETURN_IF_ERROR(ReadFileToString(env, path, &pem));
  Bio bio = MemBio(pem);
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::Corruption(path + ": not a PEM public key");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) return Status::Unsupported(path + ": not an Ed25519 key");
  return RawPublic(key.get(), public_raw);
}

std::string PublicKeyPem(std::string_view public_raw) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(public_raw.data()), public_raw.size()));
  Bio bio(BIO_new(BIO_s_mem()));
  if (!key || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) return "";
  return BioContents(bio.get());
}

std::string KeyId(std::string_view public_raw) { return ToHex(Sha256Of(public_raw)); }

Status Sign(const SigningKey& key, std::string_view message, std::string* signature) {
  Bio bio = MemBio(key.private_pem);
  Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  MdCtx ctx(EVP_MD_CTX_new());
  size_t n = 64;
  signature->resize(n);
  if (!pkey || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature->data()), &n,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      n != 64) {
    return Status::Internal("OpenSSL could not sign with Ed25519");
  }
  return Status::OK();
}

Status VerifySignature(std::string_view public_raw, std::string_view message, std::string_view signature) {
  if (public_raw.size() != 32) return Status::Corruption("an Ed25519 public key is 32 bytes");
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(public_raw.data()), public_raw.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return Status::Internal("OpenSSL could not set up Ed25519 verification");
  }
  const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                  reinterpret_cast<const unsigned char*>(message.data()), message.size());
  if (ok != 1) return Status::Corruption("Ed25519 signature does not verify");
  return Status::OK();
}

std::string DssePae(std::string_view payload_type, std::string_view payload) {
  return "DSSEv1 " + std::to_string(payload_type.size()) + " " + std::string(payload_type) + " " +
         std::to_string(payload.size()) + " " + std::string(payload);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool Base64Decode(std::string_view text, std::string* bytes) {
  if (text.size() % 4 != 0) return false;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return false;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  out.resize(static_cast<size_t>(n) - padding);
  // EVP_DecodeBlock tolerates whitespace and ignores unused low bits; only the canonical text is accepted.
  if (Base64Encode(out) != text) return false;
  *bytes = std::move(out);
  return true;
}

}  // namespace pot
