// engine: pot's thin layer over llama.cpp's C API. Models load once and stay resident;
// every failure comes back as a Status, never as an abort or a substituted number. Every model passes
// pot's GGUF reader and the hyperparameter checks of gguf/hparams.h before llama.cpp reads it; an abort
// inside llama.cpp that still happens ends the process with one line on stderr and kAbortExitCode.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "placement/placement.h"
#include "util/status.h"

struct llama_model;
struct llama_context;
struct llama_vocab;
struct llama_sampler;
struct ggml_tensor;

namespace pot::engine {

// The exit code of a process that llama.cpp aborted: 4, "failure" in docs/cli.md.
constexpr int kAbortExitCode = 4;

// The most threads a context or pot's hashing may use: ggml's GGML_MAX_N_THREADS. ggml indexes fixed tables
// of that size by thread number, so more threads write past them.
constexpr int kMaxThreads = 512;

// Replaces ggml's crash paths (GGML_ASSERT / GGML_ABORT and the std::terminate handler ggml installs at
// start-up, both of which print a gdb backtrace on stdout and abort) with one line on stderr,
// "pot: error: llama.cpp aborted: MESSAGE" (or "uncaught exception: ..."), and kAbortExitCode. When an RPC
// server in use no longer answers, the line names it first (placement::ExplainLostServer). Idempotent;
// Init calls it, and main should call it first so no command runs before it.
void InstallCrashHandlers();

// llama.cpp's CPU threads meet at an OpenMP barrier after every operation, and libgomp's default wait policy
// spins there (and between graphs) before it sleeps: beside another busy process on the same cores, a waiting
// thread burns the time slice its peer needs to arrive, and two threads ran up to 10x slower than one
// (bench/threads.sh, docs/verify.md "Threads"). The passive policy sleeps at once. libgomp reads
// OMP_WAIT_POLICY when it is loaded, before main, so this sets it and starts the program again (execv of
// /proc/self/exe with argv); it returns, changing nothing, when the variable is already set (the user's
// choice, or the restarted process) or the restart fails. main calls it first.
void PreferPassiveThreadWait(char** argv);

// Initialises llama.cpp once per process. llama.cpp's own log lines go to stderr only when verbose.
void Init(bool verbose);

struct ModelDeleter { void operator()(llama_model* m) const; };
struct ContextDeleter { void operator()(llama_context* c) const; };
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;

struct LoadOptions {
  bool vocab_only = false;
  bool writable = false;  // weights in ordinary memory (no mmap), as training needs
  placement::Placement placement;  // where the layers run (checked before loading: placement.h)
};
Status LoadModel(const std::string& path, const LoadOptions& options, ModelPtr* out);

// The context a ContextOptions of n_ctx 0 gets when the model was trained on a longer one: every pot
// sequence (a challenge and its continuation, a selfcheck generation) fits, and the KV cache, allocated
// for the whole context up front, stays at a few hundred MB where a 128k training context would cost tens
// of GB (docs/verify.md, "Memory on big models").
constexpr uint32_t kDefaultContext = 4096;

struct ContextOptions {
  uint32_t n_ctx = 0;     // 0: the model's training context, at most kDefaultContext
  uint32_t n_batch = 512;
  uint32_t n_ubatch = 512;
  int n_threads = 0;      // 0: every core
  bool f32_kv = false;    // training needs F32 K/V caches
  bool flash_attn = false;
  // llama.cpp's graph evaluation callback (llama_context_params.cb_eval): asked about every tensor the
  // graph computes, and handed those it asked for once computed (src/activations, src/gradients).
  bool (*cb_eval)(ggml_tensor* t, bool ask, void* user_data) = nullptr;
  void* cb_eval_user_data = nullptr;
};
Status NewContext(llama_model* model, const ContextOptions& options, ContextPtr* out);

// parse_special: text spelling a special token ("<|im_start|>") becomes that token, as servers tokenize a
// chat template's output; otherwise it is plain text.
Status Tokenize(const llama_vocab* vocab, const std::string& text, bool add_bos, std::vector<int32_t>* out,
                bool parse_special = false);

// Mean negative log-likelihood (nats/token) of tokens under the model, scored in windows of the
// context length (each window predicts its own tokens 1..n-1 from the preceding ones).
Status MeanNll(llama_context* ctx, const std::vector<int32_t>& tokens, double* mean_nll, uint64_t* n_scored);

// An allocator that leaves new elements uninitialized: rows of 100k+ floats are written in full right after
// they are appended, so zero-filling them first would only cost time.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using FloatBuffer = std::vector<float, UninitializedAllocator<float>>;

// Next-token distributions over the full vocabulary at consecutive positions: row i is the model's
// distribution for the token after the first i+1 tokens it was given, kept both as probabilities and as
// natural-log probabilities so that distances need no transcendental function per entry, plus each
// row's most likely token.
struct Distributions {
  int n_vocab = 0;
  // Without probabilities, p stays empty and rows cost half the memory: for callers that read only a few
  // entries per row (scoring against a reference file), which take exp(logp) themselves.
  bool with_p = true;
  FloatBuffer logp, p;          // rows() x n_vocab each, row-major (p only with_p)
  std::vector<int32_t> argmax;  // per row; the lowest id among equal maxima
  size_t rows() const { return argmax.size(); }
  const float* logp_row(size_t i) const { return logp.data() + i * static_cast<size_t>(n_vocab); }
  const float* p_row(size_t i) const { return p.data() + i * static_cast<size_t>(n_vocab); }
  void clear() {
    logp.clear();
    p.clear();
    argmax.clear();
  }
};

// log(sum_v exp(logits[v])), so that log p(v) = logits[v] - LogSumExp(logits, n): the normalizer the
// softmax above uses, for callers that need only a few log-probabilities of a row. NaN when logits is null
// or holds a non-finite value.
double LogSumExp(const float* logits, int n);

// The k largest entries of values[0..n) (logits or log-probabilities), largest first, ties by lower id.
void TopK(const float* values, int n, int k, std::vector<int32_t>* ids);

// Teacher forcing: tokens through the model in batched passes from an empty cache (positions 0..n-1);
// out gets one row per token. Fails, never substitutes, when llama.cpp errs or returns a non-finite logit.
Status Forward(llama_context* ctx, const std::vector<int32_t>& tokens, Distributions* out);

// Greedy continuation: the prompt in one batched pass, then up to max_new tokens decoded one at a time
// (stopping after an end-of-generation token). out gets the rows of the whole sequence prompt+continuation
// except its last token, i.e. exactly the rows Forward(prompt+continuation minus its last token) gives.
Status GenerateGreedy(llama_context* ctx, const std::vector<int32_t>& prompt, int max_new,
                      std::vector<int32_t>* continuation, Distributions* out);

// Incremental decoding for generation: Start clears the cache and reads the prompt; Step appends one
// token. After either, LastLogits is the distribution for the next token (raw logits, n_vocab of them).
Status Start(llama_context* ctx, const std::vector<int32_t>& prompt);
Status Step(llama_context* ctx, int32_t token);
const float* LastLogits(llama_context* ctx);
int VocabSize(llama_context* ctx);
bool IsEndOfGeneration(llama_context* ctx, int32_t token);

// A seeded sampler (top-k, then temperature, then a draw from llama.cpp's seeded generator): two
// samplers made with the same arguments, fed the same logits, draw the same tokens.
class Sampler {
 public:
  Sampler(uint32_t seed, int top_k, float temperature);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;
  int32_t Sample(llama_context* ctx);

 private:
  llama_sampler* chain_;
};

// The threads a context gets when none are asked for: the CPUs this process may run on (its affinity mask, at
// most kMaxThreads) that other processes leave free, probed once per process. llama.cpp's threads meet at a
// barrier after every operation and spin there, so a thread whose peer the scheduler has parked burns its slice
// waiting: beside another busy llama.cpp process on two cores, two threads ran up to 10x slower than one
// (bench/threads.sh, docs/verify.md "Threads"). The probe runs one spinning thread per usable CPU for
// kThreadProbeMillis and counts the CPU time they got; the free CPUs are that sum, rounded, at least one.
constexpr int kThreadProbeMillis = 30;
int DefaultThreads();
// The probe alone, uncached: for bench/threads.sh and tests.
int FreeCpus();

}  // namespace pot::engine
