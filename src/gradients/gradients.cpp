#include "gradients/gradients.h"

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include "engine/engine.h"
#include "ggml-opt.h"
#include "ggml.h"
#include "gguf/gguf.h"
#include "llama.h"

namespace pot::gradients {

namespace {

// llama.cpp's training context is padded to a multiple of 256 positions (llama_context: GGML_PAD(n_ctx,
// 256)) and llama_opt needs datapoints of exactly n_ctx tokens, so the batch is made that long.
constexpr uint64_t kContextQuantum = 256;
// The batch runs through the training graph in micro-batches of this many positions, their gradients
// accumulated by ggml_opt (opt_period = n_batch / n_ubatch): the graph's vocabulary-wide tensors (logits,
// one-hot labels, softmax and their gradients) are then this many rows, not the whole batch. The gradient
// is the same sum: attention reads earlier positions from the KV cache either way (docs/methods.md).
constexpr uint32_t kMicroBatch = 64;
// What ggml names the gradient of tensor X in the backward graph (ggml.c, ggml_add_or_set and friends).
constexpr std::string_view kGradPrefix = "grad for ";

// Tensors llama_opt_init never marks trainable whatever the filter says (llama_set_param: FIXME in llama.cpp).
std::string NeverTrained(const std::string& name) {
  if (name == "token_embd.weight" || name == "rope_freqs.weight") {
    return "llama_opt_init never makes " + name + " trainable (a FIXME in llama.cpp's llama_set_param)";
  }
  return "";
}

// The pass a tensor's gradient is taken in: its layer ("blk.N."), or the one after the last layer.
uint64_t PassOf(const std::string& name, uint64_t n_layer) {
  if (name.rfind("blk.", 0) == 0) {
    const uint64_t layer = std::strtoull(name.c_str() + 4, nullptr, 10);
    if (layer < n_layer) return layer;
  }
  return n_layer;
}

// An optimizer step llama.cpp cannot skip (ggml_opt_eval asserts a positive learning rate) but that leaves
// every weight as it was: SGD with the smallest positive float and no decay moves a weight w by
// denorm_min * g, which rounds to nothing for any normal w. The next pass then sees the loaded weights.
ggml_opt_optimizer_params NoStep(void*) {
  ggml_opt_optimizer_params p = ggml_opt_get_default_optimizer_params(nullptr);
  p.sgd.alpha = std::numeric_limits<float>::denorm_min();
  p.sgd.wd = 0.0f;
  return p;
}

struct PassFilter {
  const std::set<std::string>* trainable;
};

// llama_opt_init asks this of every F32 tensor. The flag a previous pass's context set on the model's
// tensor is cleared first: ggml keeps it on the tensor, and llama.cpp never clears it.
bool FilterPass(const ggml_tensor* t, void* user_data) {
  auto* filter = static_cast<PassFilter*>(user_data);
  const_cast<ggml_tensor*>(t)->flags &= ~GGML_TENSOR_FLAG_PARAM;
  return filter->trainable->count(t->name) > 0;
}

struct Plan {
  std::vector<int32_t> sequence;               // batch_tokens + 1 tokens: inputs and their next tokens
  std::vector<std::set<std::string>> passes;   // trainable tensors per pass (empty passes dropped)
};

// One model through every pass, each gradient handed to sink as computed; the loss of the first pass.
Status RunModel(const std::string& path, const std::vector<std::string>& prompts, const Options& options, Plan* plan,
                Result* result, const std::function<Status(const std::string&, const float*, size_t)>& sink,
                double* loss, uint64_t progress_base) {
  engine::ModelPtr model;
  engine::LoadOptions lo;
  lo.writable = true;  // training needs the weights in ordinary memory
  POT_RETURN_IF_ERROR(engine::LoadModel(path, lo, &model));
  if (plan->sequence.empty()) {  // the batch, from the first model's vocabulary (the second's is the same)
    const llama_vocab* vocab = llama_model_get_vocab(model.get());
    std::vector<int32_t> stream;
    for (const auto& prompt : prompts) {
      std::vector<int32_t> tokens;
      POT_RETURN_IF_ERROR(engine::Tokenize(vocab, prompt, llama_vocab_get_add_bos(vocab), &tokens));
      stream.insert(stream.end(), tokens.begin(), tokens.end());
    }
    if (stream.size() < 2) return Status::InvalidArgument("the prompts give fewer than two tokens");
    result->prompt_tokens = stream.size();
    result->batch_tokens = (stream.size() - 1 + kContextQuantum - 1) / kContextQuantum * kContextQuantum;
    for (uint64_t i = 0; i <= result->batch_tokens; ++i) plan->sequence.push_back(stream[i % stream.size()]);
  }
  const uint32_t n_ctx = static_cast<uint32_t>(result->batch_tokens);
  const uint32_t n_ubatch = std::min(kMicroBatch, n_ctx);
  const int micro_batches = static_cast<int>(n_ctx / n_ubatch);
  // Each micro-batch's graph has one "grad for X" node, holding the sum so far; the last one's is the
  // gradient. ggml's scheduler asks about every node once per evaluation, so asks are counted.
  std::map<std::string, int> asks;
  const std::set<std::string>* current = nullptr;
  pairwise::Tap tap;
  tap.wants = [&](const std::string& name) {
    if (name.rfind(kGradPrefix, 0) != 0) return false;
    const std::string tensor = name.substr(kGradPrefix.size());
    return current->count(tensor) > 0 && ++asks[tensor] == micro_batches;
  };
  tap.sink = [&](const std::string& name, const float* data, size_t count) {
    return sink(name.substr(kGradPrefix.size()), data, count);
  };
  for (size_t p = 0; p < plan->passes.size(); ++p) {
    current = &plan->passes[p];
    engine::ContextOptions co{.n_ctx = n_ctx, .n_batch = n_ctx, .n_ubatch = n_ubatch, .n_threads = options.n_threads,
                              .f32_kv = true};
    co.cb_eval = &pairwise::Tap::Callback;
    co.cb_eval_user_data = &tap;
    engine::ContextPtr ctx;
    POT_RETURN_IF_ERROR(engine::NewContext(model.get(), co, &ctx));
    if (llama_n_ctx(ctx.get()) != n_ctx) return Status::Internal("llama.cpp did not give the training context asked for");
    // llama.cpp hands cb_eval to its scheduler in the first decode, and the scheduler keeps it for the
    // training graphs that follow: one token decoded arms the tap for llama_opt_epoch.
    POT_RETURN_IF_ERROR(engine::Start(ctx.get(), {plan->sequence[0]}));
    PassFilter filter{current};
    llama_opt_params params{};
    params.n_ctx_train = 0;
    params.param_filter = FilterPass;
    params.param_filter_ud = &filter;
    params.get_opt_pars = NoStep;
    params.get_opt_pars_ud = nullptr;
    params.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_SGD;  // no AdamW moments: two fewer model-sized buffers
    llama_opt_init(ctx.get(), model.get(), params);
    ggml_opt_dataset_t dataset = ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, n_ctx, n_ctx, 1, 1);
    std::memcpy(ggml_opt_dataset_data(dataset)->data, plan->sequence.data(), n_ctx * sizeof(int32_t));
    std::memcpy(ggml_opt_dataset_labels(dataset)->data, plan->sequence.data() + 1, n_ctx * sizeof(int32_t));
    ggml_opt_result_t train = ggml_opt_result_init();
    ggml_opt_result_t eval = ggml_opt_result_init();
    llama_opt_epoch(ctx.get(), dataset, train, eval, 1, nullptr, nullptr);
    double pass_loss = 0, unc = 0;
    ggml_opt_result_loss(train, &pass_loss, &unc);
    ggml_opt_result_free(train);
    ggml_opt_result_free(eval);
    ggml_opt_dataset_free(dataset);
    POT_RETURN_IF_ERROR(tap.status.WithContext(path));
    for (const auto& tensor : *current) {
      auto it = asks.find(tensor);
      if (it != asks.end() && it->second != micro_batches) {
        return Status::Unsupported(path + ": llama.cpp's backward graph computed the gradient of " + tensor + " in " +
                                   std::to_string(it->second) + " nodes over " + std::to_string(micro_batches) +
                                   " micro-batches; pot reads a gradient only when one node per micro-batch computes it");
      }
    }
    if (p == 0) *loss = pass_loss;
    if (options.progress) options.progress(progress_base + p + 1, 2 * plan->passes.size());
  }
  return Status::OK();
}

}  // namespace

