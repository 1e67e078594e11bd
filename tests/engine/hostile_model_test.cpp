// Hostile model headers and thread counts against the real pot binary: a one-value change to a forged
// model that llama.cpp would abort on (exit 134, a gdb backtrace on stdout) is refused by pot's own checks,
// with one line and exit 3, in every command that loads a model; a huge --threads is a usage error.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

// Expects what a refused input prints: on stdout nothing at all, or with --json the one JSON error object
// (so a --json reader sees no half object and no backtrace), and on stderr exactly one "pot: error: ..."
// line, the last, naming needle, with code. Lines before it are the command's own (verify names its
// commitment first).
void ExpectOneLineRefusal(const test::RunResult& r, int code, const std::string& needle, const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << what << "\n" << r.err;
  if (what.find("--json") == std::string::npos) {
    EXPECT_EQ(r.out, "") << what;
  } else {
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << what << "\n" << r.out;
    EXPECT_EQ(j.value("exit_code", -1), code) << what << "\n" << r.out;
    EXPECT_NE(j.value("error", "").find(needle), std::string::npos) << what << "\n" << r.out;
  }
  const size_t error_at = r.err.find("pot: error: ");
  ASSERT_NE(error_at, std::string::npos) << what << "\n" << r.err;
  EXPECT_TRUE(error_at == 0 || r.err[error_at - 1] == '\n') << what << "\n" << r.err;
  const std::string line = r.err.substr(error_at);
  EXPECT_EQ(test::CountLines(line), 1) << what << ": more after the error line\n" << r.err;
  EXPECT_EQ(r.err.find("pot: error: ", error_at + 1), std::string::npos) << what << "\n" << r.err;
  EXPECT_NE(line.find(needle), std::string::npos) << what << "\n" << r.err;
}

// A copy of base.gguf with the value of key (a type-tag-prefixed scalar in the metadata) replaced by
// value, which must have the same size and type tag. The value's place is found with pot's reader: the
// key's bytes, then its u32 type tag, then the value.
void WritePatchedBase(const std::string& path, const std::string& key, uint32_t type_tag, const std::string& value) {
  std::filesystem::copy_file(Member("base"), path);
  gguf::File f;
  ASSERT_TRUE(gguf::Read(Env::Default(), path, &f).ok());
  std::ifstream in(path, std::ios::binary);
  std::string header(f.kv_end - f.kv_begin, '\0');
  in.seekg(static_cast<std::streamoff>(f.kv_begin));
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  std::string needle(8, '\0');
  const uint64_t len = key.size();
  std::memcpy(needle.data(), &len, 8);
  needle += key;
  const size_t at = header.find(needle);
  ASSERT_NE(at, std::string::npos) << key;
  uint32_t tag = 0;
  std::memcpy(&tag, header.data() + at + needle.size(), 4);
  ASSERT_EQ(tag, type_tag) << key;
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  out.seekp(static_cast<std::streamoff>(f.kv_begin + at + needle.size() + 4));
  out.write(value.data(), static_cast<std::streamsize>(value.size()));
}

std::string F32Bytes(float v) {
  std::string s(4, '\0');
  std::memcpy(s.data(), &v, 4);
  return s;
}
std::string U32Bytes(uint32_t v) {
  std::string s(4, '\0');
  std::memcpy(s.data(), &v, 4);
  return s;
}

struct Hostile {
  const char* name;
  const char* key;
};
constexpr Hostile kHostile[] = {
    {"eps-negative", "llama.attention.layer_norm_rms_epsilon"},
    {"eps-nan", "llama.attention.layer_norm_rms_epsilon"},
    {"no-layers", "llama.block_count"},
};

class HostileModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    WritePatchedBase(Bad("eps-negative"), kHostile[0].key, 6, F32Bytes(-1));
    WritePatchedBase(Bad("eps-nan"), kHostile[1].key, 6, F32Bytes(std::numeric_limits<float>::quiet_NaN()));
    WritePatchedBase(Bad("no-layers"), kHostile[2].key, 4, U32Bytes(0));
    ASSERT_EQ(RunPot("keygen -o " + dir_->File("signer")).exit_code, 0);
    ASSERT_EQ(RunPot("challenge commit --family templates -n 16 -o " + dir_->File("k.key")).exit_code, 0);
    // A genuine signed bundle (base against finetune) for audit --rescore to recompute with a bad model.
    auto r = RunPot("verify --quiet --ref " + Member("base") + " --cand " + Member("finetune") + " --sign " +
                    dir_->File("signer") + " -o " + dir_->File("run"));
    ASSERT_EQ(r.exit_code, 1) << r.err;  // DIFFERENT
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Bad(const std::string& name) { return dir_->File(name + ".gguf"); }

  static test::TempDir* dir_;
};
test::TempDir* HostileModelTest::dir_ = nullptr;

