// The command-line conventions (docs/cli.md, "Conventions"), on the real pot binary: -h/-V/help CMD, --,
// --output, glued short values, did-you-mean, stray positionals, hex in either case, non-regular inputs,
// JSON error objects, sha256sum-style check lines and --status, and SIGINT/SIGTERM with resume.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;
using json = nlohmann::json;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

bool Contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(Conventions, HelpVersionAndHelpCommand) {
  for (const char* flag : {"-h", "--help", "help"}) {
    auto r = RunPot(flag);
    EXPECT_EQ(r.exit_code, 0) << flag;
    EXPECT_TRUE(Contains(r.out, "exit codes:")) << flag << r.out;
    EXPECT_TRUE(Contains(r.out, "  5        UNDECIDED")) << r.out;
    EXPECT_TRUE(Contains(r.out, "130, 143")) << r.out;
  }
  for (const char* flag : {"-V", "--version"}) {
    auto r = RunPot(flag);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out.rfind("pot 0.", 0), 0u) << r.out;
  }
  const auto help = RunPot("help verify");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  EXPECT_EQ(help.out, RunPot("verify --help").out);
  EXPECT_EQ(help.out, RunPot("verify -h").out);
  // Real metavars, defaults and the presets' values.
  EXPECT_TRUE(Contains(help.out, "-o, --output RUNDIR")) << help.out;
  EXPECT_TRUE(Contains(help.out, "--ref A.gguf")) << help.out;
  EXPECT_TRUE(Contains(help.out, "--n-max N")) << help.out;
  EXPECT_TRUE(Contains(help.out, "quick: alpha 0.05, beta 0.05, epsilon 0.2, n_max 64")) << help.out;
  EXPECT_TRUE(Contains(help.out, "(default: audit)")) << help.out;
  EXPECT_TRUE(Contains(help.out, "exit codes:")) << help.out;
  EXPECT_TRUE(Contains(RunPot("help audit").out, "--trust KEY.pub")) << RunPot("help audit").out;
  EXPECT_TRUE(Contains(RunPot("help challenge").out, "--corpus FILE"));
  EXPECT_FALSE(Contains(help.out, " VALUE")) << help.out;

  auto unknown = RunPot("help verfy");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(Contains(unknown.err, "did you mean 'verify'?")) << unknown.err;
}

TEST(Conventions, DidYouMeanAndStrayPositionals) {
  auto r = RunPot("info --jsn x.gguf");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "unknown option --jsn; did you mean --json?")) << r.err;
  r = RunPot("selfcheck --thread 1 x.gguf");
  EXPECT_TRUE(Contains(r.err, "did you mean --threads?")) << r.err;
  r = RunPot("info --frobnicate x.gguf");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(Contains(r.err, "did you mean")) << r.err;
  r = RunPot("verfy --ref a");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "did you mean 'verify'?")) << r.err;

  test::TempDir dir;
  // --o is gone: -o and --output are the one option.
  r = RunPot("keygen --o " + dir.File("k"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "did you mean --output?")) << r.err;
  for (const std::string& cmd : std::vector<std::string>{"keygen -o " + dir.File("k") + " stray", "info a.gguf b.gguf", "diff a b c",
                                 "verify --ref a.gguf --cand b.gguf stray", "audit b.json stray", "hash m.gguf stray"}) {
    r = RunPot(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, "unexpected argument")) << cmd << ": " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.File("k")));
}

