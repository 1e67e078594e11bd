#include "forge/forge.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "engine/engine.h"
#include "env/env.h"
#include "ggml.h"
#include "gguf.h"
#include "llama.h"
#include "text/text.h"

namespace pot::forge {
namespace {

using json = nlohmann::ordered_json;

// ---- deterministic randomness -------------------------------------------------------------------
// SplitMix64: tiny, portable and fully specified, so the same seed gives the same bytes everywhere
// (std::normal_distribution and friends are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform on [0, n) without modulo bias (Lemire's method with rejection).
  uint64_t Below(uint64_t n) {
    while (true) {
      unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
      uint64_t low = static_cast<uint64_t>(m);
      if (low >= n || low >= (-n) % n) return static_cast<uint64_t>(m >> 64);
    }
  }

 private:
  uint64_t state_;
};

uint64_t DeriveSeed(uint64_t seed, const std::string& label) {
  Digest d = Sha256Of("pot.forge.seed/" + std::to_string(seed) + "/" + label);
  uint64_t s = 0;
  for (int i = 0; i < 8; ++i) s |= static_cast<uint64_t>(d[i]) << (8 * i);
  return s;
}

// ---- recipes --------------------------------------------------------------------------------------
constexpr uint32_t kContext = 256;  // llama_opt requires datapoints of exactly n_ctx tokens

struct Shape {
  uint32_t n_embd, n_layer, n_head, n_ff;
};

// Widths are multiples of 256 where the member is quantized: llama.cpp's quantizer silently falls back
// to another type when a row is not a multiple of the block size.
constexpr Shape kBaseShape{256, 4, 4, 768};
constexpr Shape kScaleShape{256, 6, 4, 768};     // half again as deep
constexpr Shape kStudentShape{128, 2, 2, 384};   // smaller student for distillation

// Step budgets keep a cold forge of the whole family near 13 minutes on one core: training here is
// compute-bound (about 50 GFLOP/s), and the 32k-token output layer dominates every step. Each step is one
// datapoint of kContext tokens; data is revisited in a fresh seeded order each epoch. The peak learning
// rate was measured (docs/forge.md): 1e-3, 6e-4 and 5e-4 plateau or diverge on this model; 1.5e-4 with
// AdamW beta2 = 0.95 gave the lowest held-out perplexity for the same 400 steps.
struct TrainRecipe {
  double lr_max;
  int steps;
};
constexpr TrainRecipe kPretrain{1.5e-4, 400};
constexpr TrainRecipe kScalePretrain{1.5e-4, 300};  // the deeper model costs more per step
constexpr TrainRecipe kSmallPretrain{1.5e-4, 300};  // distilled student and other-tokenizer
constexpr TrainRecipe kFinetune{1e-4, 150};
constexpr float kAdamBeta2 = 0.95f;
constexpr int kDistillSequences = 128;

struct Corpus {
  std::vector<int32_t> train;
  std::vector<int32_t> heldout;
};

// ---- small RAII helpers for ggml/gguf -------------------------------------------------------------
struct GgufDeleter {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;
using GgmlPtr = std::unique_ptr<ggml_context, GgmlDeleter>;

Status OpenGguf(const std::string& path, bool load_data, GgufPtr* gguf, GgmlPtr* ggml) {
  ggml_context* data_ctx = nullptr;
  gguf_init_params params{/*no_alloc=*/!load_data, /*ctx=*/ggml ? &data_ctx : nullptr};
  gguf_context* ctx = gguf_init_from_file(path.c_str(), params);
  if (ctx == nullptr) return Status::Corruption(path + ": not a readable GGUF file");
  gguf->reset(ctx);
  if (ggml) ggml->reset(data_ctx);
  return Status::OK();
}

std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// A fresh, unpredictable file name next to target (Env::NewTempFile) for ggml and llama.cpp to write by
// path: they open with fopen, which would follow a link planted at a fixed name such as TARGET.tmp.
Status ReserveTempPath(const std::string& target, std::string* tmp) {
  std::unique_ptr<WritableFile> file;
  POT_RETURN_IF_ERROR(Env::Default()->NewTempFile(target, 0644, tmp, &file));
  return file->Close();
}

// Writes gguf to path atomically (a killed forge never leaves a half-written member behind).
Status WriteGguf(const gguf_context* gguf, const std::string& path) {
  std::string tmp;
  POT_RETURN_IF_ERROR(ReserveTempPath(path, &tmp));
  if (!gguf_write_to_file(gguf, tmp.c_str(), false)) return Status::IOError(path + ": could not write GGUF");
  return Env::Default()->RenameFile(tmp, path);
}

struct VocabInfo {
  std::string file;  // ggml-vocab-*.gguf
  uint32_t n_vocab;
};

// Copies the tokenizer.* keys of the vocabulary file (a real tokenizer) and sets the llama architecture keys.
Status SetMetadata(gguf_context* out, const std::string& vocab_path, const Shape& shape, const std::string& name,
                   const std::string& recipe, uint64_t seed, uint32_t* n_vocab) {
  GgufPtr vocab;
  POT_RETURN_IF_ERROR(OpenGguf(vocab_path, false, &vocab, nullptr));
  gguf_set_kv(out, vocab.get());
  std::vector<std::string> drop;
  for (int64_t i = 0; i < gguf_get_n_kv(out); ++i) {
    std::string key = gguf_get_key(out, i);
    if (key.rfind("tokenizer.", 0) != 0) drop.push_back(key);
  }
  for (const auto& key : drop) gguf_remove_key(out, key.c_str());
  int64_t tokens = gguf_find_key(out, "tokenizer.ggml.tokens");
  if (tokens < 0) return Status::Corruption(vocab_path + ": no tokenizer.ggml.tokens");
  *n_vocab = static_cast<uint32_t>(gguf_get_arr_n(out, tokens));

  gguf_set_val_str(out, "general.architecture", "llama");
  gguf_set_val_str(out, "general.name", ("pot-forge " + name).c_str());
  gguf_set_val_u32(out, "general.file_type", 0);  // all F32
  gguf_set_val_u32(out, "llama.vocab_size", *n_vocab);
  gguf_set_val_u32(out, "llama.context_length", kContext);
  gguf_set_val_u32(out, "llama.embedding_length", shape.n_embd);
  gguf_set_val_u32(out, "llama.block_count", shape.n_layer);
  gguf_set_val_u32(out, "llama.feed_forward_length", shape.n_ff);
  gguf_set_val_u32(out, "llama.attention.head_count", shape.n_head);
  gguf_set_val_u32(out, "llama.attention.head_count_kv", shape.n_head);
  gguf_set_val_u32(out, "llama.rope.dimension_count", shape.n_embd / shape.n_head);
  gguf_set_val_f32(out, "llama.rope.freq_base", 10000.0f);
  gguf_set_val_f32(out, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_u32(out, "pot.forge.version", kForgeVersion);
  gguf_set_val_u64(out, "pot.forge.seed", seed);
  gguf_set_val_str(out, "pot.forge.recipe", recipe.c_str());
  return Status::OK();
}

struct TensorSpec {
  std::string name;
  int64_t ne0, ne1;  // ne1 == 0: a vector
  bool is_norm;
  bool is_residual_out;  // scaled down at init (GPT-2 style) so deep stacks start near identity
};

std::vector<TensorSpec> TensorSpecs(const Shape& s, uint32_t n_vocab) {
  std::vector<TensorSpec> specs;
  specs.push_back({"token_embd.weight", s.n_embd, n_vocab, false, false});
  for (uint32_t l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    specs.push_back({p + "attn_norm.weight", s.n_embd, 0, true, false});
    specs.push_back({p + "attn_q.weight", s.n_embd, s.n_embd, false, false});
    specs.push_back({p + "attn_k.weight", s.n_embd, s.n_embd, false, false});
    specs.push_back({p + "attn_v.weight", s.n_embd, s.n_embd, false, false});
    specs.push_back({p + "attn_output.weight", s.n_embd, s.n_embd, false, true});
    specs.push_back({p + "ffn_norm.weight", s.n_embd, 0, true, false});
    specs.push_back({p + "ffn_gate.weight", s.n_embd, s.n_ff, false, false});
    specs.push_back({p + "ffn_up.weight", s.n_embd, s.n_ff, false, false});
    specs.push_back({p + "ffn_down.weight", s.n_ff, s.n_embd, false, true});
  }
  specs.push_back({"output_norm.weight", s.n_embd, 0, true, false});
  specs.push_back({"output.weight", s.n_embd, n_vocab, false, false});
  return specs;
}

// Writes an untrained F32 model: norms = 1, matrices uniform with standard deviation 0.02.
Status WriteInitialModel(const std::string& vocab_path, const Shape& shape, const std::string& name,
                         const std::string& recipe, uint64_t seed, const std::string& path) {
  GgufPtr out(gguf_init_empty());
  uint32_t n_vocab = 0;
  POT_RETURN_IF_ERROR(SetMetadata(out.get(), vocab_path, shape, name, recipe, seed, &n_vocab));
  const auto specs = TensorSpecs(shape, n_vocab);
  size_t bytes = 0;
  for (const auto& t : specs) bytes += ggml_tensor_overhead() + sizeof(float) * t.ne0 * std::max<int64_t>(1, t.ne1) + 64;
  GgmlPtr data(ggml_init({bytes, nullptr, false}));
  if (!data) return Status::Internal("ggml_init failed");
  Rng rng(DeriveSeed(seed, "init/" + name));
  const double residual_scale = 1.0 / std::sqrt(2.0 * shape.n_layer);
  for (const auto& t : specs) {
    ggml_tensor* tensor = t.ne1 == 0 ? ggml_new_tensor_1d(data.get(), GGML_TYPE_F32, t.ne0)
                                     : ggml_new_tensor_2d(data.get(), GGML_TYPE_F32, t.ne0, t.ne1);
    ggml_set_name(tensor, t.name.c_str());
    float* values = static_cast<float*>(tensor->data);
    const int64_t n = ggml_nelements(tensor);
    const double half_width = 0.02 * std::sqrt(3.0) * (t.is_residual_out ? residual_scale : 1.0);
    for (int64_t i = 0; i < n; ++i) {
      values[i] = t.is_norm ? 1.0f : static_cast<float>((2.0 * rng.Uniform01() - 1.0) * half_width);
    }
    gguf_add_tensor(out.get(), tensor);
  }
  return WriteGguf(out.get(), path);
}

// Re-serializes the trained tensors of `trained` under the metadata of `metadata_source` (our own keys,
// not whatever llama.cpp's saver emits), tensors in the same canonical order.
Status RewriteWithMetadata(const std::string& metadata_source, const std::string& trained, const std::string& path) {
  GgufPtr meta, weights;
  GgmlPtr data;
  POT_RETURN_IF_ERROR(OpenGguf(metadata_source, false, &meta, nullptr));
  POT_RETURN_IF_ERROR(OpenGguf(trained, true, &weights, &data));
  GgufPtr out(gguf_init_empty());
  gguf_set_kv(out.get(), meta.get());
  for (int64_t i = 0; i < gguf_get_n_tensors(meta.get()); ++i) {
    const char* name = gguf_get_tensor_name(meta.get(), i);
    ggml_tensor* t = ggml_get_tensor(data.get(), name);
    if (t == nullptr) return Status::Internal(std::string("trained model lacks tensor ") + name);
    gguf_add_tensor(out.get(), t);
  }
  return WriteGguf(out.get(), path);
}

// ---- corpora --------------------------------------------------------------------------------------
// A fortune file is a list of entries separated by lines holding a single '%'.
Status ReadFortunes(const std::string& path, std::vector<std::string>* entries) {
  std::string raw;
  POT_RETURN_IF_ERROR(ReadFileToString(Env::Default(), path, &raw));
  std::string current;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find('\n', pos);
    if (eol == std::string::npos) eol = raw.size();
    std::string_view line(raw.data() + pos, eol - pos);
    if (line == "%") {
      if (!current.empty()) entries->push_back(current);
      current.clear();
    } else {
      current.append(line);
      current.push_back('\n');
    }
    pos = eol + 1;
  }
  if (!current.empty()) entries->push_back(current);
  if (entries->empty()) return Status::Corruption(path + ": no fortunes in file");
  return Status::OK();
}

// Tokenizes entries (each starting with BOS); every tenth entry goes to the held-out split.
Status BuildCorpus(const llama_vocab* vocab, const std::vector<std::string>& entries, Corpus* corpus) {
  for (size_t i = 0; i < entries.size(); ++i) {
    std::vector<int32_t> tokens;
    POT_RETURN_IF_ERROR(engine::Tokenize(vocab, entries[i], true, &tokens));
    auto& dst = (i % 10 == 9) ? corpus->heldout : corpus->train;
    dst.insert(dst.end(), tokens.begin(), tokens.end());
  }
  return Status::OK();
}

// ---- training -------------------------------------------------------------------------------------
struct Schedule {
  int64_t step = 0;
  int64_t total_steps = 1;
  double lr_max = 1e-3;
};

// Linear warm-up over the first 5% of steps, then cosine decay to 10% of the peak.
ggml_opt_optimizer_params ScheduledParams(void* userdata) {
  auto* s = static_cast<Schedule*>(userdata);
  const double warmup = std::max<double>(1.0, 0.05 * s->total_steps);
  const double t = static_cast<double>(s->step);
  double lr;
  if (t < warmup) {
    lr = s->lr_max * (t + 1) / warmup;
  } else {
    const double progress = std::min(1.0, (t - warmup) / std::max(1.0, s->total_steps - warmup));
    lr = s->lr_max * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress)));
  }
  ++s->step;
  ggml_opt_optimizer_params p = ggml_opt_get_default_optimizer_params(nullptr);
  p.adamw.alpha = static_cast<float>(lr);
  p.adamw.wd = 0.0f;
  p.adamw.beta2 = kAdamBeta2;
  return p;
}

