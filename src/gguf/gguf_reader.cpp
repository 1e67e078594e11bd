#include <algorithm>
#include <cstring>

#include "ggml.h"
#include "gguf/gguf.h"

namespace pot::gguf {
namespace {

constexpr uint64_t kMaxDims = 4;  // GGML_MAX_DIMS
constexpr size_t kWindow = 1 << 20;

// Sequential reads through a window over a RandomAccessFile, with every read checked against the file size.
class Cursor {
 public:
  Cursor(const RandomAccessFile& file, const std::string& path) : file_(file), path_(path), size_(file.Size()) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  Status Bytes(size_t n, void* out, const char* what) {
    if (n > remaining()) return Truncated(what);
    auto* dst = static_cast<char*>(out);
    while (n > 0) {
      if (pos_ < window_begin_ || pos_ >= window_begin_ + window_.size()) POT_RETURN_IF_ERROR(Fill());
      const size_t in_window = window_begin_ + window_.size() - pos_;
      const size_t take = std::min(n, in_window);
      std::memcpy(dst, window_.data() + (pos_ - window_begin_), take);
      dst += take;
      pos_ += take;
      n -= take;
    }
    return Status::OK();
  }

  template <typename T>
  Status Pod(T* out, const char* what) {
    return Bytes(sizeof(T), out, what);
  }

  Status String(std::string* out, const char* what) {
    const uint64_t at = pos_;
    uint64_t len = 0;
    POT_RETURN_IF_ERROR(Pod(&len, what));
    if (len > remaining()) return Error(at, std::string(what) + " length " + std::to_string(len) + " exceeds the file");
    out->resize(len);
    return Bytes(len, out->data(), what);
  }

  Status Skip(uint64_t n, const char* what) {
    if (n > remaining()) return Truncated(what);
    pos_ += n;
    return Status::OK();
  }

  Status Error(uint64_t at, const std::string& msg) const {
    return Status::Corruption(path_ + ": " + msg + " (at byte " + std::to_string(at) + ")");
  }
  Status Truncated(const char* what) const {
    return Status::Corruption(path_ + ": truncated while reading " + what + " (at byte " + std::to_string(pos_) +
                              " of " + std::to_string(size_) + ")");
  }

 private:
  Status Fill() {
    window_.resize(static_cast<size_t>(std::min<uint64_t>(kWindow, size_ - pos_)));
    size_t got = 0;
    POT_RETURN_IF_ERROR(file_.Read(pos_, window_.size(), window_.data(), &got));
    if (got != window_.size()) return Status::IOError(path_ + ": short read at byte " + std::to_string(pos_));
    window_begin_ = pos_;
    return Status::OK();
  }

