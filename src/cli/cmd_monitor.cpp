// pot monitor: the command line over monitor::Run (docs/monitor.md).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/endpoint_options.h"
#include "cli/interrupt.h"
#include "cli/output.h"
#include "cli/run_dir.h"
#include "crypto/sha256.h"
#include "endpoint/endpoint.h"
#include "evidence/transcript.h"
#include "monitor/monitor.h"
#include "text/text.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

// Challenges a fresh monitor key commits to: at 4 challenges a second, eight years of monitoring.
constexpr uint64_t kMonitorChallenges = 1000000000;

// "500ms", "30s", "5m", "1h": a positive whole number and its unit.
Status ParseDuration(const std::string& text, std::chrono::milliseconds* out) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string unit = text.substr(digits);
  const int64_t scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : unit == "h" ? 3600000 : 0;
  if (digits == 0 || digits > 9 || scale == 0 || std::stoll(text.substr(0, digits)) == 0) {
    return Status::InvalidArgument("--every is a positive whole number with a unit: 500ms, 30s, 5m or 1h");
  }
  *out = std::chrono::milliseconds(std::stoll(text.substr(0, digits)) * scale);
  return Status::OK();
}

Status MonitorOptions(const Args& args, monitor::Options* o) {
  if (!args.Has("endpoint") || !args.Has("ref") || !args.Has("every")) {
    return Status::InvalidArgument("monitor needs --endpoint URL, --ref A.gguf (the claimed model) and --every DURATION");
  }
  if (args.Get("output") && args.Get("output")->empty()) return Status::InvalidArgument("-o needs a run directory");
  POT_RETURN_IF_ERROR(ParseDuration(*args.Get("every"), &o->every));
  uint64_t challenges = 4;
  POT_RETURN_IF_ERROR(args.GetU64("challenges", challenges, &challenges));
  if (challenges == 0 || challenges > 1000) return Status::InvalidArgument("--challenges is 1 to 1000");
  o->challenges_per_round = static_cast<int>(challenges);
  POT_RETURN_IF_ERROR(args.GetU64("rounds", 0, &o->max_rounds));
  if (args.Has("rounds") && o->max_rounds == 0) return Status::InvalidArgument("--rounds is at least 1");
  POT_RETURN_IF_ERROR(args.GetReal("alpha", 0, 0.5, &o->change.alpha));
  POT_RETURN_IF_ERROR(args.GetReal("epsilon", 0, 1, &o->change.epsilon));
  return Status::OK();
}

json EndpointJson(const endpoint::Options& ep, const evidence::EndpointRef& ref) {
  return {{"url", ref.url}, {"api", ref.api}, {"model_requested", ref.model_requested}, {"score", ref.score},
          {"tau", ref.tau}, {"top_logprobs", ref.top_logprobs}, {"system", ref.system}, {"tokens", ep.tokens}};
}

json ResultJson(const monitor::Result& r, const std::string& run_dir) {
  const char* stop = r.stop == monitor::Stop::kAlarm ? "alarm" : r.stop == monitor::Stop::kRounds ? "rounds" : "interrupted";
  json j = {{"stop", stop}, {"rounds", r.last.round}, {"challenges", r.last.challenges}, {"tokens", r.last.tokens},
            {"outages", r.last.outages}, {"log_statistic", r.last.log_statistic},
            {"log_threshold", r.last.log_threshold}, {"resumed_rounds", r.resumed_rounds},
            {"resumed_challenges", r.resumed_challenges}, {"run_dir", run_dir},
            {"alarm", nullptr}};
  if (r.stop == monitor::Stop::kAlarm) {
    j["alarm"] = {{"round", r.alarm.round}, {"index", r.alarm.index}, {"challenges", r.alarm.challenges},
                  {"tokens", r.alarm.tokens}, {"log_statistic", r.alarm.log_statistic}};
  }
  return j;
}

// The alarm's command and webhook; a failure of either is reported, and the alarm's exit code stands.
void RaiseAlarm(const Args& args, const monitor::Alarm& alarm, const monitor::AlarmContext& context) {
  if (auto command = args.Get("on-alarm")) {
    Status s = monitor::RunAlarmCommand(*command, alarm, context);
    if (!s.ok()) ReportError(s);
  }
  if (auto url = args.Get("webhook")) {
    std::unique_ptr<http::Client> client;
    http::Options options;  // never the endpoint's API key
    options.total_timeout_s = 30;
    Status s = http::NewClient(options, &client);
    if (s.ok()) s = monitor::PostAlarmWebhook(client.get(), *url, alarm, context);
    if (!s.ok()) ReportError(s);
  }
}

