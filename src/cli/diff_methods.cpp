#include "cli/diff_methods.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "activations/activations.h"
#include "challenge/challenge.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/run_dir.h"
#include "crypto/sha256.h"
#include "engine/engine.h"
#include "gradients/gradients.h"
#include "text/text.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

// Default prompt counts: enough positions for every layer's statistics; a gradient batch fills one
// 256-token training context.
constexpr uint64_t kActivationPrompts = 16;
constexpr uint64_t kGradientPrompts = 8;
constexpr double kDefaultThreshold = 0.01;
// Every prompt is held as text for the whole run; this keeps a mistyped count from exhausting memory.
constexpr uint64_t kMaxPrompts = 1 << 16;

struct Challenges {
  challenge::KeyFile key;
  bool fresh = false;
  std::vector<std::string> prompts;
};

// The first n challenges of --key KEYFILE, or of a fresh key committed to n. With a key, n defaults to at
// most its committed N_MAX and may not exceed it.
Status DeriveChallenges(const Args& args, uint64_t default_n, Challenges* out) {
  Env* env = Env::Default();
  uint64_t n = 0;
  POT_RETURN_IF_ERROR(args.GetU64("prompts", default_n, &n));
  if (n == 0 || n > kMaxPrompts) return Status::InvalidArgument("--prompts is 1 to " + std::to_string(kMaxPrompts));
  out->fresh = !args.Has("key");
  POT_RETURN_IF_ERROR(ReadOrMakeKey(args, env, n, &out->key));
  if (!args.Has("prompts")) n = std::min(n, out->key.n_max);
  if (n > out->key.n_max) {
    return Status::InvalidArgument("--prompts " + std::to_string(n) + " exceeds the " + std::to_string(out->key.n_max) +
                                   " challenges the key commits to");
  }
  std::unique_ptr<challenge::Generator> gen;
  POT_RETURN_IF_ERROR(challenge::NewGenerator(env, out->key.key, out->key.family, args.Get("corpus").value_or(""), &gen));
  for (uint64_t i = 0; i < n; ++i) {
    challenge::Challenge c;
    POT_RETURN_IF_ERROR(gen->Generate(i, &c));
    out->prompts.push_back(c.prompt);
  }
  return Status::OK();
}

json ChallengeJson(const Challenges& c) {
  json j = {{"commitment", ToHex(c.key.commitment)}, {"family", c.key.family.name}, {"n", c.prompts.size()}};
  if (c.fresh) j["key_hex"] = HexOf(c.key.key);  // the run is over: a fresh key is revealed for re-checking
  return j;
}

void PrintChallenges(const Challenges& c) {
  std::printf("challenges %zu (%s), commitment %s\n", c.prompts.size(), c.key.family.name.c_str(),
              ToHex(c.key.commitment).c_str());
  if (c.fresh) std::printf("key %s (fresh, revealed now that the run is over)\n", HexOf(c.key.key).c_str());
}

std::string Mb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

