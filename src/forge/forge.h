// forge: makes the family of small llama-architecture GGUF models that pot's tests, benchmarks and demo
// run on. No weights can be downloaded here, so the family is trained from scratch with llama.cpp's own
// training API on text from Debian's fortunes package, deterministically from a seed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/status.h"

namespace pot::forge {

// Bump when any recipe, corpus split or file layout changes: cached families are keyed by it.
inline constexpr int kForgeVersion = 1;

struct Options {
  std::string out_dir;
  uint64_t seed = 1;
  std::string vocab_dir;   // llama.cpp's models/ folder (ggml-vocab-*.gguf)
  std::string corpus_dir = "/usr/share/games/fortunes";
  std::vector<std::string> members;  // empty: the whole family
  int max_steps = 0;       // >0: cap optimizer steps per trained member (fast determinism tests)
  int n_threads = 0;
  std::function<void(const std::string&)> log;  // progress lines
};

struct MemberReport {
  std::string name;
  std::string file;
  std::string relation;      // ground truth relative to base
  std::string expected;      // "SAME" or "DIFFERENT": what a verifier must answer against base
  std::string sha256;
  bool trained = false;
  uint64_t train_tokens = 0; // tokens seen in training (0 when not trained here)
  double heldout_ppl = 0;    // perplexity on the held-out base corpus (same-vocabulary members)
  double uniform_ppl = 0;    // a uniform next-token distribution's perplexity (= vocabulary size)
  double seconds = 0;
};

struct Report {
  std::vector<MemberReport> members;
  bool cached = false;  // the directory already held this exact family
  double seconds = 0;
};

// The names of the full family, in build order.
const std::vector<std::string>& FamilyMembers();

Status Forge(const Options& options, Report* report);

}  // namespace pot::forge
