// The doors around pot's outputs and run directories (issue 13, points 2 and 3), tried with the real pot
// binary as a hostile neighbour would: planted links, outputs that are inputs, empty names, FIFOs,
// readable keys, and two runs in one directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "env/env.h"
#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;
namespace fs = std::filesystem;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// Runs pot in directory cwd, under a timeout (so a hang fails instead of stalling the suite).
test::RunResult RunPotIn(const std::string& cwd, const std::string& args, int timeout_seconds = 300) {
  test::TempDir io;
  const std::string cmd = "cd '" + cwd + "' && timeout " + std::to_string(timeout_seconds) + " " + POT_BINARY + " " +
                          args + " >" + io.File("out") + " 2>" + io.File("err");
  const int raw = std::system(cmd.c_str());
  test::RunResult r;
  r.exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = test::Slurp(io.File("out"));
  r.err = test::Slurp(io.File("err"));
  return r;
}

void ExpectRefused(const test::RunResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(r.err.rfind("pot: error: ", 0), 0u) << r.err;
  EXPECT_EQ(test::CountLines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

unsigned ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  EXPECT_TRUE(S_ISREG(st.st_mode)) << path << " is not a plain file";
  return st.st_mode & 0777;
}

// Every entry under dir (recursively) with its bytes: a directory "changed nothing" when this is equal.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    files[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? test::Slurp(e.path().string()) : "<dir>";
  }
  return files;
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// A link at the old predictable temporary name (OUT.tmp) used to receive the secret, world-readable.
TEST(SafeOutput, SecretsNeverGoThroughAPlantedTempLink) {
  test::TempDir dir, elsewhere;
  for (const char* name : {"k.tmp", "k.pub.tmp", "c.key.tmp"}) {
    ASSERT_EQ(::symlink(elsewhere.File(name).c_str(), dir.File(name).c_str()), 0);
  }
  auto keygen = RunPot("keygen -o " + dir.File("k"));
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  auto commit = RunPot("challenge commit --family templates -n 8 -o " + dir.File("c.key"));
  ASSERT_EQ(commit.exit_code, 0) << commit.err;
  EXPECT_TRUE(fs::is_empty(elsewhere.path())) << "nothing written through a link";
  EXPECT_EQ(ModeOf(dir.File("k")), 0600u);
  EXPECT_EQ(ModeOf(dir.File("c.key")), 0600u);
  EXPECT_NE(test::Slurp(dir.File("k")).find("PRIVATE KEY"), std::string::npos);
  EXPECT_NE(test::Slurp(dir.File("k.pub")).find("PUBLIC KEY"), std::string::npos);
  EXPECT_EQ(Names(dir.path()), (std::set<std::string>{"k", "k.pub", "c.key", "k.tmp", "k.pub.tmp", "c.key.tmp"}))
      << "no temporary file left behind";
}

// A link at the output itself is an existing output: refused; --force replaces the link, not its target.
TEST(SafeOutput, ALinkAtTheOutputIsRefusedAndForceReplacesTheLinkOnly) {
  test::TempDir dir, elsewhere;
  const std::string bait = elsewhere.File("bait");
  ASSERT_EQ(::symlink(bait.c_str(), dir.File("k").c_str()), 0);
  ExpectRefused(RunPot("keygen -o " + dir.File("k")), 2, "exists");
  EXPECT_FALSE(fs::exists(dir.File("k.pub")));
  auto forced = RunPot("keygen --force -o " + dir.File("k"));
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_FALSE(fs::exists(bait));
  EXPECT_EQ(ModeOf(dir.File("k")), 0600u);
}

TEST(SafeOutput, AnExistingOutputIsRefusedUnlessForced) {
  test::TempDir dir;
  const std::string manifest = dir.File("m.json"), key = dir.File("k");
  ASSERT_EQ(RunPot("hash --quiet " + Member("base") + " -o " + manifest).exit_code, 0);
  test::WriteBytes(manifest, "mine");
  ExpectRefused(RunPot("hash --quiet " + Member("base") + " -o " + manifest), 2, "--force");
  EXPECT_EQ(test::Slurp(manifest), "mine");
  ASSERT_EQ(RunPot("hash --quiet --force " + Member("base") + " -o " + manifest).exit_code, 0);
  EXPECT_NE(test::Slurp(manifest), "mine");

  ASSERT_EQ(RunPot("keygen -o " + key).exit_code, 0);
  const std::string first = test::Slurp(key);
  ExpectRefused(RunPot("keygen -o " + key), 2, "--force");
  EXPECT_EQ(test::Slurp(key), first);
  ASSERT_EQ(RunPot("keygen --force -o " + key).exit_code, 0);
  EXPECT_NE(test::Slurp(key), first);
  EXPECT_EQ(ModeOf(key), 0600u);

  ASSERT_EQ(RunPot("challenge commit --family templates -n 8 -o " + dir.File("c.key")).exit_code, 0);
  ExpectRefused(RunPot("challenge commit --family templates -n 8 -o " + dir.File("c.key")), 2, "--force");
  EXPECT_EQ(RunPot("challenge commit --force --family templates -n 8 -o " + dir.File("c.key")).exit_code, 0);
}