// Cuts tokens into datapoints of kContext tokens with stride kContext/2, in a seeded order.
std::vector<std::vector<int32_t>> Datapoints(const std::vector<int32_t>& tokens) {
  std::vector<std::vector<int32_t>> points;
  const size_t stride = kContext / 2;
  for (size_t start = 0; start + kContext + 1 <= tokens.size(); start += stride) {
    points.emplace_back(tokens.begin() + start, tokens.begin() + start + kContext + 1);
  }
  return points;
}

// llama_opt_epoch's progress callback takes no user data, so the log sink for the training in progress
// lives here. Training runs one member at a time.
const std::function<void(const std::string&)>* g_train_log = nullptr;
int64_t g_train_steps_before = 0;
int64_t g_train_steps_total = 0;

void LogTrainingProgress(bool, ggml_opt_context_t, ggml_opt_dataset_t, ggml_opt_result_t result, int64_t ibatch,
                         int64_t, int64_t) {
  const int64_t step = g_train_steps_before + ibatch;
  if (g_train_log == nullptr || !*g_train_log || ibatch == 0 || step % 100 != 0) return;
  double loss = 0, unc = 0;
  ggml_opt_result_loss(result, &loss, &unc);
  char line[128];
  std::snprintf(line, sizeof line, "  step %lld/%lld: mean loss this epoch %.3f", static_cast<long long>(step),
                static_cast<long long>(g_train_steps_total), loss);
  (*g_train_log)(line);
}

