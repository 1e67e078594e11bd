// RpcServer: a real ggml-rpc-server process (llama.cpp's RPC backend server, built by scripts/deps.sh from the
// same source as pot: POT_RPC_SERVER) on a free loopback port, one CPU thread. Start returns once the port
// accepts connections; Kill ends it as a crash would, mid-run.
#pragma once

#include <memory>
#include <string>

#include "support/child_process.h"
#include "test_util.h"
#include "util/status.h"

namespace pot::test {

class RpcServer {
 public:
  // port 0: a free one (retried if another process takes it first); otherwise that port, say to replace a
  // killed server on its address.
  static Status Start(std::unique_ptr<RpcServer>* out, int port = 0);
  int port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  void Kill() { process_->Kill(); }
  std::string LogTail() const { return process_->LogTail(); }

 private:
  RpcServer() = default;
  TempDir dir_;  // holds the log
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace pot::test