// pot hash M -o M used to replace the model with its manifest, pot report B -o B the signed bundle.
TEST(SafeOutput, AnOutputThatIsAnInputIsRefusedEvenWithForce) {
  test::TempDir dir;
  const std::string model = dir.File("M.gguf"), bundle = dir.File("B.json");
  fs::copy_file(Member("base"), model);
  ASSERT_EQ(::symlink(model.c_str(), dir.File("alias.json").c_str()), 0);
  const std::string original = test::Slurp(model);
  for (const std::string& out : {model, dir.File("alias.json"), dir.path() + "/./M.gguf"}) {
    ExpectRefused(RunPot("hash --quiet " + model + " -o " + out), 2, "is the input");
    ExpectRefused(RunPot("hash --quiet --force " + model + " -o " + out), 2, "is the input");
    ExpectRefused(RunPot("hash --quiet --force " + model + " --statement " + out), 2, "is the input");
  }
  EXPECT_TRUE(test::Slurp(model) == original) << "the model is untouched";
  test::WriteBytes(bundle, "{\"signed\": \"bundle\"}");
  ExpectRefused(RunPot("report " + bundle + " -o " + bundle), 2, "is the input");
  ExpectRefused(RunPot("report --force " + bundle + " -o " + bundle), 2, "is the input");
  ExpectRefused(RunPot("report --force " + bundle + " --models " + Member("base") + "," + model + " -o " + model), 2,
                "is the input");
  ExpectRefused(RunPot("reference build " + model + " --key " + bundle + " --sign " + bundle + " -n 1 -o " + bundle), 2,
                "is the input");
  EXPECT_EQ(test::Slurp(bundle), "{\"signed\": \"bundle\"}");
}

// -o "" used to leave a hidden ./.tmp holding a private key.
TEST(SafeOutput, AnEmptyOutputNameIsRefusedBeforeAnyWork) {
  test::TempDir cwd;
  const std::string ref = Member("base"), cand = Member("base-copy");
  for (const std::string& args : std::vector<std::string>{
           "keygen -o ''", "challenge commit --family templates -n 8 -o ''", "hash --quiet " + ref + " -o ''",
        "hash --quiet " + ref + " --statement ''", "report " + ref + " -o ''",
        "verify --quiet --ref " + ref + " --cand " + cand + " -o ''", "selfcheck " + ref + " --journal ''",
        "forge ''"}) {
    auto r = RunPotIn(cwd.path(), args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(test::CountLines(r.err), 1) << args << "\n" << r.err;
  }
  EXPECT_TRUE(fs::is_empty(cwd.path())) << "nothing created";
}

// Opening a FIFO for reading used to wait forever for a writer.
TEST(SafeOutput, AFifoInputIsRefusedAtOnce) {
  test::TempDir dir;
  const std::string fifo = dir.File("model.gguf");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& args : {"info " + fifo, "hash --quiet " + fifo, "challenge reveal " + fifo,
                                 "verify --quiet --ref " + Member("base") + " --cand " + fifo}) {
    auto r = RunPotIn(dir.path(), args, 20);
    ExpectRefused(r, 3, "not a regular file");
  }
  EXPECT_TRUE(fs::is_fifo(fifo));
}

