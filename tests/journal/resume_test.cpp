// Long runs survive SIGKILL: a run killed at random moments and rerun ends exactly where an uninterrupted
// run ends (same summary, same transcript bytes, same root).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

std::vector<std::string> Split(const std::string& args) {
  std::istringstream in(args);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// Starts pot with args, kills it with SIGKILL after delay, and reports whether it was still running.
bool RunAndKill(const std::string& args, std::chrono::milliseconds delay) {
  std::vector<std::string> words = Split(args);
  std::vector<char*> argv = {const_cast<char*>(POT_BINARY)};
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(POT_BINARY, argv.data());
    ::_exit(127);
  }
  std::this_thread::sleep_for(delay);
  const bool killed = ::kill(pid, SIGKILL) == 0;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return killed && WIFSIGNALED(status);
}

// Starts the same command `times` times, killing each with SIGKILL after a delay drawn uniformly from
// [min_ms, max_ms] (seeded); returns how many were still running when killed.
int KillRepeatedly(const std::string& args, int times, int min_ms, int max_ms, uint32_t seed) {
  std::mt19937 rng(seed);
  int interrupted = 0;
  for (int k = 0; k < times; ++k) {
    interrupted += RunAndKill(args, std::chrono::milliseconds(std::uniform_int_distribution<int>(min_ms, max_ms)(rng)));
  }
  return interrupted;
}

TEST(Resume, SelfcheckKilledAtRandomMomentsEndsWithTheSameSummary) {
  test::TempDir dir;
  const std::string common = Member("base") + " --prompts 40 --tokens 16 --seed 7 --json --quiet --journal ";
  auto reference = RunPot("selfcheck " + common + dir.File("whole"));
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  EXPECT_GE(KillRepeatedly("selfcheck " + common + dir.File("killed"), 5, 100, 900, 2026), 3)
      << "the kills must land while the run is working";
  auto resumed = RunPot("selfcheck " + common + dir.File("killed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(resumed.out, reference.out);
  EXPECT_EQ(test::Slurp(dir.File("killed/selfcheck.jsonl")), test::Slurp(dir.File("whole/selfcheck.jsonl")));
  // Different parameters never resume someone else's journal.
  auto other = RunPot("selfcheck " + Member("base") + " --prompts 40 --tokens 8 --seed 7 --quiet --journal " +
                      dir.File("killed"));
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(other.err.find("refusing to resume"), std::string::npos) << other.err;
}

TEST(Resume, SelfcheckStoredAndStreamingAgree) {
  const std::string common = "selfcheck " + Member("base") + " --prompts 12 --tokens 16 --seed 3 --json --quiet";
  auto streaming = RunPot(common);
  auto stored = RunPot(common + " --method stored");
  ASSERT_EQ(streaming.exit_code, 0) << streaming.err;
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  EXPECT_EQ(streaming.out.substr(streaming.out.find("\"prompts\"")), stored.out.substr(stored.out.find("\"prompts\"")));
}

TEST(Resume, VerifyKilledAtRandomMomentsEndsWithTheSameTranscript) {
  test::TempDir dir;
  ASSERT_EQ(RunPot("keygen -o " + dir.File("signer")).exit_code, 0);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 128 -o " + dir.File("k.key")).exit_code, 0);
  const std::string common = "verify --quiet --json --ref " + Member("base") + " --cand " + Member("base-copy") +
                             " --key " + dir.File("k.key") + " --sign " + dir.File("signer") + " -o ";
  auto whole = RunPot(common + dir.File("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_GE(KillRepeatedly(common + dir.File("killed"), 6, 150, 700, 7), 3);
  auto resumed = RunPot(common + dir.File("killed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(test::Slurp(dir.File("killed/transcript.jsonl")), test::Slurp(dir.File("whole/transcript.jsonl")));
  EXPECT_EQ(test::Slurp(dir.File("killed/bundle.json")), test::Slurp(dir.File("whole/bundle.json")))
      << "Ed25519 signatures are deterministic: even the bundle is the same";
  auto audit = RunPot("audit " + dir.File("killed/bundle.json") + " --trust " + dir.File("signer.pub"));
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  // A finished run rerun reports the same outcome without scoring again.
  auto again = RunPot(common + dir.File("killed"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(test::Slurp(dir.File("killed/transcript.jsonl")), test::Slurp(dir.File("whole/transcript.jsonl")));
}

TEST(Resume, ReferenceBuildKilledAtRandomMomentsEndsWithTheSameFile) {
  test::TempDir dir;
  ASSERT_EQ(RunPot("keygen -o " + dir.File("signer")).exit_code, 0);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 256 -o " + dir.File("k.key")).exit_code, 0);
  const std::string common = "reference build " + Member("base") + " --key " + dir.File("k.key") + " --sign " +
                             dir.File("signer") + " -n 200 --tokens 4 --quiet -o ";
  auto whole = RunPot(common + dir.File("whole.potref"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_GE(KillRepeatedly(common + dir.File("killed.potref"), 5, 200, 1500, 11), 3);
  auto resumed = RunPot(common + dir.File("killed.potref"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(test::Slurp(dir.File("killed.potref")), test::Slurp(dir.File("whole.potref")))
      << "same records, and Ed25519 signatures are deterministic: the same bytes";
  EXPECT_FALSE(std::filesystem::exists(dir.File("killed.potref.journal"))) << "the journal is removed once done";
}

}  // namespace
}  // namespace pot
