#include "engine/engine.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "env/env.h"
#include "gguf/gguf.h"
#include "gguf/hparams.h"
#include "llama.h"

namespace pot::engine {

namespace {
bool g_verbose = false;

// llama.cpp's last error line, folded into pot's own one-line error (LoadModel) instead of printed beside it.
std::mutex g_last_error_mutex;
std::string g_last_error;

void LogFilter(ggml_log_level level, const char* text, void*) {
  if (g_verbose) std::fputs(text, stderr);
  if (level == GGML_LOG_LEVEL_ERROR) {
    std::lock_guard<std::mutex> lock(g_last_error_mutex);
    g_last_error = text;
    while (!g_last_error.empty() && (g_last_error.back() == '\n' || g_last_error.back() == ' ')) g_last_error.pop_back();
  }
}

std::string TakeLastError() {
  std::lock_guard<std::mutex> lock(g_last_error_mutex);
  return std::exchange(g_last_error, std::string());
}

// One line on stderr, then the failure exit code at once: this may run on any of ggml's worker threads
// while others still compute, so nothing is unwound or flushed but stderr.
[[noreturn]] void DieOneLine(const char* what, const char* message) {
  std::string line = std::string("pot: error: ") + what + message;
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  for (char& ch : line) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  std::_Exit(kAbortExitCode);
}

// ggml's GGML_ASSERT / GGML_ABORT: replaces ggml's default, which prints a backtrace (by attaching gdb,
// whose output lands on stdout and breaks --json) and raises SIGABRT (exit 134).
// A lost RPC server is what the user must fix: it leads the line, llama.cpp's own words follow.
void OnGgmlAbort(const char* message) {
  const std::string lost = placement::ExplainLostServer();
  if (lost.empty()) DieOneLine("llama.cpp aborted: ", message);
  DieOneLine((lost + "; rerun the same command to resume once it is back (llama.cpp aborted: ").c_str(),
             (std::string(message) + ")").c_str());
}

// An exception nothing caught: replaces the std::terminate handler ggml installs at start-up, which prints
// the same gdb backtrace.
void OnTerminate() {
  const char* what = "unknown exception";
  std::string text;
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      text = ex.what();
      what = text.c_str();
    } catch (...) {
    }
  } else {
    what = "std::terminate called";
  }
  DieOneLine("internal error: ", what);
}

// This build's CPU backend runs on OpenMP, and libgomp ends the process with exit(1), after its own
// "libgomp: Thread creation failed" line, when the system refuses it a thread: 1 would read as a negative
// answer. An exit while pot is inside a llama.cpp computation becomes one pot line and the failure code.
std::atomic<int> g_computing{0};

class Computing {
 public:
  Computing() { ++g_computing; }
  ~Computing() { --g_computing; }
  Computing(const Computing&) = delete;
  Computing& operator=(const Computing&) = delete;
};

void OnExitWhileComputing() {
  if (g_computing.load() > 0) DieOneLine("llama.cpp ended the process while computing", " (the system refused a thread?)");
}

}  // namespace

void InstallCrashHandlers() {
  ggml_set_abort_callback(OnGgmlAbort);
  std::set_terminate(OnTerminate);
}

void Init(bool verbose) {
  static std::once_flag once;
  g_verbose = verbose;
  std::call_once(once, [] {
    InstallCrashHandlers();
    std::atexit(OnExitWhileComputing);
    llama_log_set(LogFilter, nullptr);
    llama_backend_init();
  });
}

void ModelDeleter::operator()(llama_model* m) const { llama_model_free(m); }
void ContextDeleter::operator()(llama_context* c) const { llama_free(c); }

void PreferPassiveThreadWait(char** argv) {
#ifdef __linux__
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("OMP_WAIT_POLICY");  // not restarted: libgomp keeps the policy it read, and children should too
#else
  (void)argv;
#endif
}

namespace {

int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                             : static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(n, 1, kMaxThreads);
}

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

