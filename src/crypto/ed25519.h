// Ed25519 signatures (RFC 8032) through OpenSSL, DSSE's pre-authentication encoding, and base64: what a
// signed evidence bundle needs.
#pragma once

#include <string>
#include <string_view>

#include "env/env.h"

namespace pot {

// A private key (PKCS#8 PEM) and its raw 32-byte public key.
struct SigningKey {
  std::string private_pem;
  std::string public_raw;
};

Status GenerateSigningKey(SigningKey* out);
// Reads a private key file (PKCS#8 PEM, Ed25519 only) and derives its public key; warns on stderr when
// the file's mode lets others read it (WarnIfUnprotectedKey).
Status ReadSigningKey(Env* env, const std::string& path, SigningKey* out);
// Reads a public key: a PEM file (SubjectPublicKeyInfo, as `pot keygen` writes KEY.pub).
Status ReadPublicKey(Env* env, const std::string& path, std::string* public_raw);
std::string PublicKeyPem(std::string_view public_raw);
// The key id pot prints and records: hex SHA-256 of the raw public key.
std::string KeyId(std::string_view public_raw);

Status Sign(const SigningKey& key, std::string_view message, std::string* signature);
// OK when signature is public_raw's Ed25519 signature of message; Corruption otherwise.
Status VerifySignature(std::string_view public_raw, std::string_view message, std::string_view signature);

// DSSE v1 pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body (lengths in
// ASCII decimal), the bytes that are actually signed.
std::string DssePae(std::string_view payload_type, std::string_view payload);

std::string Base64Encode(std::string_view bytes);
// Strict: standard alphabet with padding, no whitespace, and the canonical encoding only (so that one
// byte sequence has exactly one accepted text).
bool Base64Decode(std::string_view text, std::string* bytes);

}  // namespace pot
