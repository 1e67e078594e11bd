// A Sigstore bundle v0.3 (media type application/vnd.dev.sigstore.bundle.v0.3+json, docs/formats.md
// "Sigstore bundle") holding one DSSE envelope signed with a public key: verification material is the key's
// hint alone, with no certificate, no transparency-log entry and no timestamp, which Sigstore verifiers
// (@sigstore/verify with thresholds 0, the OpenSSF Model Signing key verifier) accept given the key.
// The hint is the hex SHA-256 of the key's canonical SubjectPublicKeyInfo PEM, the OpenSSF Model Signing
// convention. Signing stays with the caller: it signs DssePae(payload_type, payload) (crypto/ed25519.h).
#pragma once

#include <string>

#include "crypto/ecdsa.h"
#include "util/status.h"

namespace pot::sigstore {

inline constexpr char kBundleMediaType[] = "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr char kInTotoPayloadType[] = "application/vnd.in-toto+json";

struct Bundle {
  std::string payload_type;
  std::string payload;    // the bytes signed (through DSSE's PAE)
  std::string signature;  // raw: Ed25519 64 bytes, ECDSA DER
  std::string hint;       // KeyHint of the signer's public key
};

// Hex SHA-256 of a canonical public key PEM (PublicKey::pem).
std::string KeyHint(const std::string& public_pem);

// The bundle as compact JSON and a newline.
std::string RenderBundle(const Bundle& b);
// Reads a bundle: Corruption for malformed JSON, fields or base64, Unsupported for another media type or
// verification material other than a public-key hint (certificates, logs).
Status ParseBundle(const std::string& text, Bundle* out);
// OK when b is signed by key: its hint names key and the signature over DSSE's PAE verifies. Corruption
// naming which of the two failed.
Status VerifyBundle(const Bundle& b, const PublicKey& key);

}  // namespace pot::sigstore
