#include "crypto/ecdsa.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>

#include "crypto/openssl_util.h"

namespace pot {
namespace {

using crypto_internal::Bio;
using crypto_internal::BioContents;
using crypto_internal::MdCtx;
using crypto_internal::MemBio;
using crypto_internal::Pkey;

bool IsP256(EVP_PKEY* key) {
  char group[64] = {0};
  size_t n = 0;
  return EVP_PKEY_get_id(key) == EVP_PKEY_EC && EVP_PKEY_get_group_name(key, group, sizeof(group), &n) == 1 &&
         (std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0);
}

Status PublicPem(EVP_PKEY* key, std::string* out) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return Status::Internal("OpenSSL could not encode a public key");
  *out = BioContents(bio.get());
  return Status::OK();
}

Status FromPrivatePem(const std::string& pem, const std::string& origin, EcdsaKey* out) {
  Bio bio = MemBio(pem);
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::Corruption(origin + ": not a PEM private key");
  if (!IsP256(key.get())) return Status::Unsupported(origin + ": not an ECDSA P-256 key (pot keygen --type ecdsa-p256)");
  out->private_pem = pem;
  return PublicPem(key.get(), &out->public_pem);
}

}  // namespace

Status GenerateEcdsaKey(EcdsaKey* out) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!crypto_internal::PrivatePem(key.get(), &out->private_pem)) {
    return Status::Internal("OpenSSL could not generate an ECDSA P-256 key");
  }
  return PublicPem(key.get(), &out->public_pem);
}

Status ReadEcdsaKey(Env* env, const std::string& path, EcdsaKey* out) {
  std::string pem;
  POT_RETURN_IF_ERROR(ReadFileToString(env, path, &pem));
  POT_RETURN_IF_ERROR(FromPrivatePem(pem, path, out));
  WarnIfUnprotectedKey(env, path);  // as ReadSigningKey: a file that is not a key holds no secret to warn about
  return Status::OK();
}

Status EcdsaSign(const EcdsaKey& key, std::string_view message, std::string* signature) {
  Bio bio = MemBio(key.private_pem);
  Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  MdCtx ctx(EVP_MD_CTX_new());
  size_t n = 0;
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  if (!pkey || !ctx || !IsP256(pkey.get()) || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &n, msg, message.size()) != 1) {
    return Status::Internal("OpenSSL could not sign with ECDSA P-256");
  }
  signature->resize(n);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature->data()), &n, msg, message.size()) != 1) {
    return Status::Internal("OpenSSL could not sign with ECDSA P-256");
  }
  signature->resize(n);  // DER: the maximum size was reserved, the encoding may be shorter
  return Status::OK();
}

const char* KeyTypeName(KeyType type) { return type == KeyType::kEd25519 ? "ed25519" : "ecdsa-p256"; }

Status ParsePublicKeyPem(const std::string& pem, const std::string& origin, PublicKey* out) {
  Bio bio = MemBio(pem);
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::Corruption(origin + ": not a PEM public key");
  PublicKey k;
  if (EVP_PKEY_get_id(key.get()) == EVP_PKEY_ED25519) {
    k.type = KeyType::kEd25519;
  } else if (IsP256(key.get())) {
    k.type = KeyType::kEcdsaP256;
  } else {
    return Status::Unsupported(origin + ": neither an Ed25519 nor an ECDSA P-256 key");
  }
  POT_RETURN_IF_ERROR(PublicPem(key.get(), &k.pem));
  *out = std::move(k);
  return Status::OK();
}

Status ReadAnyPublicKey(Env* env, const std::string& path, PublicKey* out) {
  std::string pem;
  POT_RETURN_IF_ERROR(ReadFileToString(env, path, &pem));
  return ParsePublicKeyPem(pem, path, out);
}

Status VerifyWithPublicKey(const PublicKey& key, std::string_view message, std::string_view signature) {
  Bio bio = MemBio(key.pem);
  Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  MdCtx ctx(EVP_MD_CTX_new());
  // Ed25519 hashes internally (no digest is given); P-256 signs SHA-256 of the message.
  const EVP_MD* md = key.type == KeyType::kEd25519 ? nullptr : EVP_sha256();
  if (!pkey || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey.get()) != 1) {
    return Status::Internal("OpenSSL could not set up signature verification");
  }
  const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                  reinterpret_cast<const unsigned char*>(message.data()), message.size());
  if (ok != 1) return Status::Corruption(std::string(KeyTypeName(key.type)) + " signature does not verify");
  return Status::OK();
}

}  // namespace pot