TEST(Conventions, OutputGluedValuesAndDoubleDash) {
  test::TempDir dir;
  // -n3 is -n 3, -oFILE is -o FILE, --output is -o.
  auto r = RunPot("challenge commit --family templates -n3 --output " + dir.File("a.key"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunPot("challenge commit --family templates -n 5 -o" + dir.File("b.key"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(RunPot("challenge list --json --key " + dir.File("a.key")).out)["n"], 3);
  EXPECT_EQ(json::parse(RunPot("challenge list --json --key " + dir.File("b.key")).out)["n"], 5);
  EXPECT_EQ(json::parse(RunPot("challenge list --json -n2 --key " + dir.File("b.key")).out)["n"], 2);
  EXPECT_EQ(RunPot("challenge list --json -n --key " + dir.File("b.key")).exit_code, 2);  // -n takes "--key"

  // After --, a word starting with '-' is a positional: a file named -m.gguf.
  std::filesystem::create_symlink(Member("base"), dir.File("-m.gguf"));
  const std::string in_dir = "cd " + dir.path() + " && ";
  r = RunPot("info --json -- -m.gguf", in_dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["architecture"], "llama");
  r = RunPot("info -m.gguf", in_dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "unknown option -m")) << r.err;
  r = RunPot("info -- --json", in_dir);  // not an option after --: a file that does not exist
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

TEST(Conventions, HexIsCaseInsensitiveAndMalformedHexIsUsage) {
  test::TempDir dir;
  const std::string key = dir.File("run.key");
  auto c = RunPot("challenge commit --json --family templates -n 4 -o " + key);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const std::string commitment = json::parse(c.out)["commitment"];
  const std::string key_hex = json::parse(RunPot("challenge reveal " + key).out)["key_hex"];

  auto r = RunPot("challenge verify --commitment " + Upper(commitment) + " --key " + key);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, key + ": OK\n");
  r = RunPot("challenge verify --commitment " + Upper(commitment) + " --key-hex " + Upper(key_hex) +
             " --family templates -n 4");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "commitment: OK\n");
  std::string wrong = commitment;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  r = RunPot("challenge verify --commitment " + wrong + " --key " + key);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.rfind(key + ": FAILED", 0), 0u) << r.out;
  // --status: nothing on stdout, the exit code alone.
  r = RunPot("challenge verify --status --commitment " + wrong + " --key " + key);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  r = RunPot("challenge verify --status --commitment " + commitment + " --key " + key);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  for (const std::string& bad : {std::string("xyz"), commitment.substr(2), commitment + "00", "g" + commitment.substr(1)}) {
    r = RunPot("challenge verify --commitment " + bad + " --key " + key);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, "hex digits")) << r.err;
  }
  EXPECT_EQ(RunPot("challenge verify --commitment " + commitment + " --key-hex 12zz --family templates -n 4").exit_code, 2);
  EXPECT_EQ(RunPot("challenge verify --commitment " + commitment + " --key-hex " + key_hex + " --family templates -n 0").exit_code, 2);
}

TEST(Conventions, CheckLinesAndStatusForHashAndProof) {
  test::TempDir dir;
  const std::string manifest = dir.File("base.manifest.json");
  ASSERT_EQ(RunPot("hash --quiet " + Member("base") + " --output " + manifest).exit_code, 0);
  auto r = RunPot("hash --quiet --check " + manifest + " " + Member("base"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Member("base") + ": OK\n");
  r = RunPot("hash --quiet --check " + manifest + " " + Member("finetune"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.out, Member("finetune") + ": FAILED\n")) << r.out;
  r = RunPot("hash --quiet --status --check " + manifest + " " + Member("finetune"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(RunPot("hash --quiet --status --check " + manifest + " " + Member("base")).exit_code, 0);

  const json m = json::parse(test::Slurp(manifest));
  const std::string root = m["root"], tensor = m["tensors"][0]["name"];
  const std::string proof = dir.File("proof.json");
  r = RunPot("proof tensor " + manifest + " " + tensor);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::WriteBytes(proof, r.out);
  r = RunPot("proof verify " + proof + " --root " + Upper(root));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind(proof + ": OK (tensor " + tensor, 0), 0u) << r.out;
  EXPECT_FALSE(Contains(r.out, "only self-consistent")) << r.out;
  r = RunPot("proof verify " + proof);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "only self-consistent")) << r.out;
  std::string other = root;
  other[0] = other[0] == '0' ? '1' : '0';
  r = RunPot("proof verify " + proof + " --root " + other);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.rfind(proof + ": FAILED (the proof is for root " + root, 0), 0u) << r.out;
  r = RunPot("proof verify --status " + proof + " --root " + other);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  r = RunPot("proof verify --json " + proof + " --root " + root);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(json::parse(r.out)["ok"], true);
  EXPECT_EQ(RunPot("proof verify " + proof + " --root nothex").exit_code, 2);
}

