// selfcheck: the determinism test. Each prompt is continued for T tokens twice, with the same seed and
// sampler, and the two generations are compared token by token and on the log-probabilities of the first
// run's top-k tokens at every position. The streaming method runs both generations in lockstep and keeps
// nothing but a running summary (memory constant in the number of prompts; a journal makes it resumable).
// The stored method, for comparison, generates every reference first, keeps them, then generates again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "challenge/challenge.h"
#include "engine/engine.h"

namespace pot::selfcheck {

struct Options {
  std::string model_path;
  placement::Placement placement;
  uint64_t prompts = 100;
  int tokens = 32;
  uint64_t seed = 1;
  int topk = 8;            // log-probabilities compared per position: the first run's k most likely tokens
  int sampler_top_k = 40;  // sampler: top-k, then temperature, then a seeded draw
  float temperature = 0.8f;
  engine::ContextOptions first, second;  // the second run may use other threads or batch sizes
};

struct PromptResult {
  uint64_t index = 0;
  bool match = true;               // identical tokens over the whole continuation
  int64_t first_divergence = -1;   // position of the first different token, -1 if none
  double max_abs_dlogprob = 0;     // over compared positions and the first run's top-k tokens
  uint32_t compared = 0;           // positions compared (up to and including a divergence)
};

// Deterministic given the results: no timings, so an interrupted and resumed run summarizes the same.
struct Summary {
  uint64_t prompts = 0, matches = 0, positions = 0;
  int64_t first_divergence_min = -1;
  std::vector<uint64_t> divergence_histogram;  // by position, size tokens (constant in the prompt count)
  double max_abs_dlogprob = 0;
  std::string records_digest;  // hex SHA-256 chain over the record lines, in order
  void Add(const PromptResult& r, const std::string& record_line);
  int64_t FirstDivergenceMedian() const;  // over diverged prompts; -1 if none
};

std::string RecordLine(const PromptResult& r);
Status ParseRecordLine(const std::string& line, PromptResult* out);
// The journal header: every parameter and the model's manifest root.
std::string HeaderLine(const Options& o, const std::string& model_root, const char* method);
// Reads back from a journal header what a summary names (prompts, tokens, seed, topk; the method),
// checking its format and version.
Status ParseHeaderLine(const std::string& line, Options* out, std::string* method);

// The summary pot selfcheck prints: one JSON object (--json), or lines of text.
nlohmann::ordered_json SummaryJson(const Options& o, const std::string& method, const Summary& s);
std::string SummaryText(const Options& o, const std::string& method, const Summary& s);

// The prompts: the templates family (docs/formats.md) under the key SHA-256(lp("pot.selfcheck.v1") ||
// u64le(seed)); prompt i's sampler seed is the first 4 bytes, little-endian, of
// SHA-256(lp("pot.selfcheck.seed.v1") || u64le(seed) || u64le(i)).
class Checker {
 public:
  static Status Open(const Options& options, std::unique_ptr<Checker>* out);
  // The streaming method: both generations of prompt index in lockstep.
  Status RunLockstep(uint64_t index, PromptResult* out);
  // The stored method, in two phases over all prompts: references first, then the comparison.
  Status RunStored(const std::function<Status(const PromptResult&)>& on_result);

 private:
  struct Reference {
    std::vector<int32_t> tokens;
    std::vector<int32_t> topk_ids;  // tokens() x k
    std::vector<double> topk_logp;
  };
  explicit Checker(const Options& options) : options_(options) {}
  Status Prompt(uint64_t index, std::vector<int32_t>* tokens, uint32_t* seed) const;
  Status Generate(uint64_t index, Reference* out);
  Status Compare(uint64_t index, const Reference& ref, PromptResult* out);

  Options options_;
  std::unique_ptr<challenge::Generator> prompts_;
  engine::ModelPtr model_;
  engine::ContextPtr first_, second_;
};

}  // namespace pot::selfcheck