struct TrainResult {
  uint64_t tokens_seen = 0;
  double final_train_loss = 0;
};

Status Train(const std::string& in_path, const std::vector<std::vector<int32_t>>& points, const TrainRecipe& recipe,
             uint64_t order_seed, const Options& options, const std::string& out_path, TrainResult* result) {
  if (points.empty()) return Status::InvalidArgument("training corpus shorter than one context");
  engine::ModelPtr model;
  POT_RETURN_IF_ERROR(engine::LoadModel(in_path, {.writable = true}, &model));
  engine::ContextPtr ctx;
  POT_RETURN_IF_ERROR(engine::NewContext(model.get(),
                                         {.n_ctx = kContext, .n_batch = kContext, .n_ubatch = kContext,
                                          .n_threads = options.n_threads, .f32_kv = true},
                                         &ctx));
  int64_t total = recipe.steps;
  if (options.max_steps > 0) total = std::min<int64_t>(total, options.max_steps);
  Schedule schedule{0, total, recipe.lr_max};
  llama_opt_params params{};
  params.n_ctx_train = 0;
  params.param_filter = llama_opt_param_filter_all;
  params.get_opt_pars = ScheduledParams;
  params.get_opt_pars_ud = &schedule;
  params.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
  llama_opt_init(ctx.get(), model.get(), params);

  Rng order(order_seed);
  ggml_opt_result_t train_result = ggml_opt_result_init();
  ggml_opt_result_t eval_result = ggml_opt_result_init();
  int64_t done = 0;
  while (done < total) {
    std::vector<size_t> perm(points.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
    for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[order.Below(i)]);
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(points.size()), total - done);
    ggml_opt_dataset_t dataset = ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, kContext, kContext, n, 1);
    auto* data = static_cast<int32_t*>(ggml_opt_dataset_data(dataset)->data);
    auto* labels = static_cast<int32_t*>(ggml_opt_dataset_labels(dataset)->data);
    for (int64_t i = 0; i < n; ++i) {
      const auto& p = points[perm[static_cast<size_t>(i)]];
      std::memcpy(data + i * kContext, p.data(), kContext * sizeof(int32_t));
      std::memcpy(labels + i * kContext, p.data() + 1, kContext * sizeof(int32_t));
    }
    ggml_opt_result_reset(train_result);
    g_train_log = &options.log;
    g_train_steps_before = done;
    g_train_steps_total = total;
    llama_opt_epoch(ctx.get(), dataset, train_result, eval_result, n, LogTrainingProgress, nullptr);
    g_train_log = nullptr;
    ggml_opt_dataset_free(dataset);
    done += n;
    double loss = 0, unc = 0;
    ggml_opt_result_loss(train_result, &loss, &unc);
    result->final_train_loss = loss;
    if (!std::isfinite(loss)) {
      ggml_opt_result_free(train_result);
      ggml_opt_result_free(eval_result);
      return Status::Internal("training diverged (non-finite loss) for " + out_path);
    }
  }
  ggml_opt_result_free(train_result);
  ggml_opt_result_free(eval_result);
  result->tokens_seen = static_cast<uint64_t>(done) * kContext;
  std::string raw;
  POT_RETURN_IF_ERROR(ReserveTempPath(out_path, &raw));
  llama_model_save_to_file(model.get(), raw.c_str());
  Status s = RewriteWithMetadata(in_path, raw, out_path);
  Env::Default()->RemoveFile(raw);
  return s;
}