TEST(Conventions, NonRegularInputsAreBadInput) {
  test::TempDir dir;
  const std::string fifo = dir.File("fifo.gguf");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {dir.path(), fifo}) {
    // Refused at once (a FIFO is never opened for reading, which would block), exit 3.
    for (const std::string& cmd : {"info " + path, "hash --quiet " + path, "proof verify " + path,
                                   "challenge reveal " + path, "diff --quiet " + path + " " + Member("base")}) {
      auto r = RunPot(cmd);
      EXPECT_EQ(r.exit_code, 3) << cmd << ": " << r.err;
      EXPECT_EQ(test::CountLines(r.err), 1) << cmd << ": " << r.err;
    }
  }
}

TEST(Conventions, NMaxZeroIsRefused) {
  auto r = RunPot("verify --ref " + Member("base") + " --cand " + Member("base-copy") + " --n-max 0 --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "--n-max")) << r.err;
}

TEST(Conventions, JsonErrorObject) {
  test::TempDir dir;
  auto r = RunPot("info --json " + dir.File("missing.gguf"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err.rfind("pot: error: ", 0), 0u) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["meaning"], "bad input");
  EXPECT_TRUE(Contains(j["error"], "missing.gguf")) << j;
  r = RunPot("info --json --bogus " + dir.File("missing.gguf"));  // a command line that does not parse
  EXPECT_EQ(r.exit_code, 2);
  j = json::parse(r.out);
  EXPECT_EQ(j["exit_code"], 2);
  EXPECT_EQ(j["meaning"], "usage");
  r = RunPot("info " + dir.File("missing.gguf"));  // without --json, nothing on stdout
  EXPECT_EQ(r.out, "");
}

TEST(Conventions, JsonOnCommandsThatPrintAResult) {
  test::TempDir dir;
  auto keygen = RunPot("keygen --json -o " + dir.File("signer"));
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  EXPECT_EQ(json::parse(keygen.out)["key_id"].get<std::string>().size(), 64u);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 2 -o " + dir.File("k.key")).exit_code, 0);
  auto build = RunPot("reference build " + Member("base") + " --key " + dir.File("k.key") + " --sign " + dir.File("signer") +
                      " -n 2 --threads 1 --quiet --json -o " + dir.File("ref.potref"));
  ASSERT_EQ(build.exit_code, 0) << build.err;
  const json j = json::parse(build.out);
  EXPECT_EQ(j["challenges"], 2);
  EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u);
}