int RunMonitor(const Args& args) {
  Env* env = Env::Default();
  monitor::Options options;
  Status s = MonitorOptions(args, &options);
  if (s.ok() && args.Has("webhook")) {
    std::string display;
    s = http::ParseBaseUrl(*args.Get("webhook"), &display).WithContext("--webhook");
  }
  if (!s.ok()) return ReportError(s);
  // The same endpoint options as pot verify --endpoint; the score's calibrated tolerance is the default epsilon.
  endpoint::Options ep;
  evidence::EndpointRef ep_ref;
  stats::TestParams test;
  test.epsilon = options.change.epsilon;
  s = EndpointRunFromArgs(args, env, &ep, &ep_ref, &test);
  options.change.epsilon = test.epsilon;
  if (ep.score.kind == endpoint::ScoreKind::kText) {
    // A centered score (null mean 1/2 up to epsilon, as pot verify tests it): watched both ways.
    options.change.two_sided = true;
    options.change.lower = 0.5 - test.epsilon;
    options.change.epsilon = 0.5 + test.epsilon;
  }
  ep.reference.path = *args.Get("ref");
  if (s.ok()) s = args.GetThreads("threads", 0, &ep.reference.context.n_threads);
  if (s.ok()) s = stats::CheckChangeParams(options.change);
  challenge::KeyFile key;
  if (s.ok()) s = ReadOrMakeKey(args, env, kMonitorChallenges, &key);
  std::unique_ptr<challenge::Generator> gen;
  auto make_generator = [&] { return challenge::NewGenerator(env, key.key, key.family, args.Get("corpus").value_or(""), &gen); };
  if (s.ok()) s = make_generator();
  evidence::ModelRef reference;
  if (s.ok()) s = evidence::DescribeModel(env, ep.reference.path, {}, &reference);
  if (!s.ok()) return ReportError(s);
  std::string run_dir;
  std::unique_ptr<FileLock> run_lock;
  bool fresh_key = false;
  s = OpenRunDir(args, env, "pot-monitor", &run_dir, &run_lock);
  if (s.ok()) s = ResolveKey(args, env, run_dir, "monitor.jsonl", monitor::CommitmentOfHeader, &key, &fresh_key);
  if (s.ok() && !fresh_key && !args.Has("key")) s = make_generator();  // the adopted run.key
  if (!s.ok()) return ReportError(s);
  options.n_max = key.n_max;
  const monitor::Header header{POT_VERSION, POT_LLAMA_COMMIT, text::DumpJson(evidence::ModelRefJson(reference)),
                               text::DumpJson(EndpointJson(ep, ep_ref)), ToHex(key.commitment), key.family.name,
                               key.family.params, key.n_max};

  engine::Init(args.Has("verbose"));
  std::unique_ptr<http::Client> client;
  std::unique_ptr<endpoint::Scorer> scorer;
  s = http::NewClient(ep.http, &client);
  if (s.ok()) s = endpoint::Scorer::Open(ep, std::move(client), &scorer);
  // The fresh key is written last, just before the journal that commits to it (mode 0600, never over a file).
  if (s.ok() && fresh_key) {
    s = challenge::WriteKeyFile(env, run_dir + "/run.key", key);
    if (s.ok()) std::fprintf(stderr, "commitment %s (key in %s/run.key)\n", ToHex(key.commitment).c_str(), run_dir.c_str());
  }
  if (!s.ok()) return ReportError(s);
  // The first SIGINT or SIGTERM asks the run to stop after the challenge in flight; a second one ends it at
  // once (the journal is crash-safe: the rerun records that challenge as unanswered).
  StopOnSignals();
  monitor::Callbacks callbacks;
  const bool quiet = args.Has("quiet");
  callbacks.on_resume = [](const std::string& line) { std::fprintf(stderr, "%s\n", text::EscapeForTerminal(line).c_str()); };
  callbacks.on_round = [quiet](const monitor::RoundReport& r) {
    if (!r.outage.empty()) {
      std::fprintf(stderr, "round %llu: endpoint failure, no score (an outage is not evidence; monitoring continues): %s\n",
                   static_cast<unsigned long long>(r.round), text::EscapeForTerminal(r.outage).c_str());
    }
    if (quiet) return;
    std::fprintf(stderr, "round %llu: %llu challenges, %llu tokens, %llu outages, log M %.3f (alarm at %.3f)\n",
                 static_cast<unsigned long long>(r.round), static_cast<unsigned long long>(r.challenges),
                 static_cast<unsigned long long>(r.tokens), static_cast<unsigned long long>(r.outages), r.log_statistic,
                 r.log_threshold);
  };
  monitor::Result result;
  s = monitor::Run(env, run_dir + "/monitor.jsonl", monitor::HeaderLine(header, options), options, *gen, scorer.get(),
                   StopSignal(), callbacks, &result);
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) PrintJson(ResultJson(result, run_dir));
  SetJsonErrors(false);  // the one object is printed: a failing alarm command or webhook is a line on stderr only
  switch (result.stop) {
    case monitor::Stop::kAlarm: {
      const monitor::Alarm& a = result.alarm;
      if (!args.Has("json")) {
        std::printf("ALARM: the endpoint's behaviour changed: round %llu, challenge %llu; %llu challenges and %llu tokens "
                    "since the start; log M %.3f >= %.3f (false-alarm probability <= %g over the whole run)\n",
                    static_cast<unsigned long long>(a.round), static_cast<unsigned long long>(a.index),
                    static_cast<unsigned long long>(a.challenges), static_cast<unsigned long long>(a.tokens),
                    a.log_statistic, a.log_threshold, options.change.alpha);
      }
      std::fflush(stdout);
      RaiseAlarm(args, a, {ep_ref.url, run_dir});
      return kExitNegative;
    }
    case monitor::Stop::kInterrupted:
      std::fprintf(stderr, "interrupted after round %llu; rerun the same command to resume\n",
                   static_cast<unsigned long long>(result.last.round));
      return 128 + StopSignal()->load();
    case monitor::Stop::kRounds: break;
  }
  if (!args.Has("json")) {
    std::printf("no alarm after %llu rounds: %llu challenges, %llu tokens, %llu outages; log M %.3f < %.3f\n",
                static_cast<unsigned long long>(result.last.round), static_cast<unsigned long long>(result.last.challenges),
                static_cast<unsigned long long>(result.last.tokens), static_cast<unsigned long long>(result.last.outages),
                result.last.log_statistic, result.last.log_threshold);
  }
  return kExitOk;
}

}  // namespace

