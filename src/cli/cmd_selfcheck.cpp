#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/placement_options.h"
#include "cli/progress.h"
#include "journal/journal.h"
#include "manifest/manifest.h"
#include "selfcheck/selfcheck.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

Status ParseOptions(const Args& args, selfcheck::Options* o) {
  if (args.positionals().size() != 1) return Status::InvalidArgument("selfcheck needs one MODEL.gguf");
  o->model_path = args.positionals()[0];
  uint64_t tokens = 0, second_ubatch = 0, topk = 0;
  POT_RETURN_IF_ERROR(args.GetU64("prompts", 100, &o->prompts));
  POT_RETURN_IF_ERROR(args.GetU64("tokens", 32, &tokens));
  POT_RETURN_IF_ERROR(args.GetU64("seed", 1, &o->seed));
  POT_RETURN_IF_ERROR(args.GetU64("topk", 8, &topk));
  POT_RETURN_IF_ERROR(args.GetThreads("threads", 0, &o->first.n_threads));
  if (o->prompts == 0 || tokens == 0 || tokens > 4096 || topk == 0 || topk > 64) {
    return Status::InvalidArgument("--prompts and --tokens must be positive (tokens at most 4096), --topk 1 to 64");
  }
  o->tokens = static_cast<int>(tokens);
  o->topk = static_cast<int>(topk);
  o->second = o->first;
  POT_RETURN_IF_ERROR(args.GetThreads("second-threads", o->first.n_threads, &o->second.n_threads));
  POT_RETURN_IF_ERROR(args.GetU64("second-ubatch", o->first.n_ubatch, &second_ubatch));
  if (second_ubatch == 0) return Status::InvalidArgument("--second-ubatch must be positive");
  o->second.n_ubatch = static_cast<uint32_t>(second_ubatch);
  return PlacementFromArgs(args, &o->placement);
}

json SummaryJson(const selfcheck::Options& o, const char* method, const selfcheck::Summary& s) {
  return {{"method", method},
          {"prompts", s.prompts},
          {"tokens", o.tokens},
          {"seed", o.seed},
          {"exact_match_rate", s.prompts ? static_cast<double>(s.matches) / static_cast<double>(s.prompts) : 0.0},
          {"matches", s.matches},
          {"diverged", s.prompts - s.matches},
          {"first_divergence_min", s.first_divergence_min},
          {"first_divergence_median", s.FirstDivergenceMedian()},
          {"max_abs_dlogprob", s.max_abs_dlogprob},
          {"positions_compared", s.positions},
          {"records_digest", s.records_digest}};
}

