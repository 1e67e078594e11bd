#include "evidence/bundle.h"

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "sigstore/bundle.h"
#include "text/text.h"
#include "util/json.h"

namespace pot::evidence {
namespace {

using json = nlohmann::ordered_json;

json Subject(const ModelRef& m, const char* role) {
  json subjects = json::array();
  for (size_t i = 0; i < m.files.size(); ++i) {
    subjects.push_back({{"name", m.files[i]},
                        {"digest", {{"sha256", m.file_sha256s[i]}}},
                        {"annotations", {{"pot.role", role}, {"pot.manifest_root", m.manifest_root},
                                         {"pot.weights_root", m.weights_root}}}});
  }
  return subjects;
}

std::string RenderBundle(const Bundle& b) {
  json j = {{"format", "pot.bundle"},
            {"version", kBundleVersion},
            {"dsse",
             {{"payloadType", kPayloadType},
              {"payload", Base64Encode(b.payload)},
              {"signatures", json::array({{{"keyid", KeyId(b.public_key)}, {"sig", Base64Encode(b.signature)}}})}}},
            {"public_key", Base64Encode(b.public_key)},
            {"transcript", b.transcript}};
  return text::DumpJson(j) + "\n";
}

}  // namespace

std::string StatementJson(const Claim& c) {
  json subjects = Subject(c.header.reference, "reference");
  if (const auto& file = c.header.reference_file) {
    subjects.push_back({{"name", file->name},
                        {"digest", {{"sha256", file->sha256}}},
                        {"annotations", {{"pot.role", "reference-file"}, {"pot.signer", file->signer_hex},
                                         {"pot.signer_trust", file->signer_trust}}}});
  }
  for (auto& s : Subject(c.header.candidate, "candidate")) subjects.push_back(s);
  if (const auto& e = c.header.endpoint) {
    // An endpoint has no file to digest: the subject is its URL, digested as bytes, and what it said it serves.
    subjects.push_back({{"name", e->url},
                        {"digest", {{"sha256", ToHex(Sha256Of(e->url))}}},
                        {"annotations", {{"pot.role", "endpoint"}, {"pot.api", e->api},
                                         {"pot.model_requested", e->model_requested},
                                         {"pot.model_served", e->model_served},
                                         {"pot.fingerprint", e->fingerprint}}}});
  }
  json j = {{"_type", "https://in-toto.io/Statement/v1"},
            {"subject", subjects},
            {"predicateType", kPredicateType},
            {"predicate",
             {{"header", json::parse(HeaderLine(c.header))},
              {"key_hex", c.key_hex},
              {"transcript", {{"root", c.transcript_root}, {"size", c.transcript_size}, {"tree", "rfc6962-sha256"}}},
              {"outcome", json::parse(OutcomeLine(c.outcome))}}}};
  return text::DumpJson(j);
}

Status ParseStatement(const std::string& text, Claim* out) {
  const json j = ParseJson<json>(text);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("statement: not a JSON object");
  try {
    if (j.at("_type").get<std::string>() != "https://in-toto.io/Statement/v1") {
      return Status::Corruption("statement: not an in-toto Statement v1");
    }
    if (j.at("predicateType").get<std::string>() != kPredicateType) {
      return Status::Corruption("statement: predicate type is not " + std::string(kPredicateType));
    }
    const json& p = j.at("predicate");
    Transcript parsed;
    POT_RETURN_IF_ERROR(ParseTranscript({p.at("header").dump(), p.at("outcome").dump()}, &parsed));
    if (!parsed.finished) return Status::Corruption("statement: no outcome");
    Claim c;
    c.header = parsed.header;
    c.outcome = parsed.outcome;
    c.key_hex = p.at("key_hex").get<std::string>();
    const json& t = p.at("transcript");
    c.transcript_root = t.at("root").get<std::string>();
    c.transcript_size = IntegerAt<uint64_t>(t, "size");
    if (t.at("tree").get<std::string>() != "rfc6962-sha256") return Status::Corruption("statement: unknown tree");
    if (StatementJson(c) != text) return Status::Corruption("statement: subjects or fields are not what pot writes");
    *out = std::move(c);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("statement: ") + e.what());
  }
  return Status::OK();
}

Status MakeBundle(const SigningKey& key, const Claim& claim, const std::vector<std::string>& transcript,
                  std::string* text) {
  Bundle b;
  b.payload = StatementJson(claim);
  POT_RETURN_IF_ERROR(Sign(key, DssePae(kPayloadType, b.payload), &b.signature));
  b.public_key = key.public_raw;
  b.transcript = transcript;
  *text = RenderBundle(b);
  return Status::OK();
}

Status MakeSigstoreBundle(const SigningKey& key, const Claim& claim, std::string* text) {
  sigstore::Bundle b;
  b.payload_type = kPayloadType;
  b.payload = StatementJson(claim);
  POT_RETURN_IF_ERROR(Sign(key, DssePae(b.payload_type, b.payload), &b.signature));
  b.hint = sigstore::KeyHint(PublicKeyPem(key.public_raw));
  *text = sigstore::RenderBundle(b);
  return Status::OK();
}

Status ParseBundle(const std::string& text, Bundle* out) {
  const json j = ParseJson<json>(text);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("bundle: not JSON");
  Bundle b;
  try {
    if (j.at("format").get<std::string>() != "pot.bundle") return Status::Corruption("bundle: not a pot bundle");
    if (IntegerAt<int>(j, "version") != kBundleVersion) return Status::Unsupported("bundle: unsupported version");
    const json& d = j.at("dsse");
    if (d.at("payloadType").get<std::string>() != kPayloadType) return Status::Corruption("bundle: payload type");
    const json& sigs = d.at("signatures");
    if (!sigs.is_array() || sigs.size() != 1) return Status::Corruption("bundle: expected exactly one signature");
    if (!Base64Decode(d.at("payload").get<std::string>(), &b.payload) ||
        !Base64Decode(sigs[0].at("sig").get<std::string>(), &b.signature) ||
        !Base64Decode(j.at("public_key").get<std::string>(), &b.public_key)) {
      return Status::Corruption("bundle: malformed base64");
    }
    b.transcript = j.at("transcript").get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bundle: ") + e.what());
  }
  if (RenderBundle(b) != text) return Status::Corruption("bundle: not in canonical form (edited or re-encoded)");
  *out = std::move(b);
  return Status::OK();
}

}  // namespace pot::evidence
