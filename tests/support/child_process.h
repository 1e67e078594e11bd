// ChildProcess: a real program run by a test (llama-server, ggml-rpc-server), its stdout and stderr in a log
// file. It dies with the test binary (PR_SET_PDEATHSIG), and the destructor stops it: SIGTERM, then SIGKILL
// after 10 s. Kill ends it at once, as a crash would, for tests of what pot does when a server vanishes.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace pot::test {

class ChildProcess {
 public:
  static Status Spawn(const std::vector<std::string>& args, const std::string& log_path,
                      std::unique_ptr<ChildProcess>* out);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Without waiting: whether it has exited, and then how ("exit status 1", "signal 9").
  bool Exited(std::string* how);
  void Kill();  // SIGKILL, reaped
  std::string LogTail(size_t bytes = 4000) const;

 private:
  ChildProcess() = default;
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace pot::test
