#include "activations/activations.h"

#include <charconv>
#include <memory>

#include "engine/engine.h"
#include "llama.h"

namespace pot::activations {

namespace {

// llama.cpp names each layer's output "l_out-IL" (llama-graph's cb(cur, "l_out", il)); the layer, or -1.
int LayerOf(const std::string& name, uint64_t n_layer) {
  constexpr std::string_view kPrefix = "l_out-";
  if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) return -1;
  unsigned layer = 0;
  const char* begin = name.data() + kPrefix.size();
  const char* end = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(begin, end, layer);
  if (ec != std::errc() || ptr != end || layer >= n_layer) return -1;
  return static_cast<int>(layer);
}

// Loads one model, runs every prompt through it with the tap on, and frees it.
Status RunModel(const std::string& path, const std::vector<std::string>& prompts, const Options& options,
                pairwise::Tap* tap, uint64_t progress_base, uint64_t progress_total) {
  engine::ModelPtr model;
  POT_RETURN_IF_ERROR(engine::LoadModel(path, {}, &model));
  engine::ContextOptions co;
  co.n_threads = options.n_threads;
  co.cb_eval = &pairwise::Tap::Callback;
  co.cb_eval_user_data = tap;
  engine::ContextPtr ctx;
  POT_RETURN_IF_ERROR(engine::NewContext(model.get(), co, &ctx));
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  engine::Distributions dist;
  dist.with_p = false;  // every position is decoded so the last layer keeps every row; the rows are not used
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int32_t> tokens;
    POT_RETURN_IF_ERROR(engine::Tokenize(vocab, prompts[i], llama_vocab_get_add_bos(vocab), &tokens));
    Status s = engine::Forward(ctx.get(), tokens, &dist);
    POT_RETURN_IF_ERROR(tap->status.WithContext(path + ", prompt " + std::to_string(i)));
    POT_RETURN_IF_ERROR(s.WithContext(path + ", prompt " + std::to_string(i)));
    if (options.progress) options.progress(progress_base + i + 1, progress_total);
  }
  return Status::OK();
}

}  // namespace

bool Result::Identical() const {
  for (const auto& m : layers) {
    if (!m.Identical()) return false;
  }
  return true;
}

int Result::FirstDivergent(double threshold) const {
  for (size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].RelL2() > threshold) return static_cast<int>(l);
  }
  return -1;
}

Status Compare(Env* env, const std::string& path_a, const std::string& path_b, const std::vector<std::string>& prompts,
               const Options& options, Result* result) {
  *result = Result();
  if (prompts.empty()) return Status::InvalidArgument("no prompts to compare on");
  POT_RETURN_IF_ERROR(pairwise::CheckComparable(env, path_a, path_b, &result->shape));
  const uint64_t n_layer = result->shape.n_layer;
  const uint64_t n_embd = result->shape.n_embd;
  result->layers.assign(n_layer, pairwise::Moments());
  std::unique_ptr<pairwise::Spill> spill;
  POT_RETURN_IF_ERROR(pairwise::Spill::Create(env, options.spill_dir, &spill));
  const uint64_t total = 2 * prompts.size();

  pairwise::Tap tap;
  tap.wants = [n_layer](const std::string& name) { return LayerOf(name, n_layer) >= 0; };
  auto check_width = [&](const std::string& name, size_t count) {
    if (count % n_embd != 0) {
      return Status::Unsupported(name + " holds " + std::to_string(count) + " values, not rows of width " + std::to_string(n_embd));
    }
    result->largest_tensor_bytes = std::max<uint64_t>(result->largest_tensor_bytes, count * sizeof(float));
    return Status::OK();
  };
  tap.sink = [&](const std::string& name, const float* data, size_t count) {
    POT_RETURN_IF_ERROR(check_width(name, count));
    return spill->Append(name, data, count);
  };
  POT_RETURN_IF_ERROR(RunModel(path_a, prompts, options, &tap, 0, total));
  POT_RETURN_IF_ERROR(spill->Rewind());
  result->spill_bytes = spill->bytes();

  tap.sink = [&](const std::string& name, const float* data, size_t count) {
    POT_RETURN_IF_ERROR(check_width(name, count));
    const int layer = LayerOf(name, n_layer);
    POT_RETURN_IF_ERROR(spill->Compare(name, data, count, &result->layers[static_cast<size_t>(layer)]));
    if (layer == 0) result->positions += count / n_embd;
    return Status::OK();
  };
  POT_RETURN_IF_ERROR(RunModel(path_b, prompts, options, &tap, prompts.size(), total));
  if (!spill->AtEnd()) return Status::Unsupported(path_b + " computed fewer layer outputs than " + path_a);
  for (size_t l = 0; l < result->layers.size(); ++l) {
    if (result->layers[l].n == 0) {
      return Status::Unsupported("llama.cpp's graph for " + result->shape.architecture + " names no output for layer " +
                                 std::to_string(l) + " (l_out-" + std::to_string(l) + "): its activations cannot be compared");
    }
  }
  return Status::OK();
}

}  // namespace pot::activations