  const RandomAccessFile& file_;
  const std::string& path_;
  uint64_t size_;
  uint64_t pos_ = 0;
  uint64_t window_begin_ = 0;
  std::string window_;
};

size_t ScalarSize(ValueType t) {
  switch (t) {
    case ValueType::kU8: case ValueType::kI8: case ValueType::kBool: return 1;
    case ValueType::kU16: case ValueType::kI16: return 2;
    case ValueType::kU32: case ValueType::kI32: case ValueType::kF32: return 4;
    case ValueType::kU64: case ValueType::kI64: case ValueType::kF64: return 8;
    default: return 0;
  }
}

Status ReadScalar(Cursor& c, ValueType t, Value* v) {
  v->type = t;
  switch (t) {
    case ValueType::kU8: { uint8_t x; POT_RETURN_IF_ERROR(c.Pod(&x, "u8 value")); v->u = x; return Status::OK(); }
    case ValueType::kI8: { int8_t x; POT_RETURN_IF_ERROR(c.Pod(&x, "i8 value")); v->i = x; return Status::OK(); }
    case ValueType::kU16: { uint16_t x; POT_RETURN_IF_ERROR(c.Pod(&x, "u16 value")); v->u = x; return Status::OK(); }
    case ValueType::kI16: { int16_t x; POT_RETURN_IF_ERROR(c.Pod(&x, "i16 value")); v->i = x; return Status::OK(); }
    case ValueType::kU32: { uint32_t x; POT_RETURN_IF_ERROR(c.Pod(&x, "u32 value")); v->u = x; return Status::OK(); }
    case ValueType::kI32: { int32_t x; POT_RETURN_IF_ERROR(c.Pod(&x, "i32 value")); v->i = x; return Status::OK(); }
    case ValueType::kU64: return c.Pod(&v->u, "u64 value");
    case ValueType::kI64: return c.Pod(&v->i, "i64 value");
    case ValueType::kF32: { float x; POT_RETURN_IF_ERROR(c.Pod(&x, "f32 value")); v->f = x; return Status::OK(); }
    case ValueType::kF64: return c.Pod(&v->f, "f64 value");
    case ValueType::kBool: {
      const uint64_t at = c.pos();
      uint8_t x;
      POT_RETURN_IF_ERROR(c.Pod(&x, "bool value"));
      if (x > 1) return c.Error(at, "bool value " + std::to_string(x) + " is neither 0 nor 1");
      v->u = x;
      return Status::OK();
    }
    case ValueType::kString: return c.String(&v->s, "string value");
    default: return Status::Internal("unreachable value type");
  }
}

Status ReadValue(Cursor& c, Value* v) {
  const uint64_t at = c.pos();
  uint32_t raw_type;
  POT_RETURN_IF_ERROR(c.Pod(&raw_type, "value type"));
  if (raw_type > static_cast<uint32_t>(ValueType::kF64)) {
    return c.Error(at, "unknown value type " + std::to_string(raw_type));
  }
  const auto type = static_cast<ValueType>(raw_type);
  if (type != ValueType::kArray) return ReadScalar(c, type, v);

  v->type = ValueType::kArray;
  const uint64_t elem_at = c.pos();
  uint32_t raw_elem;
  POT_RETURN_IF_ERROR(c.Pod(&raw_elem, "array element type"));
  if (raw_elem > static_cast<uint32_t>(ValueType::kF64)) {
    return c.Error(elem_at, "unknown array element type " + std::to_string(raw_elem));
  }
  v->elem_type = static_cast<ValueType>(raw_elem);
  if (v->elem_type == ValueType::kArray) return c.Error(elem_at, "nested arrays are not supported");
  const uint64_t count_at = c.pos();
  POT_RETURN_IF_ERROR(c.Pod(&v->count, "array length"));
  // Each element takes at least min_size bytes: a count the file cannot hold is rejected before allocating.
  const uint64_t min_size = v->elem_type == ValueType::kString ? 8 : ScalarSize(v->elem_type);
  if (v->count > c.remaining() / min_size) {
    return c.Error(count_at, "array length " + std::to_string(v->count) + " exceeds the file");
  }
  if (v->elem_type == ValueType::kString) {
    v->strings.resize(v->count);
    for (auto& s : v->strings) POT_RETURN_IF_ERROR(c.String(&s, "array string"));
    return Status::OK();
  }
  v->raw.resize(v->count * min_size);
  POT_RETURN_IF_ERROR(c.Bytes(v->raw.size(), v->raw.data(), "array data"));
  if (v->elem_type == ValueType::kBool) {
    for (size_t k = 0; k < v->raw.size(); ++k) {
      if (static_cast<uint8_t>(v->raw[k]) > 1) return c.Error(count_at + 8 + k, "bool array element is neither 0 nor 1");
    }
  }
  return Status::OK();
}

bool MulOverflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

Status ReadTensorInfo(Cursor& c, TensorInfo* t) {
  const uint64_t at = c.pos();
  POT_RETURN_IF_ERROR(c.String(&t->name, "tensor name"));
  if (t->name.size() >= GGML_MAX_NAME) return c.Error(at, "tensor name longer than " + std::to_string(GGML_MAX_NAME - 1));
  uint32_t n_dims;
  const uint64_t dims_at = c.pos();
  POT_RETURN_IF_ERROR(c.Pod(&n_dims, "tensor dimension count"));
  if (n_dims == 0 || n_dims > kMaxDims) {
    return c.Error(dims_at, "tensor '" + t->name + "' has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
  }
  t->ne.resize(n_dims);
  uint64_t elements = 1;
  for (auto& ne : t->ne) {
    uint64_t d;
    POT_RETURN_IF_ERROR(c.Pod(&d, "tensor dimension"));
    if (d > (uint64_t{1} << 62) || MulOverflows(elements, d, &elements) || elements > (uint64_t{1} << 62)) {
      return c.Error(dims_at, "tensor '" + t->name + "' has an impossible shape");
    }
    ne = static_cast<int64_t>(d);
  }
  t->n_elements = elements;
  const uint64_t type_at = c.pos();
  POT_RETURN_IF_ERROR(c.Pod(&t->type, "tensor type"));
  if (t->type >= GGML_TYPE_COUNT || ggml_blck_size(static_cast<ggml_type>(t->type)) == 0 ||
      ggml_type_size(static_cast<ggml_type>(t->type)) == 0) {
    return c.Error(type_at, "tensor '" + t->name + "' has unknown type " + std::to_string(t->type));
  }
  const auto type = static_cast<ggml_type>(t->type);
  const uint64_t block = static_cast<uint64_t>(ggml_blck_size(type));
  if (t->ne[0] % block != 0) {
    return c.Error(type_at, "tensor '" + t->name + "' row length " + std::to_string(t->ne[0]) +
                                " is not a multiple of the " + ggml_type_name(type) + " block size");
  }
  uint64_t nbytes = static_cast<uint64_t>(t->ne[0]) / block * ggml_type_size(type);
  for (size_t k = 1; k < t->ne.size(); ++k) {
    if (MulOverflows(nbytes, static_cast<uint64_t>(t->ne[k]), &nbytes)) {
      return c.Error(dims_at, "tensor '" + t->name + "' byte size overflows");
    }
  }
  t->nbytes = nbytes;
  return c.Pod(&t->offset, "tensor offset");
}

}  // namespace

std::string TypeName(uint32_t type) {
  if (type < GGML_TYPE_COUNT && ggml_blck_size(static_cast<ggml_type>(type)) != 0) {
    return ggml_type_name(static_cast<ggml_type>(type));
  }
  return "type" + std::to_string(type);
}

const Value* File::Find(std::string_view key) const {
  for (const auto& kv : kvs) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

std::optional<std::string> File::GetString(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr || v->type != ValueType::kString) return std::nullopt;
  return v->s;
}

std::optional<uint64_t> File::GetUint(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return std::nullopt;
  switch (v->type) {
    case ValueType::kU8: case ValueType::kU16: case ValueType::kU32: case ValueType::kU64: return v->u;
    case ValueType::kI8: case ValueType::kI16: case ValueType::kI32: case ValueType::kI64:
      if (v->i >= 0) return static_cast<uint64_t>(v->i);
      return std::nullopt;
    default: return std::nullopt;
  }
}

Status Read(Env* env, const std::string& path, File* out) {
  std::unique_ptr<RandomAccessFile> file;
  POT_RETURN_IF_ERROR(env->NewRandomAccessFile(path, &file));
  File f;
  f.path = path;
  f.file_size = file->Size();
  Cursor c(*file, path);

  char magic[4];
  if (f.file_size < 4) return Status::Corruption(path + ": not a GGUF file (" + std::to_string(f.file_size) + " bytes)");
  POT_RETURN_IF_ERROR(c.Bytes(4, magic, "magic"));
  if (std::memcmp(magic, "GGUF", 4) != 0) return Status::Corruption(path + ": not a GGUF file (bad magic)");
  POT_RETURN_IF_ERROR(c.Pod(&f.version, "version"));
  if (f.version == 1) return Status::Unsupported(path + ": GGUF version 1 is not supported (only 2 and 3)");
  if ((f.version & 0xffff) == 0 && f.version != 0) {
    return Status::Unsupported(path + ": big-endian GGUF files are not supported");
  }
  if (f.version != 2 && f.version != 3) {
    return Status::Unsupported(path + ": unknown GGUF version " + std::to_string(f.version));
  }
  uint64_t n_tensors = 0, n_kv = 0;
  POT_RETURN_IF_ERROR(c.Pod(&n_tensors, "tensor count"));
  POT_RETURN_IF_ERROR(c.Pod(&n_kv, "metadata count"));
  // Smallest possible entries: a key/value is 8 (key length) + 4 (type) + 1 bytes; a tensor info is
  // 8 (name length) + 4 (dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
  if (n_kv > c.remaining() / 13) return c.Error(16, "metadata count " + std::to_string(n_kv) + " exceeds the file");
  if (n_tensors > c.remaining() / 32) return c.Error(8, "tensor count " + std::to_string(n_tensors) + " exceeds the file");

  f.kv_begin = c.pos();
  f.kvs.resize(n_kv);
  for (auto& kv : f.kvs) {
    POT_RETURN_IF_ERROR(c.String(&kv.key, "metadata key"));
    POT_RETURN_IF_ERROR(ReadValue(c, &kv.value));
  }
  f.kv_end = c.pos();
  if (const Value* a = f.Find("general.alignment")) {
    if (a->type != ValueType::kU32 || a->u == 0 || (a->u & (a->u - 1)) != 0) {
      return Status::Corruption(path + ": general.alignment must be a u32 power of two");
    }
    f.alignment = a->u;
  }

  f.tensors.resize(n_tensors);
  for (auto& t : f.tensors) POT_RETURN_IF_ERROR(ReadTensorInfo(c, &t));
  const uint64_t end_of_infos = c.pos();
  f.data_offset = (end_of_infos + f.alignment - 1) / f.alignment * f.alignment;
  if (f.data_offset > f.file_size) {
    if (n_tensors > 0) return Status::Corruption(path + ": truncated before the tensor data section");
    // A file with no tensors (a vocabulary-only GGUF) may end without padding: its data section is empty.
    f.data_offset = f.file_size;
  }

  const uint64_t data_size = f.file_size > f.data_offset ? f.file_size - f.data_offset : 0;
  std::vector<const TensorInfo*> by_offset;
  for (auto& t : f.tensors) {
    if (t.offset % f.alignment != 0) {
      return Status::Corruption(path + ": tensor '" + t.name + "' offset " + std::to_string(t.offset) +
                                " is not aligned to " + std::to_string(f.alignment));
    }
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      return Status::Corruption(path + ": tensor '" + t.name + "' (" + std::to_string(t.nbytes) + " bytes at " +
                                std::to_string(t.offset) + ") extends past the end of the file");
    }
    t.file_offset = f.data_offset + t.offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    const TensorInfo* prev = by_offset[k - 1];
    if (prev->offset + prev->nbytes > by_offset[k]->offset) {
      return Status::Corruption(path + ": tensors '" + prev->name + "' and '" + by_offset[k]->name + "' overlap");
    }
  }
  std::vector<std::string_view> names;
  for (const auto& t : f.tensors) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
    return Status::Corruption(path + ": duplicate tensor name '" + std::string(*std::adjacent_find(names.begin(), names.end())) + "'");
  }
  *out = std::move(f);
  return Status::OK();
}

}  // namespace pot::gguf