// A pot process started in the background, its streams in files, for signals.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::string& err_path) {
    std::vector<char*> argv = {const_cast<char*>(POT_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(null, 1);
      ::dup2(err, 2);
      ::execv(POT_BINARY, argv.data());
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Sends signo and returns the exit code (128 + a signal that killed it).
  int Stop(int signo) {
    ::kill(pid_, signo);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

// Waits until the file holds at least n lines (at most two minutes).
bool WaitForLines(const std::string& path, int n) {
  for (int i = 0; i < 1200; ++i) {
    if (test::CountLines(test::Slurp(path)) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

TEST(Conventions, SigintStopsSelfcheckBetweenPromptsAndTheRerunResumes) {
  test::TempDir dir;
  const std::string common = Member("base") + " --prompts 60 --tokens 16 --seed 3 --threads 1 --quiet --json --journal ";
  const std::string journal = dir.File("stopped/selfcheck.jsonl");
  int code = 0;
  {
    Background run(Words("selfcheck " + common + dir.File("stopped")), dir.File("err"));
    ASSERT_TRUE(WaitForLines(journal, 3)) << test::Slurp(dir.File("err"));  // the header and two prompts
    code = run.Stop(SIGINT);
  }
  const std::string err = test::Slurp(dir.File("err"));
  EXPECT_EQ(code, 130) << err;
  const int done = test::CountLines(test::Slurp(journal)) - 1;
  ASSERT_LT(done, 60) << "the run finished before the signal";
  EXPECT_TRUE(Contains(err, "interrupted after " + std::to_string(done) + " of 60 prompts; rerun the same command to resume"))
      << err;
  EXPECT_EQ(test::CountLines(err), 1) << err;

  auto resumed = RunPot("selfcheck " + common + dir.File("stopped"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(Contains(resumed.err, "resuming: " + std::to_string(done) + " of 60 prompts already done")) << resumed.err;
  auto whole = RunPot("selfcheck " + common + dir.File("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_EQ(resumed.out, whole.out);
  EXPECT_EQ(test::Slurp(journal), test::Slurp(dir.File("whole/selfcheck.jsonl")));
}

TEST(Conventions, SigtermStopsVerifyBetweenChallengesAndTheRerunResumes) {
  test::TempDir dir;
  ASSERT_EQ(RunPot("keygen -o " + dir.File("signer")).exit_code, 0);
  // strict on two copies of one model: SAME takes many challenges, so the signal lands mid-run.
  const std::string args = "verify --ref " + Member("base") + " --cand " + Member("base-copy") +
                           " --mode strict --threads 1 --quiet --json --sign " + dir.File("signer") + " -o " + dir.File("run");
  const std::string transcript = dir.File("run/transcript.jsonl");
  int code = 0;
  {
    Background run(Words(args), dir.File("err"));
    ASSERT_TRUE(WaitForLines(transcript, 3)) << test::Slurp(dir.File("err"));
    code = run.Stop(SIGTERM);
  }
  const std::string err = test::Slurp(dir.File("err"));
  EXPECT_EQ(code, 143) << err;
  const std::string stopped = test::Slurp(transcript);
  const int done = test::CountLines(stopped) - 1;
  EXPECT_TRUE(Contains(err, "interrupted after " + std::to_string(done) + " of 512 challenges; rerun the same command to resume"))
      << err;
  auto resumed = RunPot(args);
  EXPECT_TRUE(Contains(resumed.err, "resuming: " + std::to_string(done) + " of 512 challenges already done")) << resumed.err;
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(json::parse(resumed.out)["decision"], "SAME");
  EXPECT_EQ(test::Slurp(transcript).rfind(stopped, 0), 0u) << "the records written before the signal stay as they were";

  // audit --status: the exit code alone.
  auto audit = RunPot("audit --status " + dir.File("run/bundle.json") + " --trust " + dir.File("signer.pub"));
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_EQ(audit.out, "");
  audit = RunPot("audit --status " + dir.File("run/bundle.json"));  // no trusted signer: the audit fails
  EXPECT_EQ(audit.exit_code, 1) << audit.err;
  EXPECT_EQ(audit.out, "");
}

TEST(Conventions, SigintStopsReferenceBuildBetweenChallengesAndTheRerunResumes) {
  test::TempDir dir;
  ASSERT_EQ(RunPot("keygen -o " + dir.File("signer")).exit_code, 0);
  ASSERT_EQ(RunPot("challenge commit --family templates -n 48 -o " + dir.File("k.key")).exit_code, 0);
  const std::string common = "reference build " + Member("base") + " --key " + dir.File("k.key") + " --sign " +
                             dir.File("signer") + " -n 48 --tokens 16 --threads 1 --quiet -o ";
  const std::string journal = dir.File("stopped.potref.journal");
  int code = 0;
  {
    Background run(Words(common + dir.File("stopped.potref")), dir.File("err"));
    ASSERT_TRUE(WaitForLines(journal, 3)) << test::Slurp(dir.File("err"));
    code = run.Stop(SIGINT);
  }
  const std::string err = test::Slurp(dir.File("err"));
  EXPECT_EQ(code, 130) << err;
  const int done = test::CountLines(test::Slurp(journal)) - 1;
  EXPECT_TRUE(Contains(err, "interrupted after " + std::to_string(done) + " of 48 challenges; rerun the same command to resume"))
      << err;
  auto resumed = RunPot(common + dir.File("stopped.potref"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(Contains(resumed.err, "resuming: " + std::to_string(done) + " of 48 challenges already done")) << resumed.err;
  ASSERT_EQ(RunPot(common + dir.File("whole.potref")).exit_code, 0);
  EXPECT_EQ(test::Slurp(dir.File("stopped.potref")), test::Slurp(dir.File("whole.potref")));
}

}  // namespace
}  // namespace pot