// ---- evaluation and generation --------------------------------------------------------------------
Status HeldOutPerplexity(const std::string& path, const std::vector<int32_t>& heldout, const Options& options,
                         double* ppl) {
  engine::ModelPtr model;
  POT_RETURN_IF_ERROR(engine::LoadModel(path, {}, &model));
  engine::ContextPtr ctx;
  POT_RETURN_IF_ERROR(engine::NewContext(
      model.get(), {.n_ctx = kContext, .n_batch = kContext, .n_ubatch = kContext, .n_threads = options.n_threads},
      &ctx));
  double nll = 0;
  uint64_t n = 0;
  POT_RETURN_IF_ERROR(engine::MeanNll(ctx.get(), heldout, &nll, &n));
  *ppl = std::exp(nll);
  return Status::OK();
}

// Samples n_seqs sequences of kContext+1 tokens (BOS then kContext tokens) from the model at temperature 1,
// all sequences decoded together in one batch per step.
Status SampleSequences(const std::string& path, int n_seqs, uint64_t seed, const Options& options,
                       std::vector<std::vector<int32_t>>* out) {
  engine::ModelPtr model;
  POT_RETURN_IF_ERROR(engine::LoadModel(path, {}, &model));
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = kContext * static_cast<uint32_t>(n_seqs);
  cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(n_seqs);
  cp.n_seq_max = static_cast<uint32_t>(n_seqs);
  cp.kv_unified = false;
  cp.n_threads = cp.n_threads_batch = options.n_threads > 0 ? options.n_threads : engine::DefaultThreads();
  cp.no_perf = true;
  engine::ContextPtr ctx(llama_init_from_model(model.get(), cp));
  if (!ctx) return Status::Internal("llama.cpp could not create a sampling context");
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  const int n_vocab = llama_vocab_n_tokens(vocab);
  Rng rng(seed);
  out->assign(static_cast<size_t>(n_seqs), {llama_vocab_bos(vocab)});
  llama_batch batch = llama_batch_init(n_seqs, 0, 1);
  std::vector<double> probs(static_cast<size_t>(n_vocab));
  Status status;
  for (uint32_t pos = 0; pos < kContext && status.ok(); ++pos) {
    batch.n_tokens = n_seqs;
    for (int s = 0; s < n_seqs; ++s) {
      batch.token[s] = (*out)[s].back();
      batch.pos[s] = static_cast<llama_pos>(pos);
      batch.n_seq_id[s] = 1;
      batch.seq_id[s][0] = s;
      batch.logits[s] = true;
    }
    if (llama_decode(ctx.get(), batch) != 0) {
      status = Status::Internal("llama_decode failed while sampling");
      break;
    }
    for (int s = 0; s < n_seqs; ++s) {
      const float* logits = llama_get_logits_ith(ctx.get(), s);
      const float max_logit = *std::max_element(logits, logits + n_vocab);
      double total = 0;
      for (int v = 0; v < n_vocab; ++v) total += probs[v] = std::exp(static_cast<double>(logits[v] - max_logit));
      double u = rng.Uniform01() * total;
      int chosen = n_vocab - 1;
      for (int v = 0; v < n_vocab; ++v) {
        if ((u -= probs[v]) < 0) {
          chosen = v;
          break;
        }
      }
      (*out)[s].push_back(chosen);
    }
  }
  llama_batch_free(batch);
  return status;
}

