// manifest: the per-tensor SHA-256 commitment of a GGUF model's weights (docs/formats.md, "Weight manifest").
// Leaves: one per shard's metadata section, then one per tensor sorted by name; RFC 6962 roots over
// all leaves (`root`) and over the tensor leaves alone (`weights_root`), so identical weights under
// different metadata are visible as an identical weights_root.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "crypto/sha256.h"
#include "env/env.h"

namespace pot::manifest {

inline constexpr int kVersion = 1;

struct TensorEntry {
  std::string name;  // the bytes of the GGUF name, UTF-8 or not: the leaf hashes them
  uint32_t type = 0;
  std::vector<int64_t> shape;
  uint64_t nbytes = 0;
  Digest sha256{};
  uint32_t shard = 0;
  uint64_t offset = 0;  // absolute file offset; informational, not part of the leaf
};

struct ShardEntry {
  std::string file;  // base name, escaped if it is not UTF-8 (docs/formats.md, "Strings that are not UTF-8")
  uint64_t size = 0;
  uint32_t gguf_version = 0;
  uint64_t n_kv = 0;
  Digest metadata_sha256{};  // SHA-256 of the shard's key/value section bytes
  std::string file_sha256;   // hex SHA-256 of the whole shard file; empty unless asked for
};

struct Manifest {
  std::vector<ShardEntry> shards;
  std::vector<TensorEntry> tensors;  // sorted by name
  std::string root;                  // hex
  std::string weights_root;          // hex
};

struct HashOptions {
  int threads = 0;               // 0: every core
  bool file_digest = false;      // also SHA-256 each whole shard file (for in-toto subjects)
  std::function<void(uint64_t done, uint64_t total)> progress;  // called from the calling thread
};

// Hashes the model at path (the first shard of a split model: every shard is included).
Status HashModel(Env* env, const std::string& path, const HashOptions& options, Manifest* out);

// Leaf data (before RFC 6962 leaf hashing), in tree order: shards' metadata, then tensors.
std::vector<std::string> LeafData(const Manifest& m);
std::string TensorLeafData(const TensorEntry& t);
// Sorts tensors and fills root and weights_root from the entries.
void ComputeRoots(Manifest* m);

// A tensor name in JSON (manifests and proofs): "name" holds it, escaped if it is not UTF-8, and then
// "name_hex" holds its bytes, so the leaf can be recomputed. GetTensorName is false on a malformed pair.
void PutTensorName(const std::string& name, nlohmann::ordered_json* j);
bool GetTensorName(const nlohmann::json& j, std::string* name);

std::string ToJson(const Manifest& m);
Status FromJson(const std::string& text, const std::string& origin, Manifest* out);
// An in-toto Statement v1 whose subjects are the shard files (requires their file_sha256).
std::string InTotoStatement(const Manifest& m);

// An RFC 6962 inclusion proof that one tensor is a leaf of a manifest's root: what `pot proof tensor` writes
// and `pot proof verify` reads (docs/formats.md, "Tensor inclusion proof"). The leaf is not stored but
// recomputed from the tensor's fields, so the proof binds name, type, shape, size and digest.
struct TensorProof {
  TensorEntry tensor;  // name, type, shape, nbytes, sha256
  std::string root;    // raw bytes
  uint64_t tree_size = 0, leaf_index = 0;
  std::vector<std::string> path;  // raw sibling hashes, leaf to root
};
// NotFound when m has no tensor of that name.
Status ProveTensor(const Manifest& m, const std::string& name, TensorProof* out);
std::string ProofToJson(const TensorProof& p);
Status ProofFromJson(const std::string& text, const std::string& origin, TensorProof* out);

struct Comparison {
  std::vector<std::string> changed, missing, extra;  // tensor names
  bool metadata_changed = false;
  bool Identical() const { return changed.empty() && missing.empty() && extra.empty() && !metadata_changed; }
};
Comparison Compare(const Manifest& expected, const Manifest& actual);

}  // namespace pot::manifest
