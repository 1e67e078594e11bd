#include "sigstore/bundle.h"

#include <nlohmann/json.hpp>

#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "text/text.h"
#include "util/json.h"

namespace pot::sigstore {
namespace {

using json = nlohmann::ordered_json;

// A string field of an object; throws (reported as Corruption) when it is absent or not a string.
std::string StringAt(const json& object, const char* key) {
  const json& v = object.at(key);
  if (!v.is_string()) throw std::out_of_range(std::string(key) + ": not a string");
  return v.get<std::string>();
}

}  // namespace

std::string KeyHint(const std::string& public_pem) { return ToHex(Sha256Of(public_pem)); }

std::string RenderBundle(const Bundle& b) {
  // Field names and nesting as protobuf-specs' JSON form of dev.sigstore.bundle.v1.Bundle.
  json j = {{"mediaType", kBundleMediaType},
            {"verificationMaterial", {{"publicKey", {{"hint", b.hint}}}, {"tlogEntries", json::array()}}},
            {"dsseEnvelope",
             {{"payload", Base64Encode(b.payload)},
              {"payloadType", b.payload_type},
              {"signatures", json::array({{{"sig", Base64Encode(b.signature)}, {"keyid", ""}}})}}}};
  return text::DumpJson(j) + "\n";
}

Status ParseBundle(const std::string& text, Bundle* out) {
  const json j = ParseJson<json>(text);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("sigstore bundle: not a JSON object");
  Bundle b;
  try {
    const std::string media_type = StringAt(j, "mediaType");
    if (media_type != kBundleMediaType) {
      return Status::Unsupported("sigstore bundle: media type '" + media_type + "', not " + kBundleMediaType);
    }
    const json& material = j.at("verificationMaterial");
    if (!material.is_object() || !material.contains("publicKey")) {
      return Status::Unsupported("sigstore bundle: verification material is not a public key (certificates are not supported)");
    }
    b.hint = StringAt(material.at("publicKey"), "hint");
    // Log entries and timestamps would add trust pot does not check; a bundle carrying them is not what pot reads.
    if (material.contains("tlogEntries") && !(material["tlogEntries"].is_array() && material["tlogEntries"].empty())) {
      return Status::Unsupported("sigstore bundle: transparency-log entries are not supported");
    }
    if (material.contains("timestampVerificationData")) {
      return Status::Unsupported("sigstore bundle: timestamps are not supported");
    }
    const json& envelope = j.at("dsseEnvelope");
    b.payload_type = StringAt(envelope, "payloadType");
    const json& sigs = envelope.at("signatures");
    if (!sigs.is_array() || sigs.size() != 1) return Status::Corruption("sigstore bundle: expected exactly one signature");
    if (!Base64Decode(StringAt(envelope, "payload"), &b.payload) || !Base64Decode(StringAt(sigs[0], "sig"), &b.signature)) {
      return Status::Corruption("sigstore bundle: malformed base64");
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("sigstore bundle: ") + e.what());
  }
  *out = std::move(b);
  return Status::OK();
}

Status VerifyBundle(const Bundle& b, const PublicKey& key) {
  const std::string hint = KeyHint(key.pem);
  if (b.hint != hint) return Status::Corruption("signed by another key (hint " + b.hint + ", the trusted key's is " + hint + ")");
  return VerifyWithPublicKey(key, DssePae(b.payload_type, b.payload), b.signature);
}

}  // namespace pot::sigstore