int RunSelfcheck(const Args& args) {
  selfcheck::Options options;
  Status s = ParseOptions(args, &options);
  const std::string method = args.Get("method").value_or("streaming");
  if (s.ok() && method != "streaming" && method != "stored") s = Status::InvalidArgument("--method is streaming or stored");
  const auto journal_dir = args.Get("journal");
  if (s.ok() && journal_dir && journal_dir->empty()) s = Status::InvalidArgument("--journal needs a directory");
  if (s.ok() && journal_dir && method == "stored") {
    s = Status::InvalidArgument("the stored method keeps its references in memory and cannot journal");
  }
  if (!s.ok()) return ReportError(s);
  Env* env = Env::Default();
  const auto start = std::chrono::steady_clock::now();

  // A journal is bound to the model's weights and every parameter.
  std::unique_ptr<journal::Journal> journal;
  std::vector<std::string> done;
  if (journal_dir) {
    manifest::Manifest m;
    s = manifest::HashModel(env, options.model_path, {}, &m);
    if (s.ok()) s = env->CreateDirs(*journal_dir);
    if (s.ok()) {
      s = journal::Journal::Open(env, *journal_dir + "/selfcheck.jsonl",
                                 selfcheck::HeaderLine(options, m.root, method.c_str()),
                                 [](const std::string& line) {
                                   selfcheck::PromptResult r;
                                   return selfcheck::ParseRecordLine(line, &r).ok();
                                 },
                                 &done, &journal);
    }
    if (!s.ok()) return ReportError(s);
  }
  selfcheck::Summary summary;
  for (size_t i = 0; i < done.size(); ++i) {
    selfcheck::PromptResult r;
    s = selfcheck::ParseRecordLine(done[i], &r);
    if (s.ok() && r.index != i) s = Status::Corruption(*journal_dir + ": record " + std::to_string(i) + " is out of order");
    if (!s.ok()) return ReportError(s);
    summary.Add(r, done[i]);
  }
  if (!done.empty()) {
    std::fprintf(stderr, "resuming: %zu of %llu prompts already checked\n", done.size(),
                 static_cast<unsigned long long>(options.prompts));
  }

  engine::Init(args.Has("verbose"));
  std::unique_ptr<selfcheck::Checker> checker;
  if (summary.prompts < options.prompts) s = selfcheck::Checker::Open(options, &checker);
  if (!s.ok()) return ReportError(s);
  ProgressBar bar("selfcheck", args.Has("quiet"), "prompts", 1);
  auto record = [&](const selfcheck::PromptResult& r) -> Status {
    const std::string line = selfcheck::RecordLine(r);
    if (journal) POT_RETURN_IF_ERROR(journal->Append(line));
    summary.Add(r, line);
    bar.Update(summary.prompts, options.prompts);
    return Status::OK();
  };
  if (method == "stored") {
    s = checker->RunStored(record);
  } else {
    for (uint64_t i = summary.prompts; i < options.prompts && s.ok(); ++i) {
      selfcheck::PromptResult r;
      s = checker->RunLockstep(i, &r);
      if (s.ok()) s = record(r);
    }
  }
  if (s.ok() && journal) s = journal->Close();
  if (!s.ok()) return ReportError(s);

  const json j = SummaryJson(options, method.c_str(), summary);
  if (args.Has("json")) {
    PrintJson(j);
  } else {
    std::printf("prompts            %llu (%d tokens each, seed %llu, %s)\n", static_cast<unsigned long long>(summary.prompts),
                options.tokens, static_cast<unsigned long long>(options.seed), method.c_str());
    std::printf("exact match        %llu of %llu (%.4f)\n", static_cast<unsigned long long>(summary.matches),
                static_cast<unsigned long long>(summary.prompts), j["exact_match_rate"].get<double>());
    std::printf("first divergence   min %lld, median %lld (-1: none)\n", static_cast<long long>(summary.first_divergence_min),
                static_cast<long long>(summary.FirstDivergenceMedian()));
    std::printf("max |d logprob|    %.6g over %llu positions\n", summary.max_abs_dlogprob,
                static_cast<unsigned long long>(summary.positions));
    std::printf("records digest     %s\n", summary.records_digest.c_str());
  }
  std::fprintf(stderr, "%.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return summary.matches == summary.prompts ? kExitOk : kExitNegative;
}

}  // namespace

CommandSpec SelfcheckCommand() {
  return {"selfcheck",
          "determinism test: generate twice with one seed and compare on the fly (tokens and top-k log-probs)",
          "MODEL.gguf --prompts N --tokens T --seed S [--journal DIR] [--method streaming|stored] [--json]",
          WithPlacementOptions({{"prompts", true, "number of prompts (default 100)"},
           {"tokens", true, "tokens generated per prompt (default 32)"},
           {"seed", true, "seed of the prompts and of the sampler (default 1)"},
           {"topk", true, "log-probabilities compared per position: the first run's top k (default 8)"},
           {"journal", true, "directory of a crash-safe journal: a rerun resumes after the last checked prompt"},
           {"method", true, "streaming (default: both runs in lockstep, constant memory) or stored (all references first)"},
           {"threads", true, "threads of the first run (default: all cores)"},
           {"second-threads", true, "threads of the second run (default: as the first)"},
           {"second-ubatch", true, "micro-batch of the second run (default: as the first), to measure the floor"},
           {"json", false, "print the summary as one JSON object"},
           {"quiet", false, "no progress bar"},
           {"verbose", false, "show llama.cpp's log"}}),
          RunSelfcheck};
}

}  // namespace pot::cli
