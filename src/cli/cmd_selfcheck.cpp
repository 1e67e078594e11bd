#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/placement_options.h"
#include "cli/progress.h"
#include "journal/journal.h"
#include "manifest/manifest.h"
#include "selfcheck/selfcheck.h"
#include "shard/shard.h"

namespace pot::cli {
namespace {

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
  // A shard checks its block of the prompts into its own journal (shard/shard.h); without one, the block is all.
  const auto shard_text = args.Get("shard");
  shard::Spec spec;
  shard::Range range;
  if (s.ok() && shard_text && !journal_dir) s = Status::InvalidArgument("--shard writes its result to a journal: give --journal DIR");
  if (s.ok() && shard_text) s = shard::ParseSpec(*shard_text, &spec).WithContext("--shard");
  if (s.ok()) s = shard::RangeOf(spec, options.prompts, &range).WithContext("--shard " + shard::SpecName(spec));
  if (!s.ok()) return ReportError(s);
  Env* env = Env::Default();
  const auto start = std::chrono::steady_clock::now();

  // A journal is bound to the model's weights and every parameter.
  std::unique_ptr<journal::Journal> journal;
  std::vector<std::string> done;
  const std::string journal_path =
      !journal_dir ? "" : shard_text ? shard::PathFor(*journal_dir + "/selfcheck", spec) : *journal_dir + "/selfcheck.jsonl";
  if (journal_dir) {
    manifest::Manifest m;
    s = manifest::HashModel(env, options.model_path, {}, &m);
    if (s.ok()) s = env->CreateDirs(*journal_dir);
    if (s.ok()) {
      const std::string header = selfcheck::HeaderLine(options, m.root, method.c_str());
      s = journal::Journal::Open(env, journal_path,
                                 shard_text ? shard::HeaderLine(shard::Kind::kSelfcheck, spec, options.prompts, header) : header,
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
    if (s.ok() && r.index != range.first + i) s = Status::Corruption(*journal_dir + ": record " + std::to_string(i) + " is out of order");
    if (!s.ok()) return ReportError(s);
    summary.Add(r, done[i]);
  }
  if (!done.empty()) ReportResuming(done.size(), range.size(), "prompts", journal_path);

  engine::Init(args.Has("verbose"));
  std::unique_ptr<selfcheck::Checker> checker;
  if (summary.prompts < range.size()) s = selfcheck::Checker::Open(options, &checker);
  if (!s.ok()) return ReportError(s);
  ProgressBar bar("selfcheck", args.Has("quiet"), "prompts", 1);
  // A signal stops the run between prompts: every prompt journaled so far is whole, and a rerun resumes.
  StopOnSignals();
  auto record = [&](const selfcheck::PromptResult& r) -> Status {
    if (Interrupted()) return InterruptedStatus();
    const std::string line = selfcheck::RecordLine(r);
    if (journal) POT_RETURN_IF_ERROR(journal->Append(line));
    summary.Add(r, line);
    bar.Update(summary.prompts, range.size());
    return Status::OK();
  };
  if (method == "stored") {
    s = checker->RunStored(record);
  } else {
    for (uint64_t i = range.first + summary.prompts; i < range.end && s.ok() && !Interrupted(); ++i) {
      selfcheck::PromptResult r;
      s = checker->RunLockstep(i, &r);
      if (s.ok()) s = record(r);
    }
  }
  if (Interrupted() && summary.prompts < range.size()) {
    return ReportInterrupted(summary.prompts, range.size(), "prompts", journal != nullptr);
  }
  if (s.ok() && journal) s = journal->Close();
  if (!s.ok()) return ReportError(s);

  if (shard_text && args.Has("json")) {
    PrintJson({{"shard", shard::SpecName(spec)}, {"first", range.first}, {"last", range.end - 1}, {"journal", journal_path}});
  } else if (shard_text) {
    // A finished shard succeeds whatever it found (a scheduler would retry a failed one); pot merge answers.
    std::printf("shard %s: prompts %llu to %llu checked; pot merge its journal with the others\n", shard::SpecName(spec).c_str(),
                static_cast<unsigned long long>(range.first), static_cast<unsigned long long>(range.end - 1));
  } else if (args.Has("json")) {
    PrintJson(selfcheck::SummaryJson(options, method, summary));
  } else {
    std::fputs(selfcheck::SummaryText(options, method, summary).c_str(), stdout);
  }
  std::fprintf(stderr, "%.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return shard_text || summary.matches == summary.prompts ? kExitOk : kExitNegative;
}

}  // namespace

CommandSpec SelfcheckCommand() {
  return {"selfcheck",
          "determinism test: generate twice with one seed and compare on the fly (tokens and top-k log-probs)",
          "MODEL.gguf --prompts N --tokens T --seed S [--journal DIR [--shard I/N]] [--method streaming|stored] [--json]",
          WithPlacementOptions({{"prompts", true, "number of prompts (default 100)", 0, "N"},
           {"tokens", true, "tokens generated per prompt (default 32)", 0, "T"},
           {"seed", true, "seed of the prompts and of the sampler (default 1)", 0, "S"},
           {"topk", true, "log-probabilities compared per position: the first run's top k (default 8)", 0, "K"},
           {"journal", true, "directory of a crash-safe journal: a rerun resumes after the last checked prompt", 0, "DIR"},
           {"shard", true, "I/N: check only shard I (from 0) of N of the prompts, into its own file in --journal DIR (pot merge)", 0, "I/N"},
           {"method", true, "streaming (default: both runs in lockstep, constant memory) or stored (all references first)", 0, "M"},
           {"threads", true, "threads of the first run (default: the free CPUs, probed at start)", 0, "N"},
           {"second-threads", true, "threads of the second run (default: as the first)", 0, "N"},
           {"second-ubatch", true, "micro-batch of the second run (default: as the first), to measure the floor", 0, "N"},
           {"json", false, "print the summary as one JSON object"},
           {"quiet", false, "no progress bar"},
           {"verbose", false, "show llama.cpp's log"}}),
          RunSelfcheck, 1};
}

}  // namespace pot::cli
