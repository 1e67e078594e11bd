// pot monitor against real llama-server processes on loopback ports, started and stopped by the tests: the
// model swapped under the monitor (one server stopped, another started on the same port with the same
// alias), kill-and-resume, and hostile journals and run directories.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "env/env.h"
#include "support/llama_server.h"
#include "support/loopback_server.h"
#include "test_util.h"

namespace pot {
namespace {

using json = nlohmann::ordered_json;
using test::RunPot;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// Both servers answer as "forge": the model name cannot give the swap away, only the scores can.
std::unique_ptr<test::LlamaServer> Serve(const std::string& member, int port = 0) {
  std::unique_ptr<test::LlamaServer> server;
  const std::vector<std::string> alias = {"--alias", "forge"};
  Status s = port == 0 ? test::LlamaServer::Start(Member(member), alias, &server)
                       : test::LlamaServer::StartOnPort(Member(member), port, alias, &server);
  if (!s.ok()) ADD_FAILURE() << "llama-server " << member << ": " << s.message();
  return server;
}

// Rounds of one challenge of 16 tokens every 300 ms; one thread for pot, one for llama-server (two cores).
std::string Monitor(const std::string& url, const std::string& dir, const std::string& extra = "") {
  return "monitor --endpoint " + url + " --ref " + Member("base") +
         " --every 300ms --challenges 1 --tokens 16 --api llama-server --score replay --retries 0 --threads 1 -o " +
         dir + " " + extra;
}

std::vector<json> JournalLines(const std::string& dir) {
  std::vector<json> lines;
  std::istringstream in(test::Slurp(dir + "/monitor.jsonl"));
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object()) lines.push_back(j);
  }
  return lines;
}

std::vector<std::string> RawLines(const std::string& dir) {
  std::vector<std::string> lines;
  std::istringstream in(test::Slurp(dir + "/monitor.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& dir, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  test::WriteBytes(dir + "/monitor.jsonl", text);
}

int CountType(const std::vector<json>& lines, const std::string& type) {
  int n = 0;
  for (const auto& j : lines) n += j.value("type", "") == type;
  return n;
}

std::vector<std::string> RoundLines(const std::string& dir) {
  std::vector<std::string> rounds;
  for (const auto& l : RawLines(dir)) {
    if (l.find("{\"type\":\"round\"") == 0) rounds.push_back(l);
  }
  return rounds;
}

// Polls the journal until it holds n round lines (false after 120 s).
bool WaitForRounds(const std::string& dir, int n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(dir + "/monitor.jsonl") && CountType(JournalLines(dir), "round") >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// pot run in the background; pid() is pot's own (the shell execs it).
class Background {
 public:
  explicit Background(const std::string& args) : pid_file_(dir_.File("pid")) {
    thread_ = std::thread([this, args] { result_ = RunPot(args, "echo $$ >" + pid_file_ + "; exec "); });
  }
  ~Background() {
    if (thread_.joinable()) thread_.join();
  }
  pid_t pid() {
    while (!std::filesystem::exists(pid_file_) || test::Slurp(pid_file_).empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return static_cast<pid_t>(std::stol(test::Slurp(pid_file_)));
  }
  test::RunResult Wait() {
    thread_.join();
    return result_;
  }

 private:
  test::TempDir dir_;
  std::string pid_file_;
  test::RunResult result_;
  std::thread thread_;
};

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(Member("finetune"))) GTEST_SKIP() << "testbed not forged at " << test::TestbedDir();
  }
  test::TempDir dir_;
};

// 20 runs, each with its own fresh key: base.gguf served for three rounds, then stopped and finetune.gguf
// started on the same port under the same alias. Every run alarms, never on a challenge sent before the
// swap, and within kDelayBound challenges of the first one the new server answered.
TEST_F(MonitorTest, AlarmFiresSoonAfterTheModelIsSwappedAndNeverBefore) {
  constexpr int kRuns = 20, kRoundsBefore = 3;
  constexpr uint64_t kDelayBound = 2;
  std::vector<uint64_t> delays_challenges, delays_tokens;
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const std::string dir = dir_.File("swap" + std::to_string(run));
    auto base = Serve("base");
    ASSERT_TRUE(base);
    const int port = base->port();
    // --rounds bounds a run that never alarmed, so a failure cannot hang the test.
    Background monitor(Monitor(base->base_url(), dir, "--rounds 40 --json"));
    ASSERT_TRUE(WaitForRounds(dir, kRoundsBefore)) << test::Slurp(dir + "/monitor.jsonl");
    base.reset();  // stopped and reaped: every challenge sent from now on reaches the new server or nothing
    uint64_t last_sent_before_swap = 0;
    for (const auto& j : JournalLines(dir)) {
      EXPECT_NE(j.value("type", ""), "alarm") << "an alarm before the swap";
      if (j.value("type", "") == "sent") last_sent_before_swap = j.at("index").get<uint64_t>();
    }
    auto finetune = Serve("finetune", port);
    ASSERT_TRUE(finetune);
    const test::RunResult r = monitor.Wait();
    ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
    const json out = json::parse(r.out);
    ASSERT_EQ(out.at("stop"), "alarm");
    const uint64_t alarm_index = out.at("alarm").at("index").get<uint64_t>();
    const uint64_t alarm_tokens = out.at("alarm").at("tokens").get<uint64_t>();
    // The first challenge the new server answered, and the tokens scored before it.
    uint64_t first_new = UINT64_MAX, tokens_before = 0;
    for (const auto& j : JournalLines(dir)) {
      if (j.value("type", "") != "challenge") continue;
      const uint64_t index = j.at("index").get<uint64_t>();
      if (index > last_sent_before_swap) {
        first_new = index;
        break;
      }
      tokens_before += j.at("token_scores").size();
    }
    ASSERT_NE(first_new, UINT64_MAX);
    ASSERT_GE(alarm_index, first_new) << "the alarm came on a challenge the old server answered";
    delays_challenges.push_back(alarm_index - first_new + 1);
    delays_tokens.push_back(alarm_tokens - tokens_before);
    EXPECT_LE(delays_challenges.back(), kDelayBound);
  }
  std::string summary;
  for (size_t i = 0; i < delays_challenges.size(); ++i) {
    summary += " " + std::to_string(delays_challenges[i]) + "/" + std::to_string(delays_tokens[i]);
  }
  std::printf("delay after the swap, challenges/tokens, per run:%s\n", summary.c_str());
}