Status Quantize(const std::string& in, const std::string& out, llama_ftype ftype, ggml_type want,
                const Options& options) {
  llama_model_quantize_params qp = llama_model_quantize_default_params();
  qp.ftype = ftype;
  qp.nthread = options.n_threads > 0 ? options.n_threads : engine::DefaultThreads();
  std::string tmp;
  POT_RETURN_IF_ERROR(ReserveTempPath(out, &tmp));
  if (llama_model_quantize(in.c_str(), tmp.c_str(), &qp) != 0) return Status::Internal("quantization failed: " + out);
  // The quantizer may silently keep a tensor at higher precision; require every block-layer matrix to
  // have the requested type so the member is what its name says.
  GgufPtr check;
  POT_RETURN_IF_ERROR(OpenGguf(tmp, false, &check, nullptr));
  for (int64_t i = 0; i < gguf_get_n_tensors(check.get()); ++i) {
    std::string name = gguf_get_tensor_name(check.get(), i);
    if (name.rfind("blk.", 0) == 0 && name.find("norm") == std::string::npos &&
        gguf_get_tensor_type(check.get(), i) != want) {
      return Status::Internal("quantizer left " + name + " as " + ggml_type_name(gguf_get_tensor_type(check.get(), i)));
    }
  }
  return Env::Default()->RenameFile(tmp, out);
}

