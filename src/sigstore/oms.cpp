#include "sigstore/oms.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "crypto/hmac.h"
#include "crypto/sha256.h"
#include "text/text.h"
#include "util/json.h"

namespace pot::sigstore {
namespace {

using json = nlohmann::ordered_json;

constexpr char kStatementType[] = "https://in-toto.io/Statement/v1";

std::string StringAt(const json& object, const char* key) {
  const json& v = object.at(key);
  if (!v.is_string()) throw std::out_of_range(std::string(key) + ": not a string");
  return v.get<std::string>();
}

std::string BaseName(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// The directory a model's files are named relative to, as an absolute, normalized path.
std::filesystem::path ModelDir(const std::string& model_path) {
  return std::filesystem::absolute(model_path).lexically_normal().parent_path();
}

// OMS's rule for a resource name (_filesystem.py, relative_path_parts): a relative POSIX path without "..".
bool SafeName(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  for (const auto& part : std::filesystem::path(name)) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

std::string SubjectDigest(const std::vector<Resource>& resources) {
  Sha256 h;
  for (const auto& r : resources) {
    std::string raw;
    FromHex(r.sha256, &raw);  // the resources' digests are checked hex (ParseStatement) or pot's own
    h.Update(raw);
  }
  return ToHex(h.Final());
}

Status StatementFromManifest(const manifest::Manifest& m, const std::string& model_path,
                             const std::string& signature_path, ModelStatement* out) {
  ModelStatement s;
  for (const auto& shard : m.shards) {
    if (shard.file_sha256.empty()) return Status::Internal("model signature: the model was hashed without file digests");
  }
  if (m.shards.size() == 1) {
    // The model is the file itself: OMS names it "." relative to itself, and its name is the file's.
    s.model_name = BaseName(model_path);
    s.resources.push_back({".", m.shards[0].file_sha256});
  } else {
    const std::filesystem::path dir = ModelDir(model_path);
    s.model_name = dir.filename().string();
    for (const auto& shard : m.shards) s.resources.push_back({shard.file, shard.file_sha256});
    std::sort(s.resources.begin(), s.resources.end(), [](const Resource& a, const Resource& b) { return a.name < b.name; });
    // A signature written into the model's directory is not part of the model (OMS's CLI ignores it too).
    if (ModelDir(signature_path) == dir) s.ignore_paths.push_back(BaseName(signature_path));
  }
  s.pot = ModelStatement::PotRoots{m.root, m.weights_root, m.tensors.size()};
  *out = std::move(s);
  return Status::OK();
}

std::string StatementJson(const ModelStatement& s) {
  json resources = json::array();
  for (const auto& r : s.resources) resources.push_back({{"name", r.name}, {"algorithm", "sha256"}, {"digest", r.sha256}});
  json predicate = {{"serialization",
                     {{"method", "files"}, {"hash_type", "sha256"}, {"allow_symlinks", false}, {"ignore_paths", s.ignore_paths}}},
                    {"resources", resources}};
  if (s.pot) {
    predicate["pot"] = {{"format", "pot.manifest"}, {"version", manifest::kVersion}, {"root", s.pot->root},
                        {"weights_root", s.pot->weights_root}, {"tensor_count", s.pot->tensor_count}};
  }
  json j = {{"_type", kStatementType},
            {"subject", json::array({{{"name", s.model_name}, {"digest", {{"sha256", SubjectDigest(s.resources)}}}}})},
            {"predicateType", kOmsPredicateType},
            {"predicate", predicate}};
  return text::DumpJson(j);
}

Status ParseStatement(const std::string& payload, ModelStatement* out) {
  const json j = ParseJson<json>(payload);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("model signature: the payload is not a JSON object");
  ModelStatement s;
  try {
    if (StringAt(j, "_type") != kStatementType) return Status::Corruption("model signature: not an in-toto Statement v1");
    const std::string type = StringAt(j, "predicateType");
    if (type != kOmsPredicateType) {
      return Status::Corruption("model signature: predicate type '" + type + "', not " + kOmsPredicateType);
    }
    const json& subjects = j.at("subject");
    if (!subjects.is_array() || subjects.size() != 1) return Status::Corruption("model signature: expected exactly one subject");
    s.model_name = StringAt(subjects[0], "name");
    const std::string subject_digest = StringAt(subjects[0].at("digest"), "sha256");
    const json& predicate = j.at("predicate");
    const json& serialization = predicate.at("serialization");
    if (StringAt(serialization, "method") != "files" || StringAt(serialization, "hash_type") != "sha256") {
      return Status::Corruption("model signature: pot reads the \"files\" serialization over sha256 only");
    }
    if (serialization.contains("ignore_paths")) s.ignore_paths = serialization.at("ignore_paths").get<std::vector<std::string>>();
    const json& resources = predicate.at("resources");
    if (!resources.is_array() || resources.empty()) return Status::Corruption("model signature: no resources");
    for (const json& r : resources) {
      Resource res{StringAt(r, "name"), StringAt(r, "digest")};
      std::string raw;
      if (StringAt(r, "algorithm") != "sha256" || !FromHex(res.sha256, &raw) || raw.size() != 32 || HexOf(raw) != res.sha256) {
        return Status::Corruption("model signature: resource '" + res.name + "' has no lowercase hex sha256 digest");
      }
      if (!SafeName(res.name)) return Status::Corruption("model signature: resource name '" + res.name + "' leaves the model");
      s.resources.push_back(std::move(res));
    }
    // The subject digest is over the resources in the order the payload lists them (dsse_payload_to_manifest).
    const std::string computed = SubjectDigest(s.resources);
    if (computed != subject_digest) {
      return Status::Corruption("model signature: the subject digest " + subject_digest + " is not the resources' " + computed);
    }
    std::sort(s.resources.begin(), s.resources.end(), [](const Resource& a, const Resource& b) { return a.name < b.name; });
    for (size_t i = 1; i < s.resources.size(); ++i) {
      if (s.resources[i].name == s.resources[i - 1].name) {
        return Status::Corruption("model signature: resource '" + s.resources[i].name + "' is listed twice");
      }
    }
    if (s.resources.size() > 1 && s.resources.front().name == ".") {
      return Status::Corruption("model signature: resource '.' (a single-file model) beside other resources");
    }
    if (predicate.contains("pot")) {
      const json& p = predicate.at("pot");
      s.pot = ModelStatement::PotRoots{StringAt(p, "root"), StringAt(p, "weights_root"), IntegerAt<uint64_t>(p, "tensor_count")};
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("model signature: ") + e.what());
  }
  *out = std::move(s);
  return Status::OK();
}

Status OpenSignature(const Bundle& bundle, const PublicKey& key, ModelStatement* out) {
  if (key.type != KeyType::kEcdsaP256) {
    return Status::Unsupported(std::string("model signatures are ECDSA P-256, the trusted key is ") + KeyTypeName(key.type));
  }
  POT_RETURN_IF_ERROR(VerifyBundle(bundle, key));
  if (bundle.payload_type != kInTotoPayloadType) {
    return Status::Corruption("model signature: payload type '" + bundle.payload_type + "', not " + kInTotoPayloadType);
  }
  return ParseStatement(bundle.payload, out);
}

Status CheckModel(Env* env, const ModelStatement& signed_statement, const std::string& model_path,
                  const manifest::Manifest& actual) {
  const auto& signed_resources = signed_statement.resources;
  const bool single_file = signed_resources.size() == 1 && signed_resources[0].name == ".";
  // The model's own files, by the name the signature gives them.
  std::map<std::string, std::string> model_files;
  if (single_file && actual.shards.size() == 1) {
    model_files["."] = actual.shards[0].file_sha256;
  } else {
    for (const auto& shard : actual.shards) model_files[shard.file] = shard.file_sha256;
  }
  const std::filesystem::path dir = ModelDir(model_path);
  for (const auto& r : signed_resources) {
    std::string digest;
    if (auto it = model_files.find(r.name); it != model_files.end()) {
      digest = it->second;
    } else if (single_file) {
      return Status::Corruption("the signature is for a single-file model, " + model_path + " is split");
    } else {
      // A file of the signed directory that is not one of the model's shards (a tokenizer, a README).
      Digest d;
      const Status s = Sha256OfFile(env, (dir / r.name).string(), &d);
      if (!s.ok()) return Status::Corruption("signed file '" + r.name + "': " + s.message());
      digest = ToHex(d);
    }
    if (digest != r.sha256) {
      const std::string shown = r.name == "." ? model_path : r.name;
      return Status::Corruption("'" + shown + "' has SHA-256 " + digest + ", the signature says " + r.sha256);
    }
  }
  for (const auto& file : model_files) {
    const bool signed_file = std::any_of(signed_resources.begin(), signed_resources.end(),
                                         [&](const Resource& r) { return r.name == file.first; });
    if (!signed_file) return Status::Corruption("'" + file.first + "' is part of the model but not of the signature");
  }
  if (const auto& p = signed_statement.pot; p && (p->root != actual.root || p->weights_root != actual.weights_root)) {
    return Status::Corruption("the signature's pot roots are not the model's (root " + actual.root + ")");
  }
  return Status::OK();
}

}  // namespace pot::sigstore