int FreeCpus() {
  const int cpus = UsableCpus();
  if (cpus == 1) return 1;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(kThreadProbeMillis);
  std::vector<double> got(static_cast<size_t>(cpus));
  std::vector<std::thread> spinners;
  spinners.reserve(got.size());
  for (double& g : got) {
    spinners.emplace_back([&g, end] {
      const double start = ThreadCpuSeconds();
      while (std::chrono::steady_clock::now() < end) {
      }
      g = ThreadCpuSeconds() - start;
    });
  }
  for (auto& t : spinners) t.join();
  double sum = 0;
  for (double g : got) sum += g;
  // Each spinner ran for at most the window, so sum / window is how many CPUs' worth of time they got together;
  // 0.3 of one is scheduler noise (a kernel thread, a short-lived process), not a busy neighbour.
  const int free = static_cast<int>(sum / (kThreadProbeMillis * 1e-3) + 0.3);
  return std::clamp(free, 1, cpus);
}

int DefaultThreads() {
  static const int threads = FreeCpus();
  return threads;
}

Status LoadModel(const std::string& path, const LoadOptions& options, ModelPtr* out) {
  // pot's own reader and the hyperparameter wall first: llama.cpp aborts the process on values it does not
  // expect (gguf/hparams.h).
  gguf::File file;
  POT_RETURN_IF_ERROR(gguf::Read(Env::Default(), path, &file));
  POT_RETURN_IF_ERROR(
      gguf::CheckLoadable(file, options.vocab_only ? gguf::LoadScope::kVocabOnly : gguf::LoadScope::kFull));
  llama_model_params params = llama_model_default_params();
  params.vocab_only = options.vocab_only;
  placement::Prepared placed;
  if (!options.vocab_only) POT_RETURN_IF_ERROR(placement::Prepare(options.placement, file, &placed));
  params.devices = placed.devices.empty() ? nullptr : reinterpret_cast<ggml_backend_dev_t*>(placed.devices.data());
  params.tensor_split = placed.split.empty() ? nullptr : placed.split.data();
  params.n_gpu_layers = placed.n_gpu_layers;
  params.use_extra_bufts = placed.use_extra_bufts;
  if (options.writable) params.load_mode = LLAMA_LOAD_MODE_NONE;
  llama_model* model = llama_model_load_from_file(path.c_str(), params);
  if (model == nullptr) {
    const std::string reason = TakeLastError();
    return Status::Corruption(path + ": llama.cpp could not load this model" + (reason.empty() ? "" : " (" + reason + ")"));
  }
  out->reset(model);
  return Status::OK();
}

Status NewContext(llama_model* model, const ContextOptions& options, ContextPtr* out) {
  llama_context_params params = llama_context_default_params();
  params.n_ctx = options.n_ctx > 0 ? options.n_ctx
                                   : std::min(static_cast<uint32_t>(std::max(llama_model_n_ctx_train(model), 1)), kDefaultContext);
  params.n_batch = options.n_batch;
  params.n_ubatch = options.n_ubatch;
  params.n_threads = params.n_threads_batch = options.n_threads > 0 ? options.n_threads : DefaultThreads();
  params.flash_attn_type = options.flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  params.no_perf = true;
  if (options.f32_kv) params.type_k = params.type_v = GGML_TYPE_F32;
  params.cb_eval = options.cb_eval;
  params.cb_eval_user_data = options.cb_eval_user_data;
  llama_context* ctx = nullptr;
  {
    Computing computing;
    ctx = llama_init_from_model(model, params);
  }
  if (ctx == nullptr) {
    const std::string reason = TakeLastError();  // llama.cpp's own line, shown only with --verbose otherwise
    return Status::Internal("llama.cpp could not create a context" + (reason.empty() ? "" : " (" + reason + ")"));
  }
  out->reset(ctx);
  return Status::OK();
}

Status Tokenize(const llama_vocab* vocab, const std::string& text, bool add_bos, std::vector<int32_t>* out,
                bool parse_special) {
  out->resize(text.size() + 2);
  int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), out->data(),
                             static_cast<int32_t>(out->size()), add_bos, parse_special);
  if (n < 0) {
    out->resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), out->data(),
                       static_cast<int32_t>(out->size()), add_bos, parse_special);
  }
  if (n < 0) return Status::Internal("tokenization failed");
  out->resize(static_cast<size_t>(n));
  return Status::OK();
}