// As ssh's "UNPROTECTED PRIVATE KEY FILE": pot warns (and still reads the key).
TEST(SafeOutput, AKeyOthersCanReadIsWarnedAbout) {
  test::TempDir dir;
  const std::string signer = dir.File("signer"), key = dir.File("c.key");
  ASSERT_EQ(RunPot("keygen -o " + signer).exit_code, 0);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 8 -o " + key).exit_code, 0);
  auto quiet = RunPot("challenge reveal " + key);
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "") << "a 0600 key is not warned about";
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  ASSERT_EQ(::chmod(signer.c_str(), 0640), 0);
  auto reveal = RunPot("challenge reveal " + key);
  EXPECT_EQ(reveal.exit_code, 0) << reveal.err;
  EXPECT_EQ(test::CountLines(reveal.err), 1) << reveal.err;
  EXPECT_NE(reveal.err.find("UNPROTECTED PRIVATE KEY FILE"), std::string::npos) << reveal.err;
  EXPECT_NE(reveal.err.find("0644"), std::string::npos) << reveal.err;
  // The signer is read before -n is checked against the key's n_max: a warning, then the error.
  auto build = RunPot("reference build " + Member("base") + " --key " + key + " --sign " + signer + " -n 9 -o " +
                      dir.File("r.potref"));
  EXPECT_EQ(build.exit_code, 2) << build.err;
  EXPECT_NE(build.err.find("permissions 0640 for '" + signer + "'"), std::string::npos) << build.err;
}

// verify's run directory (docs/formats.md, "Verify run directory").
class RunDir : public ::testing::Test {
 protected:
  std::string Verify(const std::string& extra) const {
    return "verify --quiet --mode quick --ref " + Member("base") + " --cand " + Member("base-copy") + " " + extra;
  }
  test::TempDir dir_;
};

// The lock is held by this test process: the run is refused naming it, before writing anything.
TEST_F(RunDir, ALockedRunDirectoryIsRefusedNamingItsHolder) {
  const std::string run = dir_.File("run");
  fs::create_directory(run);
  std::unique_ptr<FileLock> lock;
  ASSERT_TRUE(Env::Default()->LockFile(run + "/run.lock", &lock).ok());
  ExpectRefused(RunPot(Verify("-o " + run)), 2, "in use by pid " + std::to_string(::getpid()));
  EXPECT_EQ(Names(run), std::set<std::string>{"run.lock"});
}

// Two runs into one directory used to both print a verdict over a transcript holding every record twice.
TEST_F(RunDir, OfTwoConcurrentRunsOneProceedsAndTheOtherIsRefused) {
  const std::string run = dir_.File("run");
  const std::string one = std::string(POT_BINARY) + " " + Verify("-o " + run);
  const std::string both = "(" + one + " >" + dir_.File("out1") + " 2>" + dir_.File("err1") + "; echo $? >" +
                           dir_.File("rc1") + ") & (" + one + " >" + dir_.File("out2") + " 2>" + dir_.File("err2") +
                           "; echo $? >" + dir_.File("rc2") + ") & wait";
  ASSERT_EQ(std::system(("bash -c '" + both + "'").c_str()), 0);
  std::vector<int> codes = {std::stoi(test::Slurp(dir_.File("rc1"))), std::stoi(test::Slurp(dir_.File("rc2")))};
  const std::string errs = test::Slurp(dir_.File("err1")) + test::Slurp(dir_.File("err2"));
  ASSERT_TRUE(codes[0] == 2 || codes[1] == 2) << errs;
  const int verdict = codes[0] == 2 ? codes[1] : codes[0];
  EXPECT_TRUE(verdict == 0 || verdict == 1 || verdict == 5) << "one run proceeds to a verdict: " << errs;
  EXPECT_NE(errs.find("in use by pid "), std::string::npos) << errs;
  // The transcript is one run's: records 0..n-1 once each, then the outcome, and it resumes cleanly.
  const std::string transcript = test::Slurp(run + "/transcript.jsonl");
  std::vector<nlohmann::json> lines;
  size_t begin = 0;
  for (size_t end; (end = transcript.find('\n', begin)) != std::string::npos; begin = end + 1) {
    lines.push_back(nlohmann::json::parse(transcript.substr(begin, end - begin)));
  }
  ASSERT_GE(lines.size(), 3u);
  for (size_t i = 1; i + 1 < lines.size(); ++i) EXPECT_EQ(lines[i]["index"], i - 1);
  EXPECT_EQ(lines.back()["type"], "outcome");
  auto again = RunPot(Verify("-o " + run));
  EXPECT_EQ(again.exit_code, verdict) << again.err;
  EXPECT_EQ(test::Slurp(run + "/transcript.jsonl"), transcript);
  EXPECT_EQ(Names(run), (std::set<std::string>{"run.key", "transcript.jsonl", "result.json"})) << "no lock left";
}

