#include "pairwise/pairwise.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ggml-backend.h"
#include "ggml.h"
#include "gguf/gguf.h"
#include "gguf/model_info.h"

namespace pot::pairwise {

void Moments::Add(const float* a, const float* b, size_t count) {
  double d2s = 0, a2s = 0, b2s = 0, abs = 0;
  for (size_t i = 0; i < count; ++i) {
    const double x = a[i], y = b[i], delta = x - y;
    d2s += delta * delta;
    a2s += x * x;
    b2s += y * y;
    abs += x * y;
  }
  d2 += d2s;
  a2 += a2s;
  b2 += b2s;
  ab += abs;
  n += count;
}

void Moments::Add(const Moments& o) {
  d2 += o.d2;
  a2 += o.a2;
  b2 += o.b2;
  ab += o.ab;
  n += o.n;
}

double Moments::RelL2() const { return a2 > 0 ? std::sqrt(d2 / a2) : (d2 > 0 ? INFINITY : 0); }

double Moments::Cosine() const { return (a2 > 0 && b2 > 0) ? ab / std::sqrt(a2 * b2) : (a2 == b2 ? 1.0 : 0.0); }

namespace {

// The file's first bytes: its format and version (docs/formats.md, "Spill file").
constexpr char kMagic[] = "pot.spill.v1\n";
constexpr size_t kMagicBytes = sizeof kMagic - 1;
// A record's name is a llama.cpp tensor name (GGML_MAX_NAME is 64); anything longer is not one pot wrote.
constexpr uint32_t kMaxName = 1024;

template <typename T>
void PutLe(std::string* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out->push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}

template <typename T>
T GetLe(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

}  // namespace

Spill::Spill(Env* env, std::string path, std::unique_ptr<WritableFile> file)
    : env_(env), path_(std::move(path)), writer_(std::move(file)) {}

Spill::~Spill() {
  if (writer_) writer_->Close();
  if (env_->FileExists(path_)) env_->RemoveFile(path_);
}

Status Spill::Create(Env* env, const std::string& dir, std::unique_ptr<Spill>* out) {
  std::string where = dir;
  if (where.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    where = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string path;
  std::unique_ptr<WritableFile> file;
  POT_RETURN_IF_ERROR(env->NewTempFile(where + "/pot-spill", 0600, &path, &file));
  out->reset(new Spill(env, path, std::move(file)));
  Status s = (*out)->writer_->Append(std::string_view(kMagic, kMagicBytes));
  (*out)->offset_ = kMagicBytes;
  return s;
}

Status Spill::Append(const std::string& name, const float* data, size_t count) {
  if (!writer_) return Status::Internal("spill file " + path_ + " is no longer open for writing");
  std::string head;
  PutLe<uint32_t>(&head, static_cast<uint32_t>(name.size()));
  head += name;
  PutLe<uint64_t>(&head, count);
  POT_RETURN_IF_ERROR(writer_->Append(head));
  // The host's floats as they are: the file is read back by the same process (little-endian hosts only).
  POT_RETURN_IF_ERROR(writer_->Append(std::string_view(reinterpret_cast<const char*>(data), count * sizeof(float))));
  offset_ += head.size() + count * sizeof(float);
  return Status::OK();
}

Status Spill::Rewind() {
  POT_RETURN_IF_ERROR(writer_->Sync());
  POT_RETURN_IF_ERROR(writer_->Close());
  writer_.reset();
  POT_RETURN_IF_ERROR(env_->NewRandomAccessFile(path_, &reader_));
  if (reader_->Size() != offset_) return Status::IOError(path_ + ": spill file is not the size written");
  char magic[kMagicBytes];
  size_t got = 0;
  POT_RETURN_IF_ERROR(reader_->Read(0, kMagicBytes, magic, &got));
  if (got != kMagicBytes || std::memcmp(magic, kMagic, kMagicBytes) != 0) {
    return Status::Corruption(path_ + ": not a pot spill file");
  }
  read_offset_ = kMagicBytes;
  // The name goes as soon as the file is open for reading: a run killed from here on leaves nothing behind.
  return env_->RemoveFile(path_);
}

Status Spill::Compare(const std::string& name, const float* b, size_t count, Moments* m) {
  if (!reader_) return Status::Internal("spill file " + path_ + " is not open for reading");
  const std::string mismatch = "the second model computed " + name + " (" + std::to_string(count) +
                               " values) where the first computed ";
  if (read_offset_ + 4 > offset_) return Status::Unsupported(mismatch + "nothing more");
  char len_bytes[4];
  size_t got = 0;
  POT_RETURN_IF_ERROR(reader_->Read(read_offset_, 4, len_bytes, &got));
  const uint32_t len = GetLe<uint32_t>(len_bytes);
  if (got != 4 || len > kMaxName || read_offset_ + 4 + len + 8 > offset_) {
    return Status::Corruption(path_ + ": malformed spill record at byte " + std::to_string(read_offset_));
  }
  std::string head(len + 8, '\0');
  POT_RETURN_IF_ERROR(reader_->Read(read_offset_ + 4, head.size(), head.data(), &got));
  if (got != head.size()) return Status::Corruption(path_ + ": truncated spill record");
  const std::string stored = head.substr(0, len);
  const uint64_t stored_count = GetLe<uint64_t>(head.data() + len);
  if (stored != name || stored_count != count) {
    return Status::Unsupported(mismatch + stored + " (" + std::to_string(stored_count) + " values)");
  }
  const uint64_t data_offset = read_offset_ + 4 + len + 8;
  if (count > (offset_ - data_offset) / sizeof(float)) return Status::Corruption(path_ + ": truncated spill record");
  chunk_.resize(std::min(count, kChunkFloats));
  for (size_t done = 0; done < count;) {
    const size_t n = std::min(count - done, kChunkFloats);
    POT_RETURN_IF_ERROR(reader_->Read(data_offset + done * sizeof(float), n * sizeof(float),
                                      reinterpret_cast<char*>(chunk_.data()), &got));
    if (got != n * sizeof(float)) return Status::Corruption(path_ + ": truncated spill record");
    m->Add(chunk_.data(), b + done, n);
    done += n;
  }
  read_offset_ = data_offset + count * sizeof(float);
  return Status::OK();
}

bool Tap::Callback(ggml_tensor* t, bool ask, void* user_data) {
  auto* tap = static_cast<Tap*>(user_data);
  if (ask) return tap->status.ok() && tap->wants(t->name);
  if (!tap->status.ok()) return false;
  if (t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t)) {
    tap->status = Status::Unsupported(std::string("llama.cpp computed ") + t->name + " as " + ggml_type_name(t->type) +
                                      (ggml_is_contiguous(t) ? "" : ", not contiguous") + "; pot reads contiguous f32 only");
    return false;
  }
  const size_t count = static_cast<size_t>(ggml_nelements(t));
  const float* data = nullptr;
  if (t->buffer != nullptr && ggml_backend_buffer_is_host(t->buffer)) {
    data = static_cast<const float*>(t->data);  // computed in this process's memory: read where it lies
  } else {
    tap->buffer.resize(count);
    ggml_backend_tensor_get(t, tap->buffer.data(), 0, count * sizeof(float));
    data = tap->buffer.data();
  }
  tap->status = tap->sink(t->name, data, count);
  return tap->status.ok();
}

Status ReadShape(Env* env, const std::string& path, Shape* out) {
  gguf::File file;
  POT_RETURN_IF_ERROR(gguf::Read(env, path, &file));
  gguf::ModelInfo info;
  POT_RETURN_IF_ERROR(gguf::GetModelInfo(env, path, &info));
  out->architecture = file.GetString("general.architecture").value_or("");
  out->n_layer = file.GetUint(out->architecture + ".block_count").value_or(0);
  out->n_embd = file.GetUint(out->architecture + ".embedding_length").value_or(0);
  out->vocab_sha256 = info.vocab_sha256;
  if (out->architecture.empty() || out->n_layer == 0 || out->n_embd == 0) {
    return Status::Corruption(path + ": no architecture, block_count or embedding_length in its metadata");
  }
  return Status::OK();
}

Status CheckComparable(Env* env, const std::string& a, const std::string& b, Shape* shape) {
  Shape sa, sb;
  POT_RETURN_IF_ERROR(ReadShape(env, a, &sa));
  POT_RETURN_IF_ERROR(ReadShape(env, b, &sb));
  const std::string lead = "not comparable (structurally different models): ";
  if (sa.vocab_sha256.empty() || sb.vocab_sha256.empty()) {
    return Status::Unsupported(lead + "both models need a tokenizer vocabulary");
  }
  if (sa.vocab_sha256 != sb.vocab_sha256) {
    return Status::Unsupported(lead + "different vocabularies (vocab_sha256 " + sa.vocab_sha256.substr(0, 16) +
                               "... vs " + sb.vocab_sha256.substr(0, 16) + "...), so the same token ids are not the same text");
  }
  if (sa.n_layer != sb.n_layer || sa.n_embd != sb.n_embd) {
    return Status::Unsupported(lead + std::to_string(sa.n_layer) + " layers of width " + std::to_string(sa.n_embd) +
                               " vs " + std::to_string(sb.n_layer) + " layers of width " + std::to_string(sb.n_embd));
  }
  *shape = sa;
  return Status::OK();
}

uint64_t PeakRssBytes() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

}  // namespace pot::pairwise
