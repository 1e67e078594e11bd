// diff: streaming comparison of two GGUF models' weights, tensor by tensor, in bounded memory.
// Tensors are read in chunks of whole quantization blocks, dequantized to f32 with ggml's type traits
// (so models of different types compare), and reduced to max |delta|, relative L2 and cosine. Memory use is
// a fixed set of chunk buffers, whatever the model or tensor size.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "env/env.h"

namespace pot::diff {

struct TensorDiff {
  enum class Kind { kEqual, kChanged, kShapeDiffers, kOnlyA, kOnlyB };
  std::string name;
  Kind kind = Kind::kEqual;
  std::string type_a, type_b;
  double max_abs = 0;  // max |a - b|
  double rel_l2 = 0;   // |a - b| / |a|
  double cosine = 1;   // <a, b> / (|a| |b|)
};

struct Options {
  size_t chunk_elements = 1 << 20;  // per-tensor working set: two raw and two f32 buffers of this many values
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Compares every tensor of a with the tensor of the same name in b; results sorted by name.
Status Compare(Env* env, const std::string& path_a, const std::string& path_b, const Options& options,
               std::vector<TensorDiff>* out);

const char* KindName(TensorDiff::Kind kind);

}  // namespace pot::diff
