#include "manifest/manifest.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "crypto/hmac.h"
#include "gguf/gguf.h"
#include "merkle/merkle.h"
#include "text/text.h"
#include "util/json.h"

namespace pot::manifest {
namespace {

using json = nlohmann::ordered_json;

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The shard paths of a model: path alone, or every NAME-0000i-of-0000N.gguf when path is the first shard.
Status ShardPaths(const std::string& path, std::vector<std::string>* out) {
  static const std::regex split(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
  std::smatch m;
  if (!std::regex_match(path, m, split)) {
    out->push_back(path);
    return Status::OK();
  }
  const int index = std::stoi(m[2]), count = std::stoi(m[3]);
  if (index != 1) return Status::InvalidArgument(path + ": give the first shard (-00001-of-" + m[3].str() + ".gguf)");
  if (count < 1) return Status::Corruption(path + ": split count is zero");
  for (int i = 1; i <= count; ++i) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "-%05d-of-%05d.gguf", i, count);
    out->push_back(m[1].str() + suffix);
  }
  return Status::OK();
}

// One contiguous byte range to hash, done by whichever worker takes it.
struct Job {
  const RandomAccessFile* file;
  uint64_t offset, length;
  Digest* out;
};

// Runs jobs on a pool of threads (large sequential reads, one SHA-256 stream per job), reporting progress
// from the calling thread.
Status RunJobs(std::vector<Job>& jobs, const HashOptions& options) {
  uint64_t total = 0;
  for (const auto& j : jobs) total += j.length;
  // Longest first, so one big tensor does not finish alone at the end.
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.length > b.length; });
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int n_threads = std::max(1, std::min<int>(options.threads > 0 ? options.threads : hw,
                                                  static_cast<int>(jobs.size())));
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done{0};
  std::atomic<bool> failed{false};
  std::vector<Status> errors(static_cast<size_t>(n_threads));
  // Each worker's buffer is allocated here, before its thread starts, so that running out of memory or
  // threads is one Status rather than an exception escaping a worker (which would end the process).
  std::vector<std::vector<char>> buffers;
  buffers.reserve(static_cast<size_t>(n_threads));  // never reallocated while workers read it
  std::vector<std::thread> workers;
  // The progress loop below wakes every 100 ms, and at once when the last worker finishes: a small model's
  // hash should not wait out a poll interval.
  std::mutex finished_mu;
  std::condition_variable finished_cv;
  size_t finished = 0;
  Status started;
  for (int w = 0; w < n_threads && started.ok(); ++w) {
    try {
      std::vector<char>& buffer = buffers.emplace_back(8 << 20);
      workers.emplace_back([&, w] {
        for (size_t i; !failed && (i = next.fetch_add(1)) < jobs.size();) {
          Status s = Sha256OfRange(*jobs[i].file, jobs[i].offset, jobs[i].length, buffer, &done, jobs[i].out);
          if (!s.ok()) {
            errors[static_cast<size_t>(w)] = s;
            failed = true;
          }
        }
        std::lock_guard<std::mutex> lock(finished_mu);
        ++finished;
        finished_cv.notify_one();
      });
    } catch (const std::exception& e) {  // std::system_error or std::bad_alloc: stop the others, then say so
      started = Status::Internal("could not start hashing thread " + std::to_string(w + 1) + " of " +
                                 std::to_string(n_threads) + ": " + e.what());
      failed = true;
    }
  }
  if (options.progress) {
    std::unique_lock<std::mutex> lock(finished_mu);
    while (finished < workers.size()) {
      options.progress(done.load(), total);
      finished_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished == workers.size(); });
    }
  }
  for (auto& t : workers) t.join();
  POT_RETURN_IF_ERROR(started);
  if (options.progress && !failed) options.progress(total, total);
  for (const auto& e : errors) POT_RETURN_IF_ERROR(e);
  return Status::OK();
}

std::string MetadataLeafData(uint32_t shard, const ShardEntry& s) {
  return Lp("pot.leaf.metadata.v1") + U32Le(shard) + U32Le(s.gguf_version) + U64Le(s.n_kv) +
         std::string(AsBytes(s.metadata_sha256));
}

}  // namespace

