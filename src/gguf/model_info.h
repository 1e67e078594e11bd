// model_info: the summary `pot info` prints, derived from the GGUF header alone (no weights read).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "env/env.h"

namespace pot::gguf {

// Strings are the file's bytes, UTF-8 or not; printing escapes them (src/text).
struct ModelInfo {
  std::string path;
  uint64_t file_size = 0;
  uint32_t gguf_version = 0;
  std::string architecture;
  std::string name;
  uint64_t n_params = 0;   // total elements over all tensors
  uint64_t n_tensors = 0;
  std::map<std::string, uint64_t> tensors_by_type;
  std::string tokenizer_model;
  uint64_t n_vocab = 0;
  std::string vocab_sha256;  // see docs/formats.md, "Vocabulary digest"
};

Status GetModelInfo(Env* env, const std::string& path, ModelInfo* out);

}  // namespace pot::gguf
