// Helpers shared by the tests: temporary directories, running the real pot binary, small GGUF builders.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pot::test {

// A fresh directory under the system temp dir, removed when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pot-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A vendored test vector (tests/vectors); a missing file throws naming it, instead of a bare parse error.
inline std::string SlurpVector(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw std::runtime_error("test vector missing: " + path);
  return Slurp(path);
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs the pot binary with the given arguments (a shell-quoted string), capturing both streams; env, when
// given, is "NAME=VALUE " assignments for its environment.
inline RunResult RunPot(const std::string& args, const std::string& env = "") {
  TempDir dir;
  const std::string cmd = env + std::string(POT_BINARY) + " " + args + " >" + dir.File("out") + " 2>" + dir.File("err");
  const int raw = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = Slurp(dir.File("out"));
  r.err = Slurp(dir.File("err"));
  return r;
}

inline std::string TestbedDir() { return POT_TESTBED_DIR; }

inline int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace pot::test
