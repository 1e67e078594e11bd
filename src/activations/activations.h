// activations: compares two models layer by layer on the same prompts. Each layer's output (the residual
// stream llama.cpp names l_out-IL) is captured at every position with llama.cpp's graph evaluation
// callback, and the pair is reduced, per layer, to relative L2 |a - b| / |a| and cosine over all positions
// of all prompts. Models run one after the other, never both resident (pairwise.h): A's layer outputs go to
// a spill file, A is freed, and B's are compared with them as B computes them, so memory is one model plus
// one layer's outputs for one batch per side. Pairs that are structurally different (vocabulary, layers,
// width) are refused before either loads (pairwise::CheckComparable, "not comparable").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "env/env.h"
#include "pairwise/pairwise.h"

namespace pot::activations {

struct Options {
  int n_threads = 0;       // 0: every core
  std::string spill_dir;   // "" : $TMPDIR, else /tmp
  std::function<void(uint64_t done, uint64_t total)> progress;  // prompts run, over both models
};

struct Result {
  pairwise::Shape shape;
  std::vector<pairwise::Moments> layers;  // one per layer, over every position of every prompt
  uint64_t positions = 0;                 // token positions per layer
  uint64_t spill_bytes = 0;
  uint64_t largest_tensor_bytes = 0;      // the biggest layer output held at once, per side
  bool Identical() const;
  // The first layer whose relative L2 exceeds threshold, or -1.
  int FirstDivergent(double threshold) const;
};

// Runs A then B on every prompt (tokenized as pot verify does: with BOS where the vocabulary adds one).
Status Compare(Env* env, const std::string& path_a, const std::string& path_b, const std::vector<std::string>& prompts,
               const Options& options, Result* result);

}  // namespace pot::activations