CommandSpec MonitorCommand() {
  return {"monitor",
          "keep verifying an endpoint over time; alarm (exit 1) when its behaviour changes",
          "--endpoint URL --ref A.gguf --every DURATION [--challenges N] [--alpha A] [--score ...] [--rounds N]\n"
          "       [--on-alarm CMD] [--webhook URL] [-o RUNDIR] [--json] [endpoint options]",
          WithEndpointOptions({{"endpoint", true, "the base URL of the HTTP endpoint claimed to serve the --ref model", 0, "URL"},
           {"ref", true, "the reference model (GGUF)", 0, "A.gguf"},
           {"every", true, "a round every DURATION: 500ms, 30s, 5m, 1h", 0, "DURATION"},
           {"challenges", true, "fresh challenges scored per round (default 4)", 0, "N"},
           {"rounds", true, "stop after N rounds of this call, exit 0 when no alarm (default: until alarm or signal)", 0, "N"},
           {"alpha", true, "bound on the probability of any false alarm, over the whole run (default 0.01)", 0, "A"},
           {"epsilon", true, "the null's bound on every token's mean score, for text on |mean - 1/2| (default: the score's calibrated tolerance)", 0, "E"},
           {"score", true, "replay, greedy, logprobs or text (default: the strongest the endpoint supports); text is watched both ways", 0, "SCORE"},
           {"tau", true, "the margin that counts as a tie: greedy, nats below the argmax (default 0.05); replay, probability (default 0.001)", 0, "T"},
           {"top-logprobs", true, "logprobs: how many top log-probabilities to ask for (default 8)", 0, "K"},
           {"tokens", true, "tokens the endpoint generates per challenge (default 32)", 0, "K"},
           {"on-alarm", true, "run CMD through /bin/sh on an alarm, the details in POT_ALARM_* environment variables", 0, "CMD"},
           {"webhook", true, "POST the alarm as a JSON object to this URL", 0, "URL"},
           {"key", true, "challenge key file from 'pot challenge commit' (default: a fresh key in RUNDIR/run.key)", 0, "KEYFILE"},
           {"family", true, "with a fresh key: challenge family (default templates)", 0, "F"},
           {"corpus", true, "corpus file for the corpus family", 0, "FILE"},
           {"output", true, "run directory for the key and journal (default pot-monitor-TIME-RANDOM); rerun to resume", 'o', "RUNDIR"},
           {"threads", true, "CPU threads for the reference model (default: the free CPUs, probed at start)", 0, "N"},
           {"json", false, "print one JSON object at the end"},
           {"quiet", false, "no progress line per round (outages are still reported)"},
           {"verbose", false, "show llama.cpp's log"}}),
          RunMonitor, 0};
}

}  // namespace pot::cli