Status MeanNll(llama_context* ctx, const std::vector<int32_t>& tokens, double* mean_nll, uint64_t* n_scored) {
  const llama_model* model = llama_get_model(ctx);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  const size_t window = std::min<size_t>(llama_n_ctx(ctx), llama_n_batch(ctx));
  double total = 0;
  uint64_t count = 0;
  llama_batch batch = llama_batch_init(static_cast<int32_t>(window), 0, 1);
  Status status;
  for (size_t start = 0; start + 1 < tokens.size() && status.ok(); start += window) {
    const size_t n = std::min(window, tokens.size() - start);
    if (n < 2) break;
    llama_memory_clear(llama_get_memory(ctx), true);
    batch.n_tokens = static_cast<int32_t>(n);
    for (size_t i = 0; i < n; ++i) {
      batch.token[i] = tokens[start + i];
      batch.pos[i] = static_cast<llama_pos>(i);
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = true;
    }
    if (Computing computing; llama_decode(ctx, batch) != 0) {
      status = Status::Internal("llama_decode failed");
      break;
    }
    for (size_t i = 0; i + 1 < n; ++i) {
      const float* logits = llama_get_logits_ith(ctx, static_cast<int32_t>(i));
      if (logits == nullptr) {
        status = Status::Internal("llama.cpp returned no logits");
        break;
      }
      float max_logit = *std::max_element(logits, logits + n_vocab);
      double sum = 0;
      for (int v = 0; v < n_vocab; ++v) sum += std::exp(static_cast<double>(logits[v] - max_logit));
      const double nll = std::log(sum) - static_cast<double>(logits[tokens[start + i + 1]] - max_logit);
      if (!std::isfinite(nll)) {
        status = Status::Internal("non-finite log-likelihood from llama.cpp logits");
        break;
      }
      total += nll;
      ++count;
    }
  }
  llama_batch_free(batch);
  POT_RETURN_IF_ERROR(status);
  if (count == 0) return Status::InvalidArgument("too few tokens to score");
  *mean_nll = total / static_cast<double>(count);
  *n_scored = count;
  return Status::OK();
}

namespace {

// e^x for x <= 0, written so the compiler vectorizes the loops that call it (no calls, no branches; this
// file is built with -fno-trapping-math so the clamp becomes a vector max): x = n ln2 + r with
// |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (relative error < 2e-7), 2^n assembled in the
// exponent bits. Arguments below -87 give e^-87 (1.6e-38) rather than subnormals: for a probability that
// is zero to every printed digit, and the log-probabilities are computed from the logits, not from this.
inline float ExpNonPositive(float x) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const float xc = std::max(x, -87.0f);
  const float n = (xc * kLog2e + kRound) - kRound;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  const float poly =
      1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return poly * scale;
}

// x86-64: an AVX2 clone is picked at load time where the CPU has it (8 floats per instruction, not 4).
#if defined(__x86_64__) && defined(__GNUC__)
#define POT_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define POT_VECTOR_CLONES
#endif

// Appends softmax(logits) and its logarithm to out: one vectorized exp per entry, the normalizer summed
// in 16 float lanes and then in double. A non-finite logit fails the row; nothing is substituted.
// The row's arithmetic, apart from the vector bookkeeping; returns the sum of e^(logit - max).
POT_VECTOR_CLONES double ExpRow(const float* __restrict logits, float max_logit, int n_vocab, float* __restrict p) {
  constexpr int kLanes = 16;
  float lanes[kLanes] = {};
  int v = 0;
  for (; v + kLanes <= n_vocab; v += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      p[v + l] = ExpNonPositive(logits[v + l] - max_logit);
      lanes[l] += p[v + l];
    }
  }
  double sum = 0;
  for (; v < n_vocab; ++v) {
    p[v] = ExpNonPositive(logits[v] - max_logit);
    sum += p[v];
  }
  for (float lane : lanes) sum += lane;
  return sum;
}

POT_VECTOR_CLONES void NormalizeRow(const float* __restrict logits, float inv, float shift, int n_vocab,
                                    float* __restrict p, float* __restrict logp) {
  for (int v = 0; v < n_vocab; ++v) {
    p[v] *= inv;
    logp[v] = logits[v] - shift;
  }
}

