#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/diff_methods.h"
#include "cli/progress.h"
#include "diff/diff.h"
#include "text/text.h"

namespace pot::cli {
namespace {

int RunDiff(const Args& args) {
  if (WantsDiffMethod(args)) return RunDiffMethod(args);
  const auto& pos = args.positionals();
  if (pos.size() != 2) return ReportError(Status::InvalidArgument("diff needs A.gguf B.gguf"));
  ProgressBar bar("comparing", args.Has("quiet"));
  diff::Options options;
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  std::vector<diff::TensorDiff> diffs;
  Status s = diff::Compare(Env::Default(), pos[0], pos[1], options, &diffs);
  if (!s.ok()) return ReportError(s);
  size_t equal = 0;
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const auto& d : diffs) {
    equal += d.kind == diff::TensorDiff::Kind::kEqual;
    if (args.Has("json")) {
      nlohmann::ordered_json j = {{"name", d.name}, {"status", diff::KindName(d.kind)}, {"type_a", d.type_a},
                                  {"type_b", d.type_b}};
      if (d.kind == diff::TensorDiff::Kind::kChanged) {
        j["max_abs_delta"] = d.max_abs;
        j["rel_l2"] = d.rel_l2;
        j["cosine"] = d.cosine;
      }
      items.push_back(j);
    } else if (d.kind == diff::TensorDiff::Kind::kChanged) {
      std::printf("%-14s %-32s max|d| %.3g  relL2 %.3g  cos %.6f  (%s vs %s)\n", "changed",
                  text::EscapeForTerminal(d.name).c_str(), d.max_abs,
                  d.rel_l2, d.cosine, d.type_a.c_str(), d.type_b.c_str());
    } else {
      std::printf("%-14s %s\n", diff::KindName(d.kind), text::EscapeForTerminal(d.name).c_str());
    }
  }
  const bool identical = equal == diffs.size();
  if (args.Has("json")) {
    nlohmann::ordered_json j = {{"identical", identical}, {"tensors", diffs.size()}, {"equal", equal},
                                {"diffs", items}};
    PrintJson(j);
  } else {
    std::printf("%zu of %zu tensors equal: %s\n", equal, diffs.size(), identical ? "IDENTICAL WEIGHTS" : "WEIGHTS DIFFER");
  }
  return identical ? kExitOk : kExitNegative;
}

}  // namespace

CommandSpec DiffCommand() {
  std::vector<OptionSpec> options = {{"json", false, "print one JSON object"}, {"quiet", false, "no progress bar"}};
  for (auto& o : DiffMethodOptions()) options.push_back(std::move(o));
  return {"diff",
          "compare two models' weights tensor by tensor, streaming (max |delta|, relative L2, cosine)",
          "A.gguf B.gguf [--json]\n"
          "       pot diff --activations A.gguf B.gguf [--prompts N] [--key KEYFILE] [--threads T] [--threshold X] [--json]\n"
          "       pot diff --gradients A.gguf B.gguf [--prompts N] [--key KEYFILE] [--threads T] [--one-pass] [--json]",
          options, RunDiff, 2};
}

}  // namespace pot::cli
