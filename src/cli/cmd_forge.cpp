#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.h"
#include "forge/forge.h"

namespace pot::cli {
namespace {

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int RunForge(const Args& args) {
  if (args.positionals().size() != 1 || args.positionals()[0].empty()) {
    return ReportError(Status::InvalidArgument("forge needs exactly one DIR"));
  }
  forge::Options o;
  o.out_dir = args.positionals()[0];
  uint64_t steps = 0;
  Status s = args.GetU64("seed", 1, &o.seed);
  if (s.ok()) s = args.GetU64("max-steps", 0, &steps);
  if (s.ok()) s = args.GetThreads("threads", 0, &o.n_threads);
  if (!s.ok()) return ReportError(s);
  o.max_steps = static_cast<int>(steps);
  const char* env_vocab = std::getenv("POT_VOCAB_DIR");
  o.vocab_dir = args.Get("vocab-dir").value_or(env_vocab ? env_vocab : POT_DEFAULT_VOCAB_DIR);
  if (auto c = args.Get("corpus-dir")) o.corpus_dir = *c;
  if (auto m = args.Get("members")) o.members = SplitComma(*m);
  const bool quiet = args.Has("quiet");
  o.log = [quiet](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
  };
  forge::Report report;
  s = forge::Forge(o, &report);
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    nlohmann::ordered_json members = nlohmann::ordered_json::array();
    for (const auto& m : report.members) {
      members.push_back({{"name", m.name}, {"file", m.file}, {"sha256", m.sha256}, {"expected_verdict", m.expected},
                         {"heldout_perplexity", m.heldout_ppl}, {"uniform_perplexity", m.uniform_ppl}});
    }
    nlohmann::ordered_json j = {{"dir", o.out_dir}, {"cached", report.cached}, {"seconds", report.seconds},
                                {"members", members}};
    PrintJson(j);
    return kExitOk;
  }
  std::printf("%s %s (seed %llu)%s\n", report.cached ? "cached family in" : "forged family in", o.out_dir.c_str(),
              static_cast<unsigned long long>(o.seed), report.cached ? "" : "");
  for (const auto& m : report.members) {
    std::printf("  %-16s ppl %9.1f (uniform %6.0f)  %s  %s\n", m.name.c_str(), m.heldout_ppl, m.uniform_ppl,
                m.sha256.substr(0, 16).c_str(), m.relation.c_str());
  }
  return kExitOk;
}

}  // namespace

CommandSpec ForgeCommand() {
  return {"forge",
          "train the family of small test models (deterministic from --seed; reuses a matching family in DIR)",
          "DIR [--seed N] [--members a,b] [--json]",
          {{"seed", true, "family seed (default 1)", 0, "N"},
           {"members", true, "comma-separated subset to build (default: whole family)", 0, "a,b,..."},
           {"max-steps", true, "cap optimizer steps per trained member (tests of determinism)", 0, "N"},
           {"threads", true, "threads (default: the free CPUs, probed at start)", 0, "N"},
           {"vocab-dir", true, "folder with llama.cpp's ggml-vocab-*.gguf (default: the build's llama.cpp)", 0, "DIR"},
           {"corpus-dir", true, "folder with the fortunes files (default /usr/share/games/fortunes)", 0, "DIR"},
           {"quiet", false, "no progress lines on stderr"},
           {"json", false, "print one JSON object"}},
          RunForge, 1};
}

}  // namespace pot::cli
