#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "estimate/estimate.h"

namespace pot::cli {
namespace {

// Counts a workload may hold: far beyond any run, small enough that products of them stay exact.
constexpr uint64_t kMaxCount = 1000000000;

Status GetCount(const Args& args, const char* name, uint64_t fallback, uint64_t* out) {
  POT_RETURN_IF_ERROR(args.GetU64(name, fallback, out));
  if (*out < 1 || *out > kMaxCount) {
    return Status::InvalidArgument(std::string("--") + name + " must be between 1 and 1000000000");
  }
  return Status::OK();
}

Status ReadShape(const Args& args, estimate::ModelShape* shape) {
  const bool by_numbers = args.Has("size-bytes") || args.Has("params");
  if (args.positionals().size() > 1) return Status::InvalidArgument("estimate takes at most one MODEL.gguf");
  if (args.positionals().size() == 1) {
    if (by_numbers) return Status::InvalidArgument("give MODEL.gguf or --size-bytes and --params, not both");
    return estimate::ShapeFromGguf(Env::Default(), args.positionals()[0], shape);
  }
  if (!args.Has("size-bytes") || !args.Has("params")) {
    return Status::InvalidArgument("estimate needs MODEL.gguf, or --size-bytes B and --params P");
  }
  POT_RETURN_IF_ERROR(args.GetReal("size-bytes", 0, 1e16, &shape->bytes));
  POT_RETURN_IF_ERROR(args.GetReal("params", 0, 1e15, &shape->params));
  POT_RETURN_IF_ERROR(args.GetU64("n-layer", 0, &shape->n_layer));
  POT_RETURN_IF_ERROR(args.GetU64("n-embd", 0, &shape->n_embd));
  POT_RETURN_IF_ERROR(args.GetU64("n-embd-kv", 0, &shape->n_embd_kv));
  POT_RETURN_IF_ERROR(args.GetU64("n-vocab", 0, &shape->n_vocab));
  POT_RETURN_IF_ERROR(args.GetU64("n-ctx", 0, &shape->n_ctx_train));
  return estimate::CheckShape(shape);
}

int RunEstimate(const Args& args) {
  estimate::ModelShape shape;
  Status s = ReadShape(args, &shape);
  if (!s.ok()) return ReportError(s);
  if (!args.Has("profile")) return ReportError(Status::InvalidArgument("estimate needs --profile NAME|FILE"));
  estimate::Profile profile;
  s = estimate::LoadProfile(Env::Default(), *args.Get("profile"), &profile);
  if (!s.ok()) return ReportError(s);

  estimate::Workload w;
  for (const auto& [name, field] : {std::pair{"prompts", &w.prompts}, {"tokens", &w.tokens},
                                    {"prompt-tokens", &w.prompt_tokens}, {"challenges", &w.challenges},
                                    {"endpoint-challenges", &w.endpoint_challenges},
                                    {"endpoint-tokens", &w.endpoint_tokens}}) {
    s = GetCount(args, name, *field, field);
    if (!s.ok()) return ReportError(s);
  }
  const std::string method = args.Get("method").value_or("all");
  std::vector<std::string> methods = method == "all" ? estimate::MethodNames() : std::vector<std::string>{method};
  std::vector<estimate::MethodEstimate> estimates;
  for (const std::string& m : methods) {
    estimate::MethodEstimate e;
    s = estimate::EstimateMethod(m, shape, profile, w, &e);
    if (!s.ok()) return ReportError(s);
    estimates.push_back(std::move(e));
  }
  if (args.Has("json")) {
    PrintJson(estimate::RenderJson(shape, profile, w, estimates));
  } else {
    std::fputs(estimate::RenderText(shape, profile, w, estimates).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace

CommandSpec EstimateCommand() {
  return {"estimate", "estimate each verification method's time and memory on a hardware profile (roofline)",
          "(MODEL.gguf | --size-bytes B --params P [--n-layer L --n-embd E --n-vocab V]) --profile NAME|FILE "
          "[--method M|all] [--prompts N] [--tokens T] [--json]",
          {{"size-bytes", true, "the model's file size in bytes, without MODEL.gguf (46e9)"},
           {"params", true, "its parameter count (72.7e9)"},
           {"n-layer", true, "its layers (KV cache, activations)"},
           {"n-embd", true, "its embedding width"},
           {"n-embd-kv", true, "its KV width, n_embd x kv heads / heads (default n_embd: an upper bound)"},
           {"n-vocab", true, "its vocabulary size (logits, the KL logits file)"},
           {"n-ctx", true, "its training context (pot caps it at 4096)"},
           {"profile", true, "m1-max-64gb, a100-80gb, h100-80gb, this-machine (bench/calibrate.sh) or a profile JSON file"},
           {"method", true, "fixed-n, selfcheck, kl, verify, verify-reference, hash, diff, activations, gradients, "
                            "endpoint, or all (default)"},
           {"prompts", true, "N prompts (fixed-n, selfcheck; kl reads a text of N x T tokens; default 100)"},
           {"tokens", true, "T tokens generated per prompt (default 32)"},
           {"prompt-tokens", true, "tokens per prompt or challenge (default 24, the templates family)"},
           {"challenges", true, "challenges to a decision: verify, verify-reference, activations, gradients (default 21: SAME, audit)"},
           {"endpoint-challenges", true, "challenges of an endpoint run (default 4)"},
           {"endpoint-tokens", true, "tokens the endpoint generates per challenge (default 32)"},
           {"json", false, "print one JSON object"}},
          RunEstimate};
}

}  // namespace pot::cli
