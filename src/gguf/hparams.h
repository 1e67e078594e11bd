// hparams: the wall in front of llama.cpp. llama.cpp trusts a model's hyperparameters: a value it does not
// expect trips a GGML_ASSERT and aborts the whole process, during the load, the context's creation or the
// first decode. CheckLoadable runs on pot's own parse (gguf::Read) before llama.cpp sees the file and
// checks every value llama.cpp asserts on, so a hostile or damaged header is a Status::Corruption naming
// the key and its value, never an abort. Values llama.cpp rejects by throwing (it then returns no model)
// are checked too where the check is cheap, for a clearer message. The list, with the llama.cpp source
// of each check, is at the top of hparams.cpp; docs/formats.md summarizes it.
#pragma once

#include <cstdint>

#include "gguf/gguf.h"

namespace pot::gguf {

// What llama.cpp reads: a vocabulary-only load reads the tokenizer keys alone.
enum class LoadScope { kFull, kVocabOnly };

// The most layers (LLAMA_MAX_LAYERS) and experts (LLAMA_MAX_EXPERTS) llama.cpp accepts.
constexpr uint64_t kMaxLayers = 512;
constexpr uint64_t kMaxExperts = 1024;

Status CheckLoadable(const File& file, LoadScope scope);

}  // namespace pot::gguf