// The alarm's actions: the command gets the alarm in POT_ALARM_* variables (a value with shell syntax in it
// stays a value), the webhook one JSON object; a rerun of the alarmed run reports the same alarm without
// scoring and runs them again.
TEST_F(MonitorTest, AlarmRunsTheCommandAndPostsTheWebhook) {
  auto server = Serve("finetune");
  ASSERT_TRUE(server);
  std::vector<std::string> bodies;
  test::LoopbackServer hook([&bodies](const test::Request& r) {
    bodies.push_back(r.method + " " + r.path + " " + r.body);
    return test::Reply::Json(200, "{}");
  });
  const std::string dir = dir_.File("run $(touch pwned)"), env_file = dir_.File("alarm.env");
  const std::string args = Monitor(server->base_url(), "'" + dir + "'",
                                   "--rounds 5 --on-alarm 'env | grep ^POT_ALARM_ | sort >" + env_file +
                                       "' --webhook " + hook.base_url() + "/hook");
  auto r = RunPot(args);
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.find("ALARM: the endpoint's behaviour changed: round "), 0u) << r.out;
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].find("POST /hook {"), 0u) << bodies[0];
  const json posted = json::parse(bodies[0].substr(bodies[0].find('{')));
  EXPECT_EQ(posted.at("event"), "pot-monitor-alarm");
  EXPECT_EQ(posted.at("run_dir"), dir);
  const std::string env = test::Slurp(env_file);
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"POT_ALARM_ROUND", "round"}, {"POT_ALARM_INDEX", "index"}, {"POT_ALARM_CHALLENGES", "challenges"},
      {"POT_ALARM_TOKENS", "tokens"}};
  for (const auto& [var, member] : vars) {
    EXPECT_NE(env.find(var + "=" + posted.at(member).dump() + "\n"), std::string::npos) << var << " in " << env;
  }
  EXPECT_NE(env.find("POT_ALARM_RUN_DIR=" + dir + "\n"), std::string::npos) << env;
  EXPECT_FALSE(std::filesystem::exists("pwned")) << "the run directory's name was run as a command";
  const auto lines = RawLines(dir);
  auto again = RunPot(args);
  EXPECT_EQ(again.exit_code, 1) << again.err;
  EXPECT_EQ(again.out, r.out);
  EXPECT_EQ(RawLines(dir), lines) << "nothing scored or written again";
  EXPECT_EQ(bodies.size(), 2u);
}

// A run stopped after 3 rounds and rerun for 3 more writes the same round lines (detector states, bit for
// bit) as one run of 6 rounds with the same key. The finetune server gives nonzero scores, and an alpha of
// 1e-300 keeps the alarm away, so the states are not trivially equal.
TEST_F(MonitorTest, ResumedRunEqualsAnUninterruptedOne) {
  auto server = Serve("finetune");
  ASSERT_TRUE(server);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 1000 -o " + dir_.File("k.key")).exit_code, 0);
  const std::string key = " --key " + dir_.File("k.key") + " --alpha 1e-300 --every 10ms";
  const std::string split = dir_.File("split"), whole = dir_.File("whole");
  auto first = RunPot(Monitor(server->base_url(), split, key + " --rounds 3"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = RunPot(Monitor(server->base_url(), split, key + " --rounds 3"));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("resuming"), std::string::npos) << second.err;
  EXPECT_NE(second.out.find("no alarm after 6 rounds"), std::string::npos) << second.out;
  auto once = RunPot(Monitor(server->base_url(), whole, key + " --rounds 6"));
  ASSERT_EQ(once.exit_code, 0) << once.err;
  const auto a = RoundLines(split), b = RoundLines(whole);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.back().find("\"tokens\":96,"), a.back().find("\"tokens\"")) << a.back();
}

