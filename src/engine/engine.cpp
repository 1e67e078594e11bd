#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include "llama.h"

namespace pot::engine {

namespace {
bool g_verbose = false;

void LogFilter(ggml_log_level level, const char* text, void*) {
  if (g_verbose || level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}
}  // namespace

void Init(bool verbose) {
  static std::once_flag once;
  g_verbose = verbose;
  std::call_once(once, [] {
    llama_log_set(LogFilter, nullptr);
    llama_backend_init();
  });
}

void ModelDeleter::operator()(llama_model* m) const { llama_model_free(m); }
void ContextDeleter::operator()(llama_context* c) const { llama_free(c); }

int DefaultThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

Status LoadModel(const std::string& path, const LoadOptions& options, ModelPtr* out) {
  llama_model_params params = llama_model_default_params();
  params.vocab_only = options.vocab_only;
  params.n_gpu_layers = 0;
  if (options.writable) params.load_mode = LLAMA_LOAD_MODE_NONE;
  llama_model* model = llama_model_load_from_file(path.c_str(), params);
  if (model == nullptr) return Status::Corruption(path + ": llama.cpp could not load this model");
  out->reset(model);
  return Status::OK();
}

Status NewContext(llama_model* model, const ContextOptions& options, ContextPtr* out) {
  llama_context_params params = llama_context_default_params();
  params.n_ctx = options.n_ctx;
  params.n_batch = options.n_batch;
  params.n_ubatch = options.n_ubatch;
  params.n_threads = params.n_threads_batch = options.n_threads > 0 ? options.n_threads : DefaultThreads();
  params.flash_attn_type = options.flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  params.no_perf = true;
  if (options.f32_kv) params.type_k = params.type_v = GGML_TYPE_F32;
  llama_context* ctx = llama_init_from_model(model, params);
  if (ctx == nullptr) return Status::Internal("llama.cpp could not create a context");
  out->reset(ctx);
  return Status::OK();
}

Status Tokenize(const llama_vocab* vocab, const std::string& text, bool add_bos, std::vector<int32_t>* out) {
  out->resize(text.size() + 2);
  int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), out->data(),
                             static_cast<int32_t>(out->size()), add_bos, /*parse_special=*/false);
  if (n < 0) {
    out->resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), out->data(),
                       static_cast<int32_t>(out->size()), add_bos, false);
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
    if (llama_decode(ctx, batch) != 0) {
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

}  // namespace pot::engine