TEST_F(HostileModelTest, VerifyRefusesTheBadHeaderInOneLine) {
  for (const auto& h : kHostile) {
    for (const char* json : {"", " --json"}) {
      auto r = RunPot("verify --quiet" + std::string(json) + " --ref " + Bad(h.name) + " --cand " + Member("base") +
                      " -o " + dir_->File(std::string("verify-") + h.name + (*json ? "-json" : "")));
      ExpectOneLineRefusal(r, 3, h.key, std::string("verify") + json + " " + h.name);
    }
  }
}

TEST_F(HostileModelTest, ReferenceBuildRefusesTheBadHeaderInOneLine) {
  for (const auto& h : kHostile) {
    auto r = RunPot("reference build --quiet " + Bad(h.name) + " --key " + dir_->File("k.key") + " --sign " +
                    dir_->File("signer") + " -n 4 -o " + dir_->File(std::string(h.name) + ".potref"));
    ExpectOneLineRefusal(r, 3, h.key, std::string("reference build ") + h.name);
  }
}

TEST_F(HostileModelTest, SelfcheckRefusesTheBadHeaderInOneLine) {
  for (const auto& h : kHostile) {
    for (const char* json : {"", " --json"}) {
      auto r = RunPot("selfcheck --quiet" + std::string(json) + " --prompts 1 --tokens 2 " + Bad(h.name));
      ExpectOneLineRefusal(r, 3, h.key, std::string("selfcheck") + json + " " + h.name);
    }
  }
}

TEST_F(HostileModelTest, AuditRescoreRefusesTheBadHeaderInOneLine) {
  for (const auto& h : kHostile) {
    for (const char* json : {"", " --json"}) {
      auto r = RunPot("audit" + std::string(json) + " " + dir_->File("run/bundle.json") + " --trust " +
                      dir_->File("signer.pub") + " --models " + Bad(h.name) + "," + Member("finetune") + " --rescore");
      ExpectOneLineRefusal(r, 3, h.key, std::string("audit --rescore") + json + " " + h.name);
    }
  }
}

TEST_F(HostileModelTest, HugeThreadCountsAreUsageErrors) {
  const std::string base = Member("base");
  const std::vector<std::string> commands = {
      "hash --quiet " + base,
      "verify --quiet --ref " + base + " --cand " + base + " -o " + dir_->File("threads-run"),
      "reference build --quiet " + base + " --key " + dir_->File("k.key") + " --sign " + dir_->File("signer") +
          " -n 4 -o " + dir_->File("threads.potref"),
      "selfcheck --quiet --prompts 1 --tokens 2 " + base,
      "audit " + dir_->File("run/bundle.json") + " --trust " + dir_->File("signer.pub") + " --models " + base + "," +
          Member("finetune") + " --rescore",
      "forge " + dir_->File("forge-out"),
  };
  for (const auto& command : commands) {
    ExpectOneLineRefusal(RunPot(command + " --threads 100000"), 2, "--threads is at most 512", command);
  }
  ExpectOneLineRefusal(RunPot("selfcheck --quiet --prompts 1 --tokens 2 --second-threads 513 " + base), 2,
                       "--second-threads is at most 512", "selfcheck --second-threads");
  EXPECT_FALSE(std::filesystem::exists(dir_->File("forge-out"))) << "a refused forge must not start";
}

// RunPot under a virtual-memory limit (KiB), so that the system refuses threads and their memory.
test::RunResult RunPotWithMemoryLimit(uint64_t kib, const std::string& args) {
  test::TempDir dir;
  const std::string cmd = "bash -c 'ulimit -v " + std::to_string(kib) + " && exec " + POT_BINARY + " " + args + "' >" +
                          dir.File("out") + " 2>" + dir.File("err");
  const int raw = std::system(cmd.c_str());
  test::RunResult r;
  r.exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = test::Slurp(dir.File("out"));
  r.err = test::Slurp(dir.File("err"));
  return r;
}

TEST_F(HostileModelTest, AThreadTheSystemRefusesIsOneLineAndExitFour) {
  // 512 hashing threads need 8 MiB of buffer and a stack each: far more than 300 MiB.
  ExpectOneLineRefusal(RunPotWithMemoryLimit(300 << 10, "hash --quiet --threads 512 " + Member("base")), 4,
                       "could not start hashing thread", "hash under a memory limit");
  // llama.cpp's thread pool (OpenMP's here, which exits on its own; ggml's own asserts) likewise.
  ExpectOneLineRefusal(RunPotWithMemoryLimit(1500 << 10, "selfcheck --quiet --prompts 1 --tokens 2 --threads 512 " +
                                                             Member("base")),
                       4, "pot: error: llama.cpp", "selfcheck under a memory limit");
}

}  // namespace
}  // namespace pot