// Default names used to be pot-verify-TIME only: two runs started in one second shared a directory.
TEST_F(RunDir, DefaultNamesAreUniqueWithinOneSecond) {
  const std::string one = "cd " + dir_.path() + " && " + POT_BINARY + " " + Verify("--n-max 2") + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(("bash -c '(" + one + ") & (" + one + ") & wait'").c_str()), 0);
  const auto names = Names(dir_.path());
  ASSERT_EQ(names.size(), 2u);
  std::set<std::string> commitments;
  for (const auto& name : names) {
    EXPECT_EQ(name.rfind("pot-verify-", 0), 0u) << name;
    const std::string transcript = test::Slurp(dir_.File(name + "/transcript.jsonl"));
    const auto header = nlohmann::json::parse(transcript.substr(0, transcript.find('\n')));
    commitments.insert(header["challenges"]["commitment"].get<std::string>());
    EXPECT_TRUE(fs::exists(dir_.File(name + "/run.key")));
  }
  EXPECT_EQ(commitments.size(), 2u) << "each run has its own key";
}

// Bad keys used to leave empty run directories behind.
TEST_F(RunDir, ABadInputLeavesNoDirectory) {
  test::WriteBytes(dir_.File("bogus"), "not a key\n");
  ASSERT_EQ(::chmod(dir_.File("bogus").c_str(), 0600), 0);
  ExpectRefused(RunPotIn(dir_.path(), Verify("--key bogus")), 3, "not a pot key file");
  ExpectRefused(RunPotIn(dir_.path(), Verify("--sign bogus")), 3, "not a PEM private key");
  ExpectRefused(RunPotIn(dir_.path(), Verify("--key bogus -o run")), 3, "not a pot key file");
  ExpectRefused(RunPotIn(dir_.path(), Verify("--family corpus --corpus absent.txt -o run")), 3, "absent.txt");
  EXPECT_EQ(Names(dir_.path()), std::set<std::string>{"bogus"});
}

// A refused resume used to write a fresh run.key although nothing was to change.
TEST_F(RunDir, ARefusedResumeChangesNothing) {
  const std::string run = dir_.File("run");
  ASSERT_EQ(RunPot("challenge commit --family templates -n 64 -o " + dir_.File("k1")).exit_code, 0);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 64 -o " + dir_.File("k2")).exit_code, 0);
  auto first = RunPot(Verify("--n-max 2 --key " + dir_.File("k1") + " -o " + run));
  ASSERT_TRUE(first.exit_code == 1 || first.exit_code == 5) << first.err;
  const auto before = Snapshot(run);
  ExpectRefused(RunPot(Verify("--n-max 2 -o " + run)), 2, "was made with a key that is not in");
  EXPECT_EQ(Snapshot(run), before);
  ExpectRefused(RunPot(Verify("--n-max 2 --key " + dir_.File("k2") + " -o " + run)), 2, "refusing to resume");
  EXPECT_EQ(Snapshot(run), before);
  ExpectRefused(RunPot(Verify("--n-max 3 --key " + dir_.File("k1") + " -o " + run)), 2, "refusing to resume");
  EXPECT_EQ(Snapshot(run), before);
}

// A run.key no pot run made in the directory used to be adopted silently: its owner knew every challenge.
TEST_F(RunDir, AStrayRunKeyIsNeverAdopted) {
  const std::string run = dir_.File("run"), other = dir_.File("other");
  fs::create_directory(run);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 64 -o " + run + "/run.key").exit_code, 0);
  const auto planted = Snapshot(run);
  ExpectRefused(RunPot(Verify("--n-max 2 -o " + run)), 2, "was not made by a pot run");
  EXPECT_EQ(Snapshot(run), planted);
  // A run's own key is adopted: a rerun resumes with it ...
  auto made = RunPot(Verify("--n-max 2 -o " + other));
  ASSERT_TRUE(made.exit_code == 1 || made.exit_code == 5) << made.err;
  auto resumed = RunPot(Verify("--n-max 2 -o " + other));
  EXPECT_EQ(resumed.exit_code, made.exit_code) << resumed.err;
  // ... but not a key swapped in beside its transcript.
  fs::copy_file(run + "/run.key", other + "/run.key", fs::copy_options::overwrite_existing);
  const auto swapped = Snapshot(other);
  ExpectRefused(RunPot(Verify("--n-max 2 -o " + other)), 2, "is not the key");
  EXPECT_EQ(Snapshot(other), swapped);
}

}  // namespace
}  // namespace pot
