// estimate: what each verification method would cost on hardware pot cannot run on here, as a roofline
// estimate (docs/estimate.md). Nothing is measured: a model's shape (bytes, parameters, layers, widths,
// vocabulary) comes from its GGUF header alone or from the caller, and a hardware Profile holds peak
// figures and ONE calibration row, a llama-bench result with its source, from which two efficiencies are
// derived: prompt processing (batched, compute-bound: 2 x params FLOPs per token) and generation (one
// token at a time, memory-bound: the model's bytes per token). File work (load, hash, diff) is bound by
// the profile's read, SHA-256 and dequantization rates. Memory is weights + KV cache at the context pot
// or the peer tool uses + buffers, checked against what the profile can hold. Every figure is an
// estimate, and every output names the profile row and sources it rests on. Profiles are built in
// (BuiltinProfile) or read from a versioned JSON file (ParseProfile, docs/formats.md "Hardware profile"),
// which is untrusted input: a missing field or a value that is not a finite positive number is a
// Status::Corruption naming the field.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "env/env.h"

namespace pot::estimate {

inline constexpr const char* kProfileSchema = "pot.profile/1";
inline constexpr const char* kEstimateSchema = "pot.estimate/1";

// One number of a profile and where it comes from (a URL and the row, a vendor sheet, or a measurement).
struct Figure {
  double value = 0;
  std::string source;
};

// The llama-bench result a profile's efficiencies are calibrated on, with the calibration model's shape:
// prompt processing is charged 2 FLOPs per parameter and token over the layers, plus 2 per output-layer
// parameter for each position whose logits are computed (llama-bench's pp: only the batch's last), and the
// input embedding (a row lookup) is charged nothing; generation reads every byte but the input embedding's.
// On a large model these corrections are a few percent; on the tiny test models they are most of it.
struct Calibration {
  std::string model;             // "Llama 3 70B Q4_K_M"
  double params = 0;             // that model's parameters, all tensors
  double bytes = 0;              // its file size
  double output_params = 0;      // n_vocab x n_embd: the output layer
  double input_embd_params = 0;  // token_embd when it is not also the output layer, else 0
  double input_embd_bytes = 0;   // its bytes
  double pp_tokens_per_s = 0;    // prompt processing (llama-bench pp512)
  double pp_batch = 512;         // tokens per pp batch (one output each)
  double tg_tokens_per_s = 0;    // generation (llama-bench tg)
  std::string source;
};

struct Profile {
  std::string name, description;
  Figure peak_flops;              // FLOP/s of the kernels prompt processing runs on
  Figure memory_bandwidth;        // bytes/s
  Figure memory_bytes;            // what one machine can hold of models and buffers
  Figure read_bytes_per_s;        // streaming a model file: loading, hashing, diffing
  Figure sha256_bytes_per_s;      // SHA-256 over every core
  Figure dequant_elements_per_s;  // one core dequantizing and comparing two tensors (pot diff)
  Figure vocab_entries_per_s;     // one core: two logit rows to log-probabilities and a distance, per entry
  Figure startup_s;               // fixed cost of a process that loads a model
  Figure process_start_s;         // fixed cost of a pot process that loads none (hash, diff): start, GGUF header
  Calibration calibration;
};

// The built-in profiles (m1-max-64gb, a100-80gb, h100-80gb), in order.
const std::vector<Profile>& BuiltinProfiles();
// The profile the calibration script writes for this machine (bench/calibrate.sh).
std::string ThisMachineProfilePath();
// name: a built-in profile, "this-machine" (ThisMachineProfilePath()), or a profile JSON file.
Status LoadProfile(Env* env, const std::string& name, Profile* out);
// A profile JSON document; what names the file in errors.
Status ParseProfile(const std::string& text, const std::string& what, Profile* out);
nlohmann::ordered_json ProfileJson(const Profile& p);

// A model's shape: all an estimate needs.
struct ModelShape {
  std::string path;          // empty when given by numbers
  double bytes = 0;          // file size
  double params = 0;         // total elements of all tensors
  uint64_t n_layer = 0;      // 0: unknown (no KV cache, no activations estimate)
  uint64_t n_embd = 0;
  uint64_t n_embd_kv = 0;    // n_embd x head_count_kv / head_count; n_embd when unknown (an upper bound)
  uint64_t n_vocab = 0;
  uint64_t n_ctx_train = 0;  // 0: unknown (the cap is used)
  double largest_tensor_elements = 0;  // 0: unknown (n_vocab x n_embd when both are known)
  double output_params = 0;      // n_vocab x n_embd (0 when either is unknown)
  double input_embd_params = 0;  // token_embd when a separate output layer exists (by numbers: assumed so)
  double input_embd_bytes = 0;   // its bytes (by numbers: its share of the file)
};

// The GGUF header of path: no tensor data is read, so a 46 GB file takes as long as a tiny one.
Status ShapeFromGguf(Env* env, const std::string& path, ModelShape* out);
// Checks a shape given by numbers (finite, positive, in range) and fills what follows from it.
Status CheckShape(ModelShape* shape);

// What a run does. Prompts and challenges are templates-family texts of about prompt_tokens tokens.
struct Workload {
  uint64_t prompts = 100;         // N: fixed-n, selfcheck, kl (the text is N x T tokens)
  uint64_t tokens = 32;           // T: generated per prompt
  uint64_t prompt_tokens = 24;    // a templates challenge: 2971 positions over 128 challenges (docs/verify.md)
  uint64_t challenges = 21;       // verify, verify-reference, activations, gradients: SAME in audit mode
  uint64_t endpoint_challenges = 4;  // endpoint: SAME at epsilon 0.05 in 100 tokens (docs/statistics.md)
  uint64_t endpoint_tokens = 32;  // K the endpoint generates per challenge (pot's default)
};

// The methods, in the order `--method all` prints them; their names are bench/methods.sh's.
const std::vector<std::string>& MethodNames();

struct Term {
  std::string what;  // "prompt processing: 2 models x 23 challenges x 24 tokens"
  double seconds = 0;
};

struct MethodEstimate {
  std::string method;
  double wall_s = 0;
  double peak_memory_bytes = 0;
  double memory_limit_bytes = 0;
  bool fits = true;
  double bytes_written = 0;  // to disk
  std::vector<Term> terms;   // wall_s is their sum
  std::string note;          // what the figure covers or leaves out
};

// The rates a profile gives for a model shape.
struct Rates {
  double pp_efficiency = 0, tg_efficiency = 0;  // of peak FLOPs, of memory bandwidth (calibration row)
  double flops_per_s = 0, bytes_per_s = 0;      // what prompt processing and generation reach
  double pp_tokens_per_s = 0;                   // prompt processing, logits at the last position only
  double pp_all_logits_tokens_per_s = 0;        // prompt processing, logits at every position (pot verify)
  double tg_tokens_per_s = 0;
};
Rates RatesFor(const Profile& profile, const ModelShape& shape);
// Seconds of prompt processing for tokens of which outputs compute logits; of generating tokens.
double PromptSeconds(const Profile& profile, const ModelShape& shape, double tokens, double outputs);
double GenerateSeconds(const Profile& profile, const ModelShape& shape, double tokens);

// InvalidArgument for an unknown method.
Status EstimateMethod(const std::string& method, const ModelShape& shape, const Profile& profile,
                      const Workload& workload, MethodEstimate* out);

// The context pot gives a model (engine::kDefaultContext caps the training context) and its f16 KV cache.
uint64_t PotContext(const ModelShape& shape);
double KvCacheBytes(const ModelShape& shape, uint64_t n_ctx);
// Bytes llama-perplexity --kl-divergence-base writes for a text of n_tokens in chunks of n_ctx
// (tools/perplexity/perplexity.cpp: a header, every token id, then per scored token, the second half of
// each chunk, 2 x (n_vocab rounded up to even) + 8 bytes of 16-bit log-probabilities).
double KlLogitsFileBytes(uint64_t n_vocab, uint64_t n_tokens, uint64_t n_ctx);

// "46.0 GB", "2.1 days": decimal units, as disk and memory sizes are sold.
std::string HumanBytes(double bytes);
std::string HumanSeconds(double seconds);

// Rendering: the text report (every line with a figure says "estimate") and the JSON document.
std::string RenderText(const ModelShape& shape, const Profile& profile, const Workload& workload,
                       const std::vector<MethodEstimate>& estimates);
nlohmann::ordered_json RenderJson(const ModelShape& shape, const Profile& profile, const Workload& workload,
                                  const std::vector<MethodEstimate>& estimates);

}  // namespace pot::estimate