// The largest logit, or NaN when any logit is NaN or infinite (x - x is 0 exactly for finite x).
POT_VECTOR_CLONES float MaxFiniteLogit(const float* __restrict logits, int n_vocab) {
  constexpr int kLanes = 16;
  float lanes[kLanes], bad[kLanes] = {};
  for (int l = 0; l < kLanes; ++l) lanes[l] = logits[0];
  int v = 0;
  for (; v + kLanes <= n_vocab; v += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      lanes[l] = std::max(lanes[l], logits[v + l]);
      bad[l] += logits[v + l] - logits[v + l];
    }
  }
  float max_logit = logits[0], any_bad = 0;
  for (; v < n_vocab; ++v) {
    max_logit = std::max(max_logit, logits[v]);
    any_bad += logits[v] - logits[v];
  }
  for (int l = 0; l < kLanes; ++l) {
    max_logit = std::max(max_logit, lanes[l]);
    any_bad += bad[l];
  }
  return any_bad == 0 ? max_logit : std::nanf("");
}

Status AppendSoftmax(const float* logits, int n_vocab, Distributions* out) {
  if (logits == nullptr) return Status::Internal("llama.cpp returned no logits");
  const float max_logit = MaxFiniteLogit(logits, n_vocab);
  if (std::isnan(max_logit)) return Status::Internal("non-finite logits from llama.cpp");
  out->argmax.push_back(static_cast<int32_t>(std::find(logits, logits + n_vocab, max_logit) - logits));
  const size_t base = out->logp.size();
  out->logp.resize(base + static_cast<size_t>(n_vocab));
  thread_local FloatBuffer scratch;  // the unnormalized exponentials when p is not kept
  float* p = nullptr;
  if (out->with_p) {
    out->p.resize(base + static_cast<size_t>(n_vocab));
    p = out->p.data() + base;
  } else {
    scratch.resize(static_cast<size_t>(n_vocab));
    p = scratch.data();
  }
  float* logp = out->logp.data() + base;
  const double sum = ExpRow(logits, max_logit, n_vocab, p);
  NormalizeRow(logits, static_cast<float>(1 / sum), max_logit + static_cast<float>(std::log(sum)), n_vocab, p, logp);
  return Status::OK();
}

// Decodes tokens[begin, end) at positions begin.. in batches of n_batch. With out, every token's
// distribution is appended to it; without, only the last token's logits are computed, left in the context
// for LastLogits.
Status Decode(llama_context* ctx, const std::vector<int32_t>& tokens, size_t begin, size_t end, Distributions* out) {
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
  if (out != nullptr) out->n_vocab = n_vocab;
  if (end > llama_n_ctx(ctx)) {
    return Status::InvalidArgument("sequence of " + std::to_string(end) + " tokens exceeds the context of " +
                                   std::to_string(llama_n_ctx(ctx)));
  }
  const size_t step = llama_n_batch(ctx);
  llama_batch batch = llama_batch_init(static_cast<int32_t>(step), 0, 1);
  Status status;
  for (size_t start = begin; start < end && status.ok(); start += step) {
    const size_t n = std::min(step, end - start);
    batch.n_tokens = static_cast<int32_t>(n);
    for (size_t i = 0; i < n; ++i) {
      batch.token[i] = tokens[start + i];
      batch.pos[i] = static_cast<llama_pos>(start + i);
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = out != nullptr || start + i + 1 == end;
    }
    if (Computing computing; llama_decode(ctx, batch) != 0) {
      status = Status::Internal("llama_decode failed");
      break;
    }
    for (size_t i = 0; out != nullptr && i < n && status.ok(); ++i) {
      status = AppendSoftmax(llama_get_logits_ith(ctx, static_cast<int32_t>(i)), n_vocab, out);
    }
  }
  llama_batch_free(batch);
  return status;
}

}  // namespace

double LogSumExp(const float* logits, int n) {
  if (logits == nullptr) return std::nan("");
  const float max_logit = MaxFiniteLogit(logits, n);
  if (std::isnan(max_logit)) return std::nan("");
  thread_local FloatBuffer scratch;  // ExpRow writes every e^(logit - max); only their sum is wanted here
  scratch.resize(static_cast<size_t>(n));
  return max_logit + std::log(ExpRow(logits, max_logit, n, scratch.data()));
}