// JSON has no infinity: a relative L2 against a zero vector is null there.
json Number(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

int RunActivations(const Args& args, const std::string& a, const std::string& b, const Challenges& c, int threads) {
  double threshold = kDefaultThreshold;
  Status s = args.GetReal("threshold", 0, INFINITY, &threshold);
  if (!s.ok()) return ReportError(s);
  ProgressBar bar("activations", args.Has("quiet"), "prompts", 1);
  activations::Options options;
  options.n_threads = threads;
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  activations::Result r;
  s = activations::Compare(Env::Default(), a, b, c.prompts, options, &r);
  if (!s.ok()) return ReportError(s);
  const bool identical = r.Identical();
  const int first = r.FirstDivergent(threshold);
  const uint64_t rss = pairwise::PeakRssBytes();
  if (args.Has("json")) {
    json layers = json::array();
    for (size_t l = 0; l < r.layers.size(); ++l) {
      layers.push_back({{"layer", l}, {"rel_l2", Number(r.layers[l].RelL2())}, {"cosine", r.layers[l].Cosine()}});
    }
    PrintJson({{"method", "activations"}, {"identical", identical}, {"challenges", ChallengeJson(c)},
               {"positions", r.positions}, {"threshold", threshold},
               {"first_divergent_layer", first >= 0 ? json(first) : json(nullptr)}, {"layers", layers},
               {"memory", {{"peak_rss_bytes", rss}, {"spill_bytes", r.spill_bytes},
                           {"largest_layer_output_bytes", r.largest_tensor_bytes}}}});
  } else {
    PrintChallenges(c);
    std::printf("%-6s %-12s %s\n", "layer", "relL2", "cosine");
    for (size_t l = 0; l < r.layers.size(); ++l) {
      std::printf("%-6zu %-12.4g %.6f\n", l, r.layers[l].RelL2(), r.layers[l].Cosine());
    }
    std::printf("%llu positions per layer; spill %s; peak RSS %s\n", static_cast<unsigned long long>(r.positions),
                Mb(r.spill_bytes).c_str(), Mb(rss).c_str());
    if (first >= 0) {
      std::printf("first layer beyond relL2 %g: %d\n", threshold, first);
    } else {
      std::printf("no layer beyond relL2 %g\n", threshold);
    }
    std::printf("%s\n", identical ? "IDENTICAL ACTIVATIONS" : "ACTIVATIONS DIFFER");
  }
  return identical ? kExitOk : kExitNegative;
}

int RunGradients(const Args& args, const std::string& a, const std::string& b, const Challenges& c, int threads) {
  ProgressBar bar("gradients", args.Has("quiet"), "passes", 1);
  gradients::Options options;
  options.n_threads = threads;
  options.one_pass = args.Has("one-pass");
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  gradients::Result r;
  Status s = gradients::Compare(Env::Default(), a, b, c.prompts, options, &r);
  if (!s.ok()) return ReportError(s);
  const bool identical = r.Identical();
  const uint64_t rss = pairwise::PeakRssBytes();
  const uint64_t naive = 2 * r.f32_bytes;  // the model plus a gradient the size of the model
  if (args.Has("json")) {
    json tensors = json::array();
    for (const auto& t : r.tensors) {
      json row = {{"name", t.name}, {"has_gradient", t.has_gradient}};
      if (t.has_gradient) {
        row["rel_l2"] = Number(t.m.RelL2());
        row["cosine"] = t.m.Cosine();
      } else {
        row["why_none"] = t.why_none;
      }
      tensors.push_back(row);
    }
    PrintJson({{"method", "gradients"}, {"identical", identical}, {"challenges", ChallengeJson(c)},
               {"batch_tokens", r.batch_tokens}, {"prompt_tokens", r.prompt_tokens}, {"loss_a", r.loss_a},
               {"loss_b", r.loss_b}, {"passes", r.passes}, {"tensors", tensors},
               {"memory", {{"peak_rss_bytes", rss}, {"spill_bytes", r.spill_bytes}, {"model_f32_bytes", r.f32_bytes},
                           {"largest_pass_gradient_bytes", r.largest_pass_gradient_bytes},
                           {"naive_model_plus_gradient_bytes", naive}}}});
  } else {
    PrintChallenges(c);
    std::printf("batch %llu positions (%llu prompt tokens, repeated); loss A %.6f, B %.6f; %llu backward passes per model\n",
                static_cast<unsigned long long>(r.batch_tokens), static_cast<unsigned long long>(r.prompt_tokens),
                r.loss_a, r.loss_b, static_cast<unsigned long long>(r.passes));
    for (const auto& t : r.tensors) {
      if (t.has_gradient) {
        std::printf("%-32s relL2 %-12.4g cos %.6f\n", text::EscapeForTerminal(t.name).c_str(), t.m.RelL2(), t.m.Cosine());
      } else {
        std::printf("%-32s no gradient: %s\n", text::EscapeForTerminal(t.name).c_str(), t.why_none.c_str());
      }
    }
    std::printf("peak RSS %s; model %s, model + whole gradient %s; spill %s\n", Mb(rss).c_str(), Mb(r.f32_bytes).c_str(),
                Mb(naive).c_str(), Mb(r.spill_bytes).c_str());
    std::printf("%s\n", identical ? "IDENTICAL GRADIENTS" : "GRADIENTS DIFFER");
  }
  return identical ? kExitOk : kExitNegative;
}

}  // namespace

std::vector<OptionSpec> DiffMethodOptions() {
  return {{"activations", false, "compare each layer's outputs on committed challenges (relative L2, cosine)"},
          {"gradients", false, "compare each tensor's gradient of the next-token loss on a committed batch (F32 models)"},
          {"prompts", true, "with --activations/--gradients: challenges to run (default 16 / 8)"},
          {"key", true, "with --activations/--gradients: challenge key file (default: a fresh key, revealed after)"},
          {"threads", true, "with --activations/--gradients: threads (default: the free CPUs, probed at start)"},
          {"threshold", true, "with --activations: the relative L2 that counts as diverged (default 0.01)"},
          {"one-pass", false, "with --gradients: every tensor in one backward pass (llama.cpp's memory: model + whole gradient)"},
          {"verbose", false, "show llama.cpp's log"}};
}

bool WantsDiffMethod(const Args& args) {
  for (const auto& o : DiffMethodOptions()) {
    if (args.Has(o.name)) return true;
  }
  return false;
}

int RunDiffMethod(const Args& args) {
  const auto& pos = args.positionals();
  const bool grads = args.Has("gradients");
  if (grads == args.Has("activations")) {
    return ReportError(Status::InvalidArgument("give one of --activations and --gradients (their options need one)"));
  }
  if (pos.size() != 2) return ReportError(Status::InvalidArgument("diff needs A.gguf B.gguf"));
  if (!grads && args.Has("one-pass")) return ReportError(Status::InvalidArgument("--one-pass is for --gradients"));
  if (grads && args.Has("threshold")) return ReportError(Status::InvalidArgument("--threshold is for --activations"));
  int threads = 0;
  Status s = args.GetThreads("threads", 0, &threads);
  Challenges c;
  if (s.ok()) s = DeriveChallenges(args, grads ? kGradientPrompts : kActivationPrompts, &c);
  if (!s.ok()) return ReportError(s);
  engine::Init(args.Has("verbose"));
  return grads ? RunGradients(args, pos[0], pos[1], c, threads) : RunActivations(args, pos[0], pos[1], c, threads);
}

}  // namespace pot::cli
