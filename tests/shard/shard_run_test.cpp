// Sharded long runs with the real pot binary on the forged family: three shards of a selfcheck and of a
// reference build run as concurrent processes, as a batch scheduler starts them, and pot merge gives byte
// for byte what one run gives; a missing, duplicated or foreign shard is refused by name.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;
namespace fs = std::filesystem;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// Starts pot once per argument string, all at once, and waits for every one (each under a timeout).
std::vector<test::RunResult> RunConcurrently(const std::vector<std::string>& args) {
  test::TempDir io;
  std::vector<pid_t> pids;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string cmd = "timeout 600 " + std::string(POT_BINARY) + " " + args[i] + " >" +
                            io.File("out" + std::to_string(i)) + " 2>" + io.File("err" + std::to_string(i));
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  std::vector<test::RunResult> results(args.size());
  for (size_t i = 0; i < pids.size(); ++i) {
    int raw = 0;
    ::waitpid(pids[i], &raw, 0);
    results[i].exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    results[i].out = test::Slurp(io.File("out" + std::to_string(i)));
    results[i].err = test::Slurp(io.File("err" + std::to_string(i)));
  }
  return results;
}

// The three shards of a run, args + " --shard I/3", run concurrently; each must succeed.
void RunThreeShards(const std::string& args) {
  std::vector<std::string> shards;
  for (int i = 0; i < 3; ++i) shards.push_back(args + " --shard " + std::to_string(i) + "/3");
  const auto results = RunConcurrently(shards);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << results[i].err;
    EXPECT_NE(results[i].out.find("shard " + std::to_string(i) + "/3"), std::string::npos) << results[i].out;
  }
}

void ExpectRefused(const test::RunResult& r, int code, const std::vector<std::string>& needles) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(r.err.rfind("pot: error: ", 0), 0u) << r.err;
  EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
  for (const auto& needle : needles) EXPECT_NE(r.err.find(needle), std::string::npos) << needle << " in " << r.err;
}

TEST(ShardRun, SelfcheckShardsRunConcurrentlyAndMergeIntoTheSingleRun) {
  test::TempDir dir;
  const std::string common = Member("base") + " --prompts 6 --tokens 8 --seed 5 --threads 1 --quiet";
  const auto single = RunPot("selfcheck " + common + " --json --journal " + dir.File("whole"));
  ASSERT_TRUE(single.exit_code == 0 || single.exit_code == 1) << single.err;
  const auto single_text = RunPot("selfcheck " + common + " --journal " + dir.File("whole"));  // the finished run's text
  ASSERT_EQ(single_text.exit_code, single.exit_code) << single_text.err;

  RunThreeShards("selfcheck " + common + " --journal " + dir.File("shards"));
  std::vector<std::string> shard;
  for (int i = 0; i < 3; ++i) shard.push_back(dir.File("shards/selfcheck.shard-" + std::to_string(i) + "-of-3"));

  const auto merged = RunPot("merge " + shard[2] + " " + shard[0] + " " + shard[1] + " --json -o " + dir.File("merged.jsonl"));
  EXPECT_EQ(merged.exit_code, single.exit_code) << merged.err;
  EXPECT_EQ(merged.out, single.out);
  EXPECT_EQ(test::Slurp(dir.File("merged.jsonl")), test::Slurp(dir.File("whole/selfcheck.jsonl")))
      << "the merged journal is the single run's, byte for byte";
  const auto merged_text = RunPot("merge " + shard[0] + " " + shard[1] + " " + shard[2]);
  EXPECT_EQ(merged_text.exit_code, single.exit_code) << merged_text.err;
  EXPECT_EQ(merged_text.out, single_text.out);

  ExpectRefused(RunPot("merge " + shard[0] + " " + shard[2]), 2, {"shard 1/3 is missing"});
  fs::copy_file(shard[1], dir.File("copy"));
  ExpectRefused(RunPot("merge " + shard[0] + " " + shard[1] + " " + dir.File("copy") + " " + shard[2]), 2,
                {"shard 1/3 is given twice", dir.File("copy")});
  const auto foreign = RunPot("selfcheck " + Member("base-q8_0") +
                              " --prompts 6 --tokens 8 --seed 5 --threads 1 --quiet --shard 1/3 --journal " +
                              dir.File("foreign"));
  ASSERT_EQ(foreign.exit_code, 0) << foreign.err;
  ExpectRefused(RunPot("merge " + shard[0] + " " + dir.File("foreign/selfcheck.shard-1-of-3") + " " + shard[2]), 2,
                {dir.File("foreign/selfcheck.shard-1-of-3"), "model_manifest_root"});
  test::WriteBytes(dir.File("garbage"), "{\"format\":\"pot.shard\",\"version\":1,\"kind\":");
  ExpectRefused(RunPot("merge " + shard[0] + " " + dir.File("garbage") + " " + shard[2]), 3, {dir.File("garbage")});

  // A shard killed after its first record (its second line torn) resumes and ends with the same file.
  const std::string finished = test::Slurp(shard[1]);
  size_t second = finished.find('\n', finished.find('\n') + 1) + 1;
  fs::create_directories(dir.File("resumed"));
  test::WriteBytes(dir.File("resumed/selfcheck.shard-1-of-3"), finished.substr(0, second + 10));
  const auto resumed = RunPot("selfcheck " + common + " --journal " + dir.File("resumed") + " --shard 1/3");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming: 1 of 2 prompts"), std::string::npos) << resumed.err;
  EXPECT_EQ(test::Slurp(dir.File("resumed/selfcheck.shard-1-of-3")), finished);
}

