#include "gguf/model_info.h"

#include "crypto/sha256.h"
#include "gguf/gguf.h"

namespace pot::gguf {

Status GetModelInfo(Env* env, const std::string& path, ModelInfo* out) {
  File f;
  POT_RETURN_IF_ERROR(Read(env, path, &f));
  ModelInfo info;
  info.path = path;
  info.file_size = f.file_size;
  info.gguf_version = f.version;
  info.architecture = f.GetString("general.architecture").value_or("");
  if (info.architecture.empty()) return Status::Corruption(path + ": no general.architecture key");
  info.name = f.GetString("general.name").value_or("");
  info.n_tensors = f.tensors.size();
  for (const auto& t : f.tensors) {
    info.n_params += t.n_elements;
    ++info.tensors_by_type[TypeName(t.type)];
  }
  info.tokenizer_model = f.GetString("tokenizer.ggml.model").value_or("");
  const Value* tokens = f.Find("tokenizer.ggml.tokens");
  if (tokens != nullptr) {
    if (tokens->type != ValueType::kArray || tokens->elem_type != ValueType::kString) {
      return Status::Corruption(path + ": tokenizer.ggml.tokens is not an array of strings");
    }
    // Domain-separated and length-prefixed: two token lists hash equal only if they are equal.
    Sha256 h;
    h.UpdateLengthPrefixed("pot.vocab.v1");
    h.UpdateU64(tokens->strings.size());
    for (const auto& token : tokens->strings) h.UpdateLengthPrefixed(token);
    info.n_vocab = tokens->strings.size();
    info.vocab_sha256 = ToHex(h.Final());
  }
  *out = std::move(info);
  return Status::OK();
}

}  // namespace pot::gguf