bool Result::Identical() const {
  for (const auto& t : tensors) {
    if (t.has_gradient && !t.m.Identical()) return false;
  }
  return true;
}

Status Compare(Env* env, const std::string& path_a, const std::string& path_b, const std::vector<std::string>& prompts,
               const Options& options, Result* result) {
  *result = Result();
  if (prompts.empty()) return Status::InvalidArgument("no prompts to compare on");
  POT_RETURN_IF_ERROR(pairwise::CheckComparable(env, path_a, path_b, &result->shape));
#ifdef __GLIBC__
  // Every pass allocates and frees llama.cpp's large buffers again. glibc raises its mmap threshold to the
  // size of the first large block freed, and the next ones then come from the heap, which they fragment:
  // a fixed threshold sends them back to the system at each free (measured on the test family: peak RSS
  // 349 MB without, 287 MB with).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  gguf::File fa, fb;
  POT_RETURN_IF_ERROR(gguf::Read(env, path_a, &fa));
  POT_RETURN_IF_ERROR(gguf::Read(env, path_b, &fb));
  if (fa.tensors.size() != fb.tensors.size()) {
    return Status::Unsupported("not comparable (structurally different models): " + std::to_string(fa.tensors.size()) +
                               " tensors vs " + std::to_string(fb.tensors.size()));
  }
  std::map<std::string, const gguf::TensorInfo*> in_b;
  for (const auto& t : fb.tensors) in_b[t.name] = &t;
  for (const auto* file : {&fa, &fb}) {
    for (const auto& t : file->tensors) {
      if (t.type != GGML_TYPE_F32 && NeverTrained(t.name).empty()) {
        return Status::Unsupported(file->path + ": tensor " + t.name + " is " + gguf::TypeName(t.type) +
                                   ": llama.cpp's training API takes gradients of F32 tensors only (llama_opt_init "
                                   "marks no other type trainable), so a quantized or F16 model has no gradient to compare");
      }
    }
  }
  Plan plan;
  plan.passes.resize(options.one_pass ? 1 : result->shape.n_layer + 1);
  std::vector<uint64_t> pass_bytes(plan.passes.size(), 0);
  std::map<std::string, size_t> row_of;
  for (const auto& t : fa.tensors) {
    auto it = in_b.find(t.name);
    if (it == in_b.end() || it->second->ne != t.ne) {
      return Status::Unsupported("not comparable (structurally different models): tensor " + t.name +
                                 (it == in_b.end() ? " is missing from " + path_b : " has another shape in " + path_b));
    }
    result->f32_bytes += t.nbytes;
    TensorRow row;
    row.name = t.name;
    row.why_none = NeverTrained(t.name);
    if (row.why_none.empty()) {
      const uint64_t pass = options.one_pass ? 0 : PassOf(t.name, result->shape.n_layer);
      plan.passes[pass].insert(t.name);
      pass_bytes[pass] += t.n_elements * sizeof(float);
    }
    row_of[t.name] = result->tensors.size();
    result->tensors.push_back(row);
  }
  std::erase_if(plan.passes, [](const std::set<std::string>& s) { return s.empty(); });
  result->passes = plan.passes.size();
  result->largest_pass_gradient_bytes = *std::max_element(pass_bytes.begin(), pass_bytes.end());
  if (plan.passes.empty()) return Status::Unsupported(path_a + ": no tensor llama.cpp can train");

  std::unique_ptr<pairwise::Spill> spill;
  POT_RETURN_IF_ERROR(pairwise::Spill::Create(env, options.spill_dir, &spill));
  POT_RETURN_IF_ERROR(RunModel(path_a, prompts, options, &plan, result,
                               [&](const std::string& name, const float* data, size_t count) {
                                 result->tensors[row_of[name]].has_gradient = true;
                                 return spill->Append(name, data, count);
                               },
                               &result->loss_a, 0));
  POT_RETURN_IF_ERROR(spill->Rewind());
  result->spill_bytes = spill->bytes();
  POT_RETURN_IF_ERROR(RunModel(path_b, prompts, options, &plan, result,
                               [&](const std::string& name, const float* data, size_t count) {
                                 return spill->Compare(name, data, count, &result->tensors[row_of[name]].m);
                               },
                               &result->loss_b, plan.passes.size()));
  if (!spill->AtEnd()) return Status::Unsupported(path_b + " has gradients for fewer tensors than " + path_a);
  for (auto& row : result->tensors) {
    if (!row.has_gradient && row.why_none.empty()) {
      row.why_none = kGradPrefix.size() + row.name.size() >= GGML_MAX_NAME
                         ? "its gradient's node name is cut by ggml's " + std::to_string(GGML_MAX_NAME) + "-byte limit, so pot cannot find it"
                         : "llama.cpp's backward graph never reaches it (no node computes its gradient, so it stays zero)";
    }
  }
  return Status::OK();
}

}  // namespace pot::gradients