// SIGTERM ends the run between challenges (exit 143, one line); SIGKILL mid-run loses at most the challenge
// in flight, recorded as unanswered on the rerun: no challenge index is ever sent twice.
TEST_F(MonitorTest, SignalsStopTheRunAndTheRerunContinuesWithoutReusingAChallenge) {
  auto server = Serve("base");
  ASSERT_TRUE(server);
  const std::string dir = dir_.File("run");
  {
    Background monitor(Monitor(server->base_url(), dir));
    ASSERT_TRUE(WaitForRounds(dir, 2));
    ::kill(monitor.pid(), SIGTERM);
    const auto r = monitor.Wait();
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_NE(r.err.find("rerun the same command to resume"), std::string::npos) << r.err;
  }
  {
    Background monitor(Monitor(server->base_url(), dir));
    const int rounds = CountType(JournalLines(dir), "round");
    ASSERT_TRUE(WaitForRounds(dir, rounds + 2));
    ::kill(monitor.pid(), SIGKILL);
    EXPECT_EQ(monitor.Wait().exit_code, 128 + SIGKILL);
  }
  auto r = RunPot(Monitor(server->base_url(), dir, "--rounds 2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming"), std::string::npos);
  std::vector<uint64_t> sent;
  for (const auto& j : JournalLines(dir)) {
    if (j.value("type", "") == "sent") sent.push_back(j.at("index").get<uint64_t>());
  }
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(sent[i], i) << "challenge indices run 0, 1, 2, ... once each";
}

// What a rerun refuses: a run directory another pot holds, and journal lines edited or cut short. Each is
// one line and exit 3 (or the lock's own code), and nothing is appended to the journal.
TEST_F(MonitorTest, RefusesAJournalThatDoesNotFitAndARunDirectoryInUse) {
  auto server = Serve("base");
  ASSERT_TRUE(server);
  const std::string dir = dir_.File("run");
  ASSERT_EQ(RunPot(Monitor(server->base_url(), dir, "--rounds 2")).exit_code, 0);
  const std::vector<std::string> good = RawLines(dir);
  {
    std::unique_ptr<FileLock> lock;
    ASSERT_TRUE(Env::Default()->LockFile(dir + "/run.lock", &lock).ok());
    auto r = RunPot(Monitor(server->base_url(), dir, "--rounds 1"));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("in use by pid"), std::string::npos) << r.err;
  }
  auto refused = [&](const std::vector<std::string>& lines, const std::string& why) {
    WriteLines(dir, lines);
    auto r = RunPot(Monitor(server->base_url(), dir, "--rounds 1"));
    EXPECT_EQ(r.exit_code, 3) << why << ": " << r.err;
    EXPECT_EQ(test::CountLines(r.err), 1) << why << ": " << r.err;
    EXPECT_NE(r.err.find("monitor.jsonl: line "), std::string::npos) << why << ": " << r.err;
    EXPECT_EQ(RawLines(dir), lines) << why << ": the journal was appended to";
  };
  // good: header, sent, challenge, round, sent, challenge, round.
  ASSERT_EQ(good.size(), 7u);
  auto edited = good;
  const size_t at = edited[2].find("\"token_scores\":[") + 16;
  edited[2].replace(at, 1, edited[2][at] == '0' ? "1" : "0");
  refused(edited, "a token score changed");
  edited = good;
  edited[3].replace(edited[3].find("\"state\":\"r1") + 9, 2, "r2");
  refused(edited, "a detector state changed");
  edited = good;
  edited[2] = edited[2].substr(0, edited[2].size() / 2);
  refused(edited, "a line cut short in the middle of the journal");
  edited = good;
  edited[4].replace(edited[4].find("\"tag\":\"") + 7, 1, edited[4][edited[4].find("\"tag\":\"") + 7] == 'a' ? "b" : "a");
  refused(edited, "a tag the key does not give");
  refused({good[0], good[1], good[2], good[3], good[5], good[6]}, "a challenge answered that was never sent");
  // A torn last line (no newline: a crash while writing it) is the one thing dropped, and the rerun redoes it.
  WriteLines(dir, {good.begin(), good.end() - 1});
  test::WriteBytes(dir + "/monitor.jsonl", test::Slurp(dir + "/monitor.jsonl") + good.back().substr(0, 20));
  auto r = RunPot(Monitor(server->base_url(), dir, "--rounds 1"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto after = RawLines(dir);
  ASSERT_EQ(after.size(), 7u);
  EXPECT_EQ(after[6], good[6]) << "the round line rewritten as it was";
}

}  // namespace
}  // namespace pot