TEST(ShardRun, ReferenceBuildShardsRunConcurrentlyAndMergeIntoTheSingleSignedFile) {
  test::TempDir dir;
  ASSERT_EQ(RunPot("keygen -o " + dir.File("signer")).exit_code, 0);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 16 -o " + dir.File("k.key")).exit_code, 0);
  const std::string common = "reference build " + Member("base") + " --key " + dir.File("k.key") +
                             " -n 6 --tokens 2 --threads 1 --quiet";
  const auto single = RunPot(common + " --sign " + dir.File("signer") + " -o " + dir.File("whole.potref"));
  ASSERT_EQ(single.exit_code, 0) << single.err;

  RunThreeShards(common + " -o " + dir.File("ref.potref"));
  std::vector<std::string> shard;
  for (int i = 0; i < 3; ++i) shard.push_back(dir.File("ref.potref.shard-" + std::to_string(i) + "-of-3"));
  const auto merged = RunPot("merge " + shard[1] + " " + shard[2] + " " + shard[0] + " --sign " + dir.File("signer") +
                             " -o " + dir.File("ref.potref"));
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_EQ(test::Slurp(dir.File("ref.potref")), test::Slurp(dir.File("whole.potref")))
      << "same header, same records, deterministic Ed25519: the same bytes";
  EXPECT_EQ(RunPot("reference info " + dir.File("ref.potref") + " --trust " + dir.File("signer.pub")).exit_code, 0);

  // A finished shard rerun changes nothing.
  const std::string finished = test::Slurp(shard[1]);
  EXPECT_EQ(RunPot(common + " -o " + dir.File("ref.potref") + " --shard 1/3").exit_code, 0);
  EXPECT_EQ(test::Slurp(shard[1]), finished);

  ExpectRefused(RunPot("merge " + shard[0] + " " + shard[1] + " --sign " + dir.File("signer") + " -o " + dir.File("x.potref")),
                2, {"shard 2/3 is missing"});
  ExpectRefused(RunPot("merge " + shard[0] + " " + shard[1] + " " + shard[2] + " -o " + dir.File("x.potref")), 2, {"--sign"});
  ExpectRefused(RunPot(common + " --sign " + dir.File("signer") + " -o " + dir.File("y.potref") + " --shard 0/3"), 2,
                {"give --sign to pot merge"});
  EXPECT_FALSE(fs::exists(dir.File("x.potref")));
}

TEST(ShardRun, MalformedShardValuesAreOneLineUsageErrors) {
  test::TempDir dir;
  const std::string selfcheck = "selfcheck " + Member("base") + " --prompts 6 --tokens 4 --quiet --journal " + dir.File("j");
  for (const std::string bad : {"3/3", "1/0", "x", "-1/3", "1/3/3", "1", "0/3x"}) {
    ExpectRefused(RunPot(selfcheck + " --shard " + bad), 2, {"--shard", "0 <= I < N"});
  }
  ExpectRefused(RunPot(selfcheck + " --shard 7/8"), 2, {"8 shards for 6 items"});
  ExpectRefused(RunPot("selfcheck " + Member("base") + " --prompts 6 --shard 0/2"), 2, {"--journal"});
  ASSERT_EQ(RunPot("challenge commit --family templates -n 16 -o " + dir.File("k.key")).exit_code, 0);
  ExpectRefused(RunPot("reference build " + Member("base") + " --key " + dir.File("k.key") + " -n 2 -o " +
                       dir.File("r.potref") + " --shard 2/3 --quiet"),
                2, {"3 shards for 2 items"});
  EXPECT_FALSE(fs::exists(dir.File("j"))) << "a refused run writes nothing";
}

}  // namespace
}  // namespace pot
