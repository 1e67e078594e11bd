// monitor: keeps verifying an endpoint over time and raises an alarm when its behaviour changes
// (docs/monitor.md).
//
// Contract. Every round (one per `every`, from the previous round's start) scores challenges_per_round
// fresh committed challenges through the scorer; challenge indices continue across rounds and restarts,
// so no challenge is ever sent twice. Every token score feeds one stats::ChangeDetector, whose alarm has
// P(any alarm, ever | the endpoint keeps serving the reference) <= alpha over unbounded time.
// The run's journal (docs/formats.md, "Monitor journal") records each challenge before it is sent, each
// scored challenge (its request, response and token scores), each outage and the detector's exact state
// after each round. Opened again with the same header, the journal is replayed into a fresh detector,
// which must reproduce every recorded state bit for bit, and the run continues with the next challenge
// index: the guarantee is never reset. A line that does not fit (malformed, out of order, a tag the key
// does not give, a state its scores do not give) is Corruption, never skipped. A challenge the endpoint
// did not answer (connection refused, a 5xx after retries, a malformed body) ends its round as an outage:
// reported, no score made up, nothing fed to the detector; monitoring continues at the next round.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "challenge/challenge.h"
#include "env/env.h"
#include "http/http.h"
#include "stats/change.h"
#include "verify/verify.h"

namespace pot::monitor {

inline constexpr int kJournalVersion = 1;

struct Options {
  stats::ChangeParams change;
  int challenges_per_round = 4;
  std::chrono::milliseconds every{30000};
  uint64_t max_rounds = 0;  // rounds this call runs (a resumed unfinished round counts); 0: until alarm or stop
  uint64_t n_max = 0;       // challenges the key commits to: the run ends with an error when they are used up
};

// What the journal's header fixes: a rerun resumes only with the same header (journal::Journal). The
// endpoint's own reports (its fingerprint, the model it lists) are not part of it: they may change, and a
// change must not refuse the resume.
struct Header {
  std::string pot_version, llama_commit;
  std::string reference_json;  // evidence::ModelRefJson of the reference, dumped
  std::string endpoint_json;   // url, api, model, score, tau, top_logprobs, system, tokens, dumped
  std::string commitment, family, family_params;
  uint64_t n_max_committed = 0;
};
std::string HeaderLine(const Header& header, const Options& options);
// The commitment a journal's header line names (cli::ResolveKey reads it).
Status CommitmentOfHeader(const std::string& line, std::string* commitment_hex);

// After each round, and for each outage.
struct RoundReport {
  uint64_t round = 0;
  uint64_t challenges = 0, tokens = 0, outages = 0;  // since the run's start
  double log_statistic = 0, log_threshold = 0;
  std::string outage;  // the failure that ended the round, "" if none
};

enum class Stop { kAlarm, kRounds, kInterrupted };

struct Alarm {
  uint64_t round = 0;
  uint64_t index = 0;                  // the challenge whose token crossed the threshold
  uint64_t challenges = 0, tokens = 0;  // since the run's start, through that challenge and token
  double log_statistic = 0, log_threshold = 0;
};

struct Result {
  Stop stop = Stop::kRounds;
  RoundReport last;  // the state when it stopped
  uint64_t resumed_rounds = 0, resumed_challenges = 0;  // what the journal held when opened
  Alarm alarm;       // when stop is kAlarm
};

struct Callbacks {
  std::function<void(const RoundReport&)> on_round;  // after each round (an outage's round included)
  std::function<void(const std::string&)> on_resume;  // one line when the journal held rounds already
};

// Opens or resumes the journal at journal_path and monitors until an alarm, max_rounds, or *stop becomes
// nonzero (checked between challenges and while waiting; the challenge in flight finishes first).
// Errors: the journal's (Corruption, "in use by pid N"), the scorer's Internal failures, a used-up key.
Status Run(Env* env, const std::string& journal_path, const std::string& header_line, const Options& options,
           const challenge::Generator& generator, verify::ChallengeScorer* scorer, const std::atomic<int>* stop,
           const Callbacks& callbacks, Result* result);

// The details an alarm's command and webhook receive.
struct AlarmContext {
  std::string endpoint, run_dir;
};
// Runs command through /bin/sh -c with the alarm in the environment (POT_ALARM_ROUND, POT_ALARM_INDEX,
// POT_ALARM_CHALLENGES, POT_ALARM_TOKENS, POT_ALARM_LOG_STATISTIC, POT_ALARM_LOG_THRESHOLD,
// POT_ALARM_ENDPOINT, POT_ALARM_RUN_DIR): never interpolated into the command string. An error when it
// cannot start or exits non-zero.
Status RunAlarmCommand(const std::string& command, const Alarm& alarm, const AlarmContext& context);
// POSTs the alarm to url as one JSON object: {"event":"pot-monitor-alarm","endpoint","run_dir","round",
// "index","challenges","tokens","log_statistic","log_threshold"}.
Status PostAlarmWebhook(http::Client* client, const std::string& url, const Alarm& alarm, const AlarmContext& context);

}  // namespace pot::monitor
