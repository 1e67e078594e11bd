// LlamaServer: a real llama-server process (the binary scripts/deps.sh builds, POT_LLAMA_SERVER) on a free
// loopback port, for endpoint tests. Start returns once GET /health answers 200; a server that exits first
// is an error carrying the end of its log. The destructor stops it (ChildProcess).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "test_util.h"
#include "util/status.h"

namespace pot::test {

class LlamaServer {
 public:
  // Runs llama-server -m model -t 1 -c 2048 --host 127.0.0.1 --port P -np 1 (quiet and without warm-up),
  // then extra_args, which win where they repeat a flag.
  static Status Start(const std::string& model, const std::vector<std::string>& extra_args,
                      std::unique_ptr<LlamaServer>* out);
  // As Start, on the given port (a server replacing another one on the same address); no retry when the
  // port is taken.
  static Status StartOnPort(const std::string& model, int port, const std::vector<std::string>& extra_args,
                            std::unique_ptr<LlamaServer>* out);
  ~LlamaServer();
  LlamaServer(const LlamaServer&) = delete;
  LlamaServer& operator=(const LlamaServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string LogTail(size_t bytes = 4000) const;  // the end of its stdout and stderr

 private:
  LlamaServer() = default;
  static Status CheckInstalled(const std::string& model);
  // One launch on port; *port_taken when it failed only because someone else took the port.
  Status Launch(const std::string& model, int port, const std::vector<std::string>& extra_args, bool* port_taken);

  TempDir dir_;  // holds the log
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace pot::test
