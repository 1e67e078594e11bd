// The OpenSSF Model Signing (OMS) signature, v1.0 of its predicate, as sigstore/model-transparency publishes
// it (src/model_signing/_signing/signing.py, Payload and dsse_payload_to_manifest; docs/formats.md "Model
// signature"): an in-toto Statement v1 with ONE subject (the model's name, and the SHA-256 over its resources'
// raw digests in name order) and predicateType https://model_signing/signature/v1.0, whose predicate holds
// `serialization` (method "files", hash_type "sha256", allow_symlinks false, ignore_paths) and `resources`
// (name, algorithm "sha256", hex digest; one per file, sorted by name). pot adds `pot`: the weight manifest's
// roots, which OMS verifiers ignore. Carried in a Sigstore bundle (sigstore/bundle.h) signed with ECDSA P-256.
//
// Resource names follow OMS's serializer (_serialization/file.py): paths relative to the model path. pot
// signs a single-file model as the file itself, so its one resource is named "." and `model_signing verify`
// takes the file; a split model is its directory, its resources the shard names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "env/env.h"
#include "manifest/manifest.h"
#include "sigstore/bundle.h"

namespace pot::sigstore {

inline constexpr char kOmsPredicateType[] = "https://model_signing/signature/v1.0";

struct Resource {
  std::string name;    // relative POSIX path, "." for a single-file model
  std::string sha256;  // lowercase hex
};

struct ModelStatement {
  std::string model_name;            // informative only (OMS ignores it when comparing)
  std::vector<Resource> resources;   // sorted by name, names unique
  std::vector<std::string> ignore_paths;
  struct PotRoots {
    std::string root, weights_root;  // hex, as in the weight manifest
    uint64_t tensor_count = 0;
  };
  std::optional<PotRoots> pot;
};

// Hex SHA-256 over the resources' raw digests, in order: the subject digest.
std::string SubjectDigest(const std::vector<Resource>& resources);

// The statement of the model m was hashed from (with file digests), signed to signature_path.
Status StatementFromManifest(const manifest::Manifest& m, const std::string& model_path,
                             const std::string& signature_path, ModelStatement* out);
std::string StatementJson(const ModelStatement& s);
// The published checks on a payload (signing.py, Verifier.verify and dsse_payload_to_manifest): in-toto
// Statement v1, the predicate type, one subject, serialization "files" over sha256, and a subject digest
// equal to the resources'. Corruption naming the first that fails.
Status ParseStatement(const std::string& payload, ModelStatement* out);

// Verifies a parsed bundle (ParseBundle) as an OMS signature by key: signer, signature, payload type and
// statement. Corruption, with the reason, when it does not verify; Unsupported when key is not ECDSA P-256
// (OMS's key verifier, _signing/sign_ec_key.py, accepts only elliptic-curve keys).
Status OpenSignature(const Bundle& bundle, const PublicKey& key, ModelStatement* out);

// Checks the model at model_path, hashed into actual (with file digests), against a verified statement:
// every resource's SHA-256 recomputed (the model's files from actual, any other file it names from disk,
// relative to the model's directory), every file of the model signed, and pot's roots when it carries them.
// Corruption naming the first difference.
Status CheckModel(Env* env, const ModelStatement& signed_statement, const std::string& model_path,
                  const manifest::Manifest& actual);

}  // namespace pot::sigstore