void TopK(const float* values, int n, int k, std::vector<int32_t>* ids) {
  // A heap of the best k seen, its worst on top: one comparison for most entries.
  ids->clear();
  auto better = [values](int32_t a, int32_t b) { return values[a] > values[b] || (values[a] == values[b] && a < b); };
  for (int32_t v = 0; v < n; ++v) {
    if (static_cast<int>(ids->size()) < k) {
      ids->push_back(v);
      std::push_heap(ids->begin(), ids->end(), better);
    } else if (better(v, ids->front())) {
      std::pop_heap(ids->begin(), ids->end(), better);
      ids->back() = v;
      std::push_heap(ids->begin(), ids->end(), better);
    }
  }
  std::sort(ids->begin(), ids->end(), better);
}

Status Forward(llama_context* ctx, const std::vector<int32_t>& tokens, Distributions* out) {
  out->clear();
  if (tokens.empty()) return Status::InvalidArgument("nothing to score: no tokens");
  llama_memory_clear(llama_get_memory(ctx), true);
  return Decode(ctx, tokens, 0, tokens.size(), out);
}

Status GenerateGreedy(llama_context* ctx, const std::vector<int32_t>& prompt, int max_new,
                      std::vector<int32_t>* continuation, Distributions* out) {
  const llama_vocab* vocab = llama_model_get_vocab(llama_get_model(ctx));
  continuation->clear();
  if (max_new == 0) {  // the prompt's own last row would predict nothing that is scored
    if (prompt.size() < 2) return Status::InvalidArgument("a prompt of one token has no position to score");
    return Forward(ctx, std::vector<int32_t>(prompt.begin(), prompt.end() - 1), out);
  }
  POT_RETURN_IF_ERROR(Forward(ctx, prompt, out));
  std::vector<int32_t> sequence = prompt;
  while (static_cast<int>(continuation->size()) < max_new) {
    const int32_t next = out->argmax.back();
    continuation->push_back(next);
    sequence.push_back(next);
    if (llama_vocab_is_eog(vocab, next) || static_cast<int>(continuation->size()) == max_new) break;
    POT_RETURN_IF_ERROR(Decode(ctx, sequence, sequence.size() - 1, sequence.size(), out));
  }
  // The final token is never decoded, so rows = |prompt| + |continuation| - 1.
  return Status::OK();
}

Status Start(llama_context* ctx, const std::vector<int32_t>& prompt) {
  if (prompt.empty()) return Status::InvalidArgument("empty prompt");
  llama_memory_clear(llama_get_memory(ctx), true);
  return Decode(ctx, prompt, 0, prompt.size(), nullptr);
}

Status Step(llama_context* ctx, int32_t token) {
  if (static_cast<uint32_t>(llama_memory_seq_pos_max(llama_get_memory(ctx), 0) + 2) > llama_n_ctx(ctx)) {
    return Status::InvalidArgument("generation reached the end of the context");
  }
  Computing computing;
  if (llama_decode(ctx, llama_batch_get_one(&token, 1)) != 0) return Status::Internal("llama_decode failed");
  return Status::OK();
}

const float* LastLogits(llama_context* ctx) { return llama_get_logits_ith(ctx, -1); }

int VocabSize(llama_context* ctx) { return llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx))); }

bool IsEndOfGeneration(llama_context* ctx, int32_t token) {
  return llama_vocab_is_eog(llama_model_get_vocab(llama_get_model(ctx)), token);
}

Sampler::Sampler(uint32_t seed, int top_k, float temperature) {
  chain_ = llama_sampler_chain_init(llama_sampler_chain_default_params());
  llama_sampler_chain_add(chain_, llama_sampler_init_top_k(top_k));
  llama_sampler_chain_add(chain_, llama_sampler_init_temp(temperature));
  llama_sampler_chain_add(chain_, llama_sampler_init_dist(seed));
}

Sampler::~Sampler() { llama_sampler_free(chain_); }

int32_t Sampler::Sample(llama_context* ctx) { return llama_sampler_sample(chain_, ctx, -1); }

}  // namespace pot::engine