// Same tensors, different metadata: another name and one extra key.
Status CopyWithNewMetadata(const std::string& in, const std::string& out) {
  GgufPtr src;
  GgmlPtr data;
  POT_RETURN_IF_ERROR(OpenGguf(in, true, &src, &data));
  GgufPtr dst(gguf_init_empty());
  gguf_set_kv(dst.get(), src.get());
  gguf_set_val_str(dst.get(), "general.name", "pot-forge base-copy");
  gguf_set_val_str(dst.get(), "pot.forge.copy_of", "base");
  for (int64_t i = 0; i < gguf_get_n_tensors(src.get()); ++i) {
    gguf_add_tensor(dst.get(), ggml_get_tensor(data.get(), gguf_get_tensor_name(src.get(), i)));
  }
  return WriteGguf(dst.get(), out);
}

Status FileSha256(const std::string& path, std::string* hex) {
  Digest d;
  POT_RETURN_IF_ERROR(Sha256OfFile(Env::Default(), path, &d));
  *hex = ToHex(d);
  return Status::OK();
}

// ---- the family -----------------------------------------------------------------------------------
struct MemberDef {
  const char* name;
  const char* relation;
  const char* expected;
};

const MemberDef kMembers[] = {
    {"base", "reference model: trained from scratch on the fortunes 'cookie' corpus", "SAME"},
    {"base-copy", "same tensors as base, re-serialized with another name and an extra metadata key", "SAME"},
    {"base-q8_0", "base quantized to Q8_0 by llama.cpp's quantizer", "DIFFERENT"},
    {"base-q4_0", "base quantized to Q4_0 by llama.cpp's quantizer", "DIFFERENT"},
    {"finetune", "base trained 150 more steps on the fortunes 'science' corpus", "DIFFERENT"},
    {"sibling", "same architecture, data and recipe as base, different seed", "DIFFERENT"},
    {"scale", "deeper than base (6 layers instead of 4), same data", "DIFFERENT"},
    {"distilled", "smaller student (width 128, 2 layers) trained on text sampled from base", "DIFFERENT"},
    {"other-tokenizer", "llama architecture with the GPT-2 BPE vocabulary (width 128, 2 layers), same text", "DIFFERENT"},
};