std::string TensorLeafData(const TensorEntry& t) {
  std::string d = Lp("pot.leaf.tensor.v1") + Lp(t.name) + U32Le(t.type) + U32Le(static_cast<uint32_t>(t.shape.size()));
  for (int64_t ne : t.shape) d += U64Le(static_cast<uint64_t>(ne));
  return d + U64Le(t.nbytes) + std::string(AsBytes(t.sha256));
}

std::vector<std::string> LeafData(const Manifest& m) {
  std::vector<std::string> leaves;
  for (size_t i = 0; i < m.shards.size(); ++i) leaves.push_back(MetadataLeafData(static_cast<uint32_t>(i), m.shards[i]));
  for (const auto& t : m.tensors) leaves.push_back(TensorLeafData(t));
  return leaves;
}

void ComputeRoots(Manifest* m) {
  std::sort(m->tensors.begin(), m->tensors.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::string> all, weights;
  for (const auto& data : LeafData(*m)) all.push_back(merkle::LeafHash(data));
  weights.assign(all.begin() + static_cast<long>(m->shards.size()), all.end());
  m->root = HexOf(merkle::Root(all));
  m->weights_root = HexOf(merkle::Root(weights));
}

Status HashModel(Env* env, const std::string& path, const HashOptions& options, Manifest* out) {
  std::vector<std::string> paths;
  POT_RETURN_IF_ERROR(ShardPaths(path, &paths));
  Manifest m;
  std::vector<gguf::File> parsed(paths.size());
  std::vector<std::unique_ptr<RandomAccessFile>> files(paths.size());
  std::vector<Job> jobs;
  std::vector<Digest> whole_file(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    POT_RETURN_IF_ERROR(gguf::Read(env, paths[i], &parsed[i]));
    POT_RETURN_IF_ERROR(env->NewRandomAccessFile(paths[i], &files[i]));
    const gguf::File& f = parsed[i];
    if (paths.size() > 1) {
      auto no = f.GetUint("split.no"), count = f.GetUint("split.count");
      if (no && (*no != i || !count || *count != paths.size())) {
        return Status::Corruption(paths[i] + ": split.no/split.count disagree with the file name");
      }
    }
    // Escaped here, not only in JSON: a manifest read back describes its shards by the same names.
    ShardEntry shard{text::EscapeInvalidUtf8(BaseName(paths[i])), f.file_size, f.version, f.kvs.size(), {}, ""};
    m.shards.push_back(shard);
    for (const auto& t : f.tensors) {
      m.tensors.push_back({t.name, t.type, t.ne, t.nbytes, {}, static_cast<uint32_t>(i), t.file_offset});
    }
  }
  // Names must be unique across shards: the tensor leaves are keyed by name.
  std::map<std::string, int> seen;
  for (const auto& t : m.tensors) {
    if (++seen[t.name] > 1) return Status::Corruption(path + ": tensor '" + t.name + "' appears in two shards");
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    jobs.push_back({files[i].get(), parsed[i].kv_begin, parsed[i].kv_end - parsed[i].kv_begin, &m.shards[i].metadata_sha256});
    if (options.file_digest) jobs.push_back({files[i].get(), 0, parsed[i].file_size, &whole_file[i]});
  }
  for (auto& t : m.tensors) jobs.push_back({files[t.shard].get(), t.offset, t.nbytes, &t.sha256});
  POT_RETURN_IF_ERROR(RunJobs(jobs, options));
  if (options.file_digest) {
    for (size_t i = 0; i < paths.size(); ++i) m.shards[i].file_sha256 = ToHex(whole_file[i]);
  }
  ComputeRoots(&m);
  *out = std::move(m);
  return Status::OK();
}

void PutTensorName(const std::string& name, json* j) {
  (*j)["name"] = text::EscapeInvalidUtf8(name);
  if (!text::IsValidUtf8(name)) (*j)["name_hex"] = HexOf(name);
}

bool GetTensorName(const nlohmann::json& j, std::string* name) {
  const std::string& shown = j.at("name").get_ref<const std::string&>();
  if (!j.contains("name_hex")) {
    *name = shown;
    return true;
  }
  // Present only for a name that is not UTF-8, and it must be the one "name" shows.
  std::string bytes;
  if (!j["name_hex"].is_string() || !FromHex(j["name_hex"].get<std::string>(), &bytes) || text::IsValidUtf8(bytes) ||
      text::EscapeInvalidUtf8(bytes) != shown) {
    return false;
  }
  *name = std::move(bytes);
  return true;
}

std::string ToJson(const Manifest& m) {
  json shards = json::array(), tensors = json::array();
  for (const auto& s : m.shards) {
    json j = {{"file", s.file}, {"size", s.size}, {"gguf_version", s.gguf_version}, {"n_kv", s.n_kv},
              {"metadata_sha256", ToHex(s.metadata_sha256)}};
    if (!s.file_sha256.empty()) j["file_sha256"] = s.file_sha256;
    shards.push_back(j);
  }
  for (const auto& t : m.tensors) {
    json entry;
    PutTensorName(t.name, &entry);
    entry.update({{"type", gguf::TypeName(t.type)}, {"type_id", t.type}, {"shape", t.shape}, {"nbytes", t.nbytes},
                  {"sha256", ToHex(t.sha256)}, {"shard", t.shard}, {"offset", t.offset}});
    tensors.push_back(entry);
  }
  json j = {{"format", "pot.manifest"},
            {"version", kVersion},
            {"construction", "RFC 6962 SHA-256 Merkle tree; leaves: pot.leaf.metadata.v1 per shard, then "
                             "pot.leaf.tensor.v1 per tensor sorted by name (docs/formats.md)"},
            {"root", m.root},
            {"weights_root", m.weights_root},
            {"tensor_count", m.tensors.size()},
            {"shards", shards},
            {"tensors", tensors}};
  // ASCII, so that printing or viewing a manifest shows a hostile name's control characters as escapes.
  return text::DumpJson(j, 2, text::JsonText::kAscii) + "\n";
}

Status FromJson(const std::string& text, const std::string& origin, Manifest* out) {
  const auto j = ParseJson<nlohmann::json>(text);
  auto bad = [&](const std::string& what) { return Status::Corruption(origin + ": not a valid pot manifest (" + what + ")"); };
  if (j.is_discarded() || !HasValue(j, "format", "pot.manifest")) return bad("format");
  if (!HasValue(j, "version", kVersion)) return Status::Unsupported(origin + ": unknown manifest version");
  Manifest m;
  auto digest = [](const nlohmann::json& v, Digest* d) {
    std::string bytes;
    if (!v.is_string() || !FromHex(v.get<std::string>(), &bytes) || bytes.size() != 32) return false;
    std::copy(bytes.begin(), bytes.end(), d->begin());
    return true;
  };
  try {
    for (const auto& s : j.at("shards")) {
      ShardEntry e{s.at("file"), IntegerAt<uint64_t>(s, "size"), IntegerAt<uint32_t>(s, "gguf_version"),
                   IntegerAt<uint64_t>(s, "n_kv"), {}, s.value("file_sha256", "")};
      if (!digest(s.at("metadata_sha256"), &e.metadata_sha256)) return bad("metadata_sha256");
      m.shards.push_back(e);
    }
    for (const auto& t : j.at("tensors")) {
      TensorEntry e{"", IntegerAt<uint32_t>(t, "type_id"), IntegersAt<int64_t>(t, "shape"),
                    IntegerAt<uint64_t>(t, "nbytes"), {}, IntegerAt<uint32_t>(t, "shard"), IntegerAt<uint64_t>(t, "offset")};
      if (!GetTensorName(t, &e.name)) return bad("name_hex of " + t.at("name").get<std::string>());
      if (!digest(t.at("sha256"), &e.sha256)) return bad("sha256 of " + e.name);
      m.tensors.push_back(e);
    }
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  if (m.shards.empty()) return bad("no shards");
  ComputeRoots(&m);
  // The roots are recomputed from the entries: a manifest whose entries were edited no longer matches them.
  if (!HasValue(j, "root", m.root) || !HasValue(j, "weights_root", m.weights_root)) {
    return Status::Corruption(origin + ": the manifest's roots do not match its entries");
  }
  *out = std::move(m);
  return Status::OK();
}

std::string InTotoStatement(const Manifest& m) {
  json subjects = json::array();
  for (const auto& s : m.shards) subjects.push_back({{"name", s.file}, {"digest", {{"sha256", s.file_sha256}}}});
  json j = {{"_type", "https://in-toto.io/Statement/v1"},
            {"subject", subjects},
            {"predicateType", "https://github.com/pot-verify/pot/manifest/v1"},
            {"predicate", {{"root", m.root}, {"weights_root", m.weights_root}, {"tensor_count", m.tensors.size()},
                           {"construction", "pot.manifest v1 (docs/formats.md)"}}}};
  return text::DumpJson(j, 2) + "\n";
}

Status ProveTensor(const Manifest& m, const std::string& name, TensorProof* out) {
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    if (m.tensors[i].name != name) continue;
    std::vector<std::string> leaves;
    for (const auto& d : LeafData(m)) leaves.push_back(merkle::LeafHash(d));
    FromHex(m.root, &out->root);
    out->tensor = m.tensors[i];
    out->tree_size = leaves.size();
    out->leaf_index = m.shards.size() + i;
    out->path = merkle::InclusionProof(leaves, out->leaf_index);
    return Status::OK();
  }
  return Status::NotFound("no tensor named '" + name + "'");
}

std::string ProofToJson(const TensorProof& p) {
  const TensorEntry& t = p.tensor;
  json path = json::array();
  for (const auto& h : p.path) path.push_back(HexOf(h));
  json tensor;
  PutTensorName(t.name, &tensor);
  tensor.update({{"type_id", t.type}, {"shape", t.shape}, {"nbytes", t.nbytes}, {"sha256", ToHex(t.sha256)}});
  json j = {{"format", "pot.proof"}, {"version", 1}, {"root", HexOf(p.root)}, {"tree_size", p.tree_size},
            {"leaf_index", p.leaf_index}, {"tensor", tensor},
            {"leaf_hash", HexOf(merkle::LeafHash(TensorLeafData(t)))}, {"proof", path}};
  return text::DumpJson(j, 2, text::JsonText::kAscii) + "\n";
}

Status ProofFromJson(const std::string& text, const std::string& origin, TensorProof* out) {
  const auto j = ParseJson<nlohmann::json>(text);
  TensorProof p;
  std::string sha;
  try {
    if (j.is_discarded() || !HasValue(j, "format", "pot.proof") || !HasValue(j, "version", 1)) throw std::runtime_error("format");
    const auto& jt = j.at("tensor");
    if (!GetTensorName(jt, &p.tensor.name)) throw std::runtime_error("name_hex");
    p.tensor.type = IntegerAt<uint32_t>(jt, "type_id");
    p.tensor.shape = IntegersAt<int64_t>(jt, "shape");
    p.tensor.nbytes = IntegerAt<uint64_t>(jt, "nbytes");
    if (!FromHex(jt.at("sha256").get<std::string>(), &sha) || sha.size() != 32) throw std::runtime_error("sha256");
    std::copy(sha.begin(), sha.end(), p.tensor.sha256.begin());
    if (!FromHex(j.at("root").get<std::string>(), &p.root)) throw std::runtime_error("root");
    p.leaf_index = IntegerAt<uint64_t>(j, "leaf_index");
    p.tree_size = IntegerAt<uint64_t>(j, "tree_size");
    for (const auto& h : j.at("proof")) {
      std::string bytes;
      if (!FromHex(h.get<std::string>(), &bytes)) throw std::runtime_error("proof");
      p.path.push_back(bytes);
    }
  } catch (const std::exception& e) {
    return Status::Corruption(origin + ": not a valid pot proof (" + e.what() + ")");
  }
  *out = std::move(p);
  return Status::OK();
}

Comparison Compare(const Manifest& expected, const Manifest& actual) {
  Comparison c;
  std::map<std::string, const TensorEntry*> got;
  for (const auto& t : actual.tensors) got[t.name] = &t;
  for (const auto& t : expected.tensors) {
    auto it = got.find(t.name);
    if (it == got.end()) {
      c.missing.push_back(t.name);
      continue;
    }
    if (TensorLeafData(t) != TensorLeafData(*it->second)) c.changed.push_back(t.name);
    got.erase(it);
  }
  for (const auto& [name, t] : got) c.extra.push_back(name);
  if (expected.shards.size() != actual.shards.size()) {
    c.metadata_changed = true;
  } else {
    for (size_t i = 0; i < expected.shards.size(); ++i) {
      c.metadata_changed |= expected.shards[i].metadata_sha256 != actual.shards[i].metadata_sha256 ||
                            expected.shards[i].n_kv != actual.shards[i].n_kv;
    }
  }
  return c;
}

}  // namespace pot::manifest
