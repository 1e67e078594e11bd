// gradients: compares two models by the gradient of the same loss, next-token cross-entropy on one committed
// batch (the challenge prompts' tokens, concatenated and repeated to fill a training context), tensor by
// tensor (relative L2, cosine). The gradients come from llama.cpp's training API (llama_opt_init /
// llama_opt_epoch, as forge trains): each tensor's gradient is read with llama.cpp's graph evaluation
// callback as the backward pass computes it (the node ggml names "grad for NAME"), before any optimizer
// step. What that API can and cannot expose, and why, is in docs/methods.md, "Gradient comparison".
//
// Memory: models run one after the other (pairwise.h; A's gradients spilled, B's compared as computed).
// llama.cpp allocates a gradient accumulator for every tensor it trains, so by default each model runs one
// backward pass per layer with only that layer's tensors trainable (then one for the rest), over the batch in
// micro-batches: memory is one model, one layer's gradients and one micro-batch's activations, not the model
// plus its whole gradient.
//
// Refused (Status::Unsupported, exit 3): structurally different pairs (pairwise::CheckComparable, plus
// tensors that differ in name or shape), and any tensor that is not F32 (llama.cpp trains F32 only).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "env/env.h"
#include "pairwise/pairwise.h"

namespace pot::gradients {

struct Options {
  int n_threads = 0;      // 0: every core
  std::string spill_dir;  // "": $TMPDIR, else /tmp
  // All tensors trainable in a single pass, as llama.cpp's training does: its memory is the model plus the
  // whole gradient. For measuring that alternative and for checking that per-layer passes agree with it.
  bool one_pass = false;
  std::function<void(uint64_t done, uint64_t total)> progress;  // backward passes, over both models
};

struct TensorRow {
  std::string name;
  pairwise::Moments m;      // gradient of A vs gradient of B
  bool has_gradient = false;
  std::string why_none;     // when !has_gradient: why llama.cpp gives this tensor none
};

struct Result {
  pairwise::Shape shape;
  uint64_t batch_tokens = 0;   // the training context: positions whose next token is scored
  uint64_t prompt_tokens = 0;  // the prompts' own tokens, before repetition
  double loss_a = 0, loss_b = 0;
  std::vector<TensorRow> tensors;  // in the model's tensor order
  uint64_t passes = 0;             // backward passes per model
  uint64_t f32_bytes = 0;          // the model's tensors (all F32)
  uint64_t largest_pass_gradient_bytes = 0;  // the accumulators llama.cpp allocates in the biggest pass
  uint64_t spill_bytes = 0;
  bool Identical() const;  // every gradient equal, bit for bit in its sums
};

Status Compare(Env* env, const std::string& path_a, const std::string& path_b, const std::vector<std::string>& prompts,
               const Options& options, Result* result);

}  // namespace pot::gradients