const MemberDef* FindMember(const std::string& name) {
  for (const auto& m : kMembers) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

class Forger {
 public:
  explicit Forger(const Options& options) : o_(options) {}

  Status Run(Report* report) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> wanted = o_.members.empty() ? FamilyMembers() : o_.members;
    for (const auto& name : wanted) {
      if (!FindMember(name)) return Status::InvalidArgument("unknown forge member '" + name + "'");
    }
    POT_RETURN_IF_ERROR(PrepareDir());
    report->cached = true;
    for (const auto& name : FamilyMembers()) {
      if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
      MemberReport m;
      if (LoadSidecar(name, &m)) {
        report->members.push_back(m);
        continue;
      }
      report->cached = false;
      POT_RETURN_IF_ERROR(BuildAndRecord(name, &m));
      report->members.push_back(m);
    }
    report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return WriteTestbed(*report);
  }

 private:
  std::string Path(const std::string& member) const { return Join(o_.out_dir, member + ".gguf"); }
  std::string Sidecar(const std::string& member) const { return Join(o_.out_dir, member + ".forge.json"); }
  std::string KeyPath() const { return Join(o_.out_dir, "forge-key.json"); }
  std::string Vocab(const char* which) const { return Join(o_.vocab_dir, std::string("ggml-vocab-") + which + ".gguf"); }
  void Log(const std::string& line) const {
    if (o_.log) o_.log(line);
  }

  // Everything that changes the bytes of a member: a directory forged under another key is rebuilt.
  json Key() const {
    return {{"forge_version", kForgeVersion}, {"seed", o_.seed}, {"llama_commit", llama_commit_},
            {"max_steps", o_.max_steps}};
  }

  Status PrepareDir() {
    Env* env = Env::Default();
    POT_RETURN_IF_ERROR(env->CreateDirs(o_.out_dir));
    std::string text;
    if (ReadFileToString(env, KeyPath(), &text).ok()) {
      json existing = json::parse(text, nullptr, false);
      if (!existing.is_discarded() && existing == Key()) return Status::OK();
      Log("forge key changed: rebuilding " + o_.out_dir);
      for (const auto& name : FamilyMembers()) {
        env->RemoveFile(Path(name));
        env->RemoveFile(Sidecar(name));
      }
      env->RemoveFile(Join(o_.out_dir, "testbed.json"));
    } else {
      for (const auto& name : FamilyMembers()) {
        if (env->FileExists(Path(name))) {
          return Status::InvalidArgument(Path(name) + " exists but was not made by pot forge; use another DIR");
        }
      }
    }
    return WriteFileAtomically(env, KeyPath(), Key().dump() + "\n");
  }

  static json ToJson(const MemberReport& m) {
    return {{"name", m.name}, {"file", m.file}, {"relation", m.relation}, {"expected_verdict", m.expected},
            {"sha256", m.sha256}, {"trained", m.trained}, {"train_tokens", m.train_tokens},
            {"heldout_perplexity", m.heldout_ppl}, {"uniform_perplexity", m.uniform_ppl}, {"seconds", m.seconds}};
  }

  // A member counts as built when its sidecar exists and the file still has the recorded digest.
  bool LoadSidecar(const std::string& name, MemberReport* m) {
    std::string text, sha;
    if (!ReadFileToString(Env::Default(), Sidecar(name), &text).ok()) return false;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !FileSha256(Path(name), &sha).ok() || j.value("sha256", "") != sha) return false;
    Describe(name, m);
    m->sha256 = j["sha256"];
    m->trained = j["trained"];
    m->train_tokens = j["train_tokens"];
    m->heldout_ppl = j["heldout_perplexity"];
    m->uniform_ppl = j["uniform_perplexity"];
    m->seconds = j["seconds"];
    return true;
  }

  // What a member is comes from the recipe table, not from a cached sidecar.
  static void Describe(const std::string& name, MemberReport* m) {
    const MemberDef* def = FindMember(name);
    m->name = name;
    m->file = name + ".gguf";
    m->relation = def->relation;
    m->expected = def->expected;
  }

  Status BuildAndRecord(const std::string& name, MemberReport* m) {
    auto start = std::chrono::steady_clock::now();
    Log("forging " + name);
    POT_RETURN_IF_ERROR(Build(name, m));
    Describe(name, m);
    POT_RETURN_IF_ERROR(FileSha256(Path(name), &m->sha256));
    m->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return WriteFileAtomically(Env::Default(), Sidecar(name), ToJson(*m).dump(2) + "\n");
  }

  Status WriteTestbed(const Report& report) {
    json members = json::array();
    for (const auto& m : report.members) members.push_back(ToJson(m));
    json j = {{"format", "pot.testbed"}, {"version", 1}, {"key", Key()},
              {"corpus", {{"train", o_.corpus_dir + "/cookie"}, {"finetune", o_.corpus_dir + "/science"},
                          {"heldout", "every tenth fortune of cookie, never trained on"}}},
              {"members", members}};
    return WriteFileAtomically(Env::Default(), Join(o_.out_dir, "testbed.json"), text::DumpJson(j, 2) + "\n");
  }

  Status EnsureCorpus(const char* vocab_name, Corpus* corpus) {
    if (!corpus->train.empty()) return Status::OK();
    engine::ModelPtr vocab;
    POT_RETURN_IF_ERROR(engine::LoadModel(Vocab(vocab_name), {.vocab_only = true}, &vocab));
    std::vector<std::string> entries;
    POT_RETURN_IF_ERROR(ReadFortunes(Join(o_.corpus_dir, "cookie"), &entries));
    return BuildCorpus(llama_model_get_vocab(vocab.get()), entries, corpus);
  }

  // Trains a fresh model of `shape` on `points` and records its held-out perplexity.
  Status TrainFresh(const std::string& name, const char* vocab_name, const Shape& shape, const TrainRecipe& recipe,
                    const std::vector<std::vector<int32_t>>& points, const std::vector<int32_t>& heldout,
                    uint64_t seed, MemberReport* m) {
    std::string init;
    POT_RETURN_IF_ERROR(ReserveTempPath(Path(name), &init));
    POT_RETURN_IF_ERROR(WriteInitialModel(Vocab(vocab_name), shape, name, "pretrain", seed, init));
    TrainResult r;
    Status s = Train(init, points, recipe, DeriveSeed(seed, "order/" + name), o_, Path(name), &r);
    Env::Default()->RemoveFile(init);
    POT_RETURN_IF_ERROR(s);
    m->trained = true;
    m->train_tokens = r.tokens_seen;
    return Evaluate(name, heldout, m);
  }

  Status Evaluate(const std::string& name, const std::vector<int32_t>& heldout, MemberReport* m) {
    POT_RETURN_IF_ERROR(HeldOutPerplexity(Path(name), heldout, o_, &m->heldout_ppl));
    engine::ModelPtr model;
    POT_RETURN_IF_ERROR(engine::LoadModel(Path(name), {.vocab_only = true}, &model));
    m->uniform_ppl = llama_vocab_n_tokens(llama_model_get_vocab(model.get()));
    char line[160];
    std::snprintf(line, sizeof line, "  %s: held-out perplexity %.1f (uniform: %.0f)", name.c_str(), m->heldout_ppl,
                  m->uniform_ppl);
    Log(line);
    return Status::OK();
  }

  Status Require(const std::string& dependency) {
    MemberReport ignored;
    if (LoadSidecar(dependency, &ignored)) return Status::OK();
    return BuildAndRecord(dependency, &ignored);
  }

  Status Build(const std::string& name, MemberReport* m) {
    const uint64_t s = o_.seed;
    if (name == "base" || name == "sibling" || name == "scale") {
      POT_RETURN_IF_ERROR(EnsureCorpus("llama-spm", &spm_));
      const uint64_t seed = name == "sibling" ? DeriveSeed(s, "sibling") : s;
      const bool scale = name == "scale";
      return TrainFresh(name, "llama-spm", scale ? kScaleShape : kBaseShape, scale ? kScalePretrain : kPretrain,
                        Datapoints(spm_.train), spm_.heldout, seed, m);
    }
    if (name == "other-tokenizer") {
      Corpus gpt2;
      POT_RETURN_IF_ERROR(EnsureCorpus("gpt-2", &gpt2));
      return TrainFresh(name, "gpt-2", kStudentShape, kSmallPretrain, Datapoints(gpt2.train), gpt2.heldout, s, m);
    }
    POT_RETURN_IF_ERROR(Require("base"));
    POT_RETURN_IF_ERROR(EnsureCorpus("llama-spm", &spm_));
    if (name == "base-copy") {
      POT_RETURN_IF_ERROR(CopyWithNewMetadata(Path("base"), Path(name)));
      return Evaluate(name, spm_.heldout, m);
    }
    if (name == "base-q8_0" || name == "base-q4_0") {
      const bool q8 = name == "base-q8_0";
      POT_RETURN_IF_ERROR(Quantize(Path("base"), Path(name), q8 ? LLAMA_FTYPE_MOSTLY_Q8_0 : LLAMA_FTYPE_MOSTLY_Q4_0,
                                   q8 ? GGML_TYPE_Q8_0 : GGML_TYPE_Q4_0, o_));
      return Evaluate(name, spm_.heldout, m);
    }
    if (name == "finetune") {
      engine::ModelPtr vocab;
      POT_RETURN_IF_ERROR(engine::LoadModel(Vocab("llama-spm"), {.vocab_only = true}, &vocab));
      std::vector<std::string> entries;
      POT_RETURN_IF_ERROR(ReadFortunes(Join(o_.corpus_dir, "science"), &entries));
      Corpus science;
      POT_RETURN_IF_ERROR(BuildCorpus(llama_model_get_vocab(vocab.get()), entries, &science));
      TrainResult r;
      POT_RETURN_IF_ERROR(Train(Path("base"), Datapoints(science.train), kFinetune, DeriveSeed(s, "order/finetune"),
                                o_, Path(name), &r));
      m->trained = true;
      m->train_tokens = r.tokens_seen;
      return Evaluate(name, spm_.heldout, m);
    }
    if (name == "distilled") {
      const int n_seqs = kDistillSequences;
      std::vector<std::vector<int32_t>> samples;
      Log("  sampling " + std::to_string(n_seqs) + " sequences from base");
      for (int done = 0; done < n_seqs; done += 32) {
        std::vector<std::vector<int32_t>> chunk;
        POT_RETURN_IF_ERROR(SampleSequences(Path("base"), std::min(32, n_seqs - done),
                                            DeriveSeed(s, "distill/" + std::to_string(done)), o_, &chunk));
        samples.insert(samples.end(), chunk.begin(), chunk.end());
      }
      return TrainFresh(name, "llama-spm", kStudentShape, kSmallPretrain, samples, spm_.heldout, s, m);
    }
    return Status::InvalidArgument("unknown forge member '" + name + "'");
  }

  const Options& o_;
  std::string llama_commit_ = POT_LLAMA_COMMIT;
  Corpus spm_;
};

}  // namespace

const std::vector<std::string>& FamilyMembers() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& m : kMembers) v.push_back(m.name);
    return v;
  }();
  return names;
}

Status Forge(const Options& options, Report* report) {
  engine::Init(false);
  Forger forger(options);
  return forger.Run(report);
}

}  // namespace pot::forge
