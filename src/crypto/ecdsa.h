// ECDSA over NIST P-256 with SHA-256 through OpenSSL, and public keys of either kind pot signs with.
// P-256 is the key type the OpenSSF Model Signing format's key verifier accepts (it refuses Ed25519) and one
// Sigstore bundles name by hint; its signatures are DER (the ASN.1 SEQUENCE of r and s), as both carry them.
// Private keys are PKCS#8 PEM files read like Ed25519 ones (ReadSigningKey: a warning when group or others
// can read the file); public keys are SubjectPublicKeyInfo PEM, re-encoded canonically as OpenSSL writes them.
#pragma once

#include <string>
#include <string_view>

#include "env/env.h"

namespace pot {

struct EcdsaKey {
  std::string private_pem;  // PKCS#8
  std::string public_pem;   // SubjectPublicKeyInfo, canonical
};

Status GenerateEcdsaKey(EcdsaKey* out);
// Reads a private key file; Unsupported when it holds another kind of key (an Ed25519 one, another curve).
Status ReadEcdsaKey(Env* env, const std::string& path, EcdsaKey* out);
// DER signature of SHA-256(message).
Status EcdsaSign(const EcdsaKey& key, std::string_view message, std::string* signature);

enum class KeyType { kEd25519, kEcdsaP256 };
const char* KeyTypeName(KeyType type);  // "ed25519", "ecdsa-p256"

// A public key of either kind, as a verifier names and uses it.
struct PublicKey {
  KeyType type = KeyType::kEd25519;
  std::string pem;  // canonical SubjectPublicKeyInfo PEM
};
// Corruption when pem is not a PEM public key, Unsupported for a kind other than Ed25519 or P-256.
Status ParsePublicKeyPem(const std::string& pem, const std::string& origin, PublicKey* out);
Status ReadAnyPublicKey(Env* env, const std::string& path, PublicKey* out);
// OK when signature is key's over message: Ed25519 (64 raw bytes) or ECDSA P-256 over SHA-256 (DER);
// Corruption otherwise.
Status VerifyWithPublicKey(const PublicKey& key, std::string_view message, std::string_view signature);

}  // namespace pot
