// gguf: a reader for GGUF files that treats its input as hostile. Every count, length, offset and size is
// checked against the file size before it is used; nothing is read past the end of the file; a malformed
// file yields Status::Corruption naming the field and its byte offset. Tensor data is never read here:
// the reader returns where each tensor's bytes are, so callers can stream them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "env/env.h"

namespace pot::gguf {

enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

struct Value {
  ValueType type = ValueType::kU8;
  uint64_t u = 0;      // unsigned integers and bool
  int64_t i = 0;       // signed integers
  double f = 0;        // floats
  std::string s;       // string
  ValueType elem_type = ValueType::kU8;  // arrays
  uint64_t count = 0;                    // arrays: number of elements
  std::vector<std::string> strings;      // arrays of strings
  std::string raw;                       // arrays of numbers: the little-endian bytes as stored
};

struct KeyValue {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  uint32_t type = 0;          // ggml_type
  std::vector<int64_t> ne;    // dimensions, innermost first
  uint64_t offset = 0;        // relative to the data section, as stored
  uint64_t file_offset = 0;   // absolute position of the first byte
  uint64_t nbytes = 0;        // exactly ggml_nbytes: no padding
  uint64_t n_elements = 0;
};

struct File {
  std::string path;
  uint32_t version = 0;
  uint64_t file_size = 0;
  uint64_t alignment = 32;
  uint64_t kv_begin = 0, kv_end = 0;  // byte range of the metadata key/value section
  uint64_t data_offset = 0;           // start of the tensor data section
  std::vector<KeyValue> kvs;
  std::vector<TensorInfo> tensors;

  const Value* Find(std::string_view key) const;
  std::optional<std::string> GetString(std::string_view key) const;
  std::optional<uint64_t> GetUint(std::string_view key) const;
};

// Parses the header, metadata and tensor table of path and validates every tensor's extent.
Status Read(Env* env, const std::string& path, File* out);

// The ggml type name ("f32", "q4_K"...), or "type<N>" for a number ggml does not define.
std::string TypeName(uint32_t type);

}  // namespace pot::gguf
