#include "support/rpc_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/loopback_server.h"

namespace pot::test {
namespace {

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Status RpcServer::Start(std::unique_ptr<RpcServer>* out, int port) {
  if (!std::filesystem::exists(POT_RPC_SERVER)) {
    return Status::NotFound(std::string("ggml-rpc-server not built at ") + POT_RPC_SERVER + " (run scripts/deps.sh)");
  }
  Status s;
  // The port is free when picked but taken only when the server binds it: a lost race is retried.
  for (int launch = 0; launch < (port == 0 ? 3 : 1); ++launch) {
    std::unique_ptr<RpcServer> server(new RpcServer());
    server->port_ = port == 0 ? UnusedPort() : port;
    POT_RETURN_IF_ERROR(ChildProcess::Spawn(
        {POT_RPC_SERVER, "-H", "127.0.0.1", "-p", std::to_string(server->port_), "-t", "1"},
        server->dir_.File("rpc-server.log"), &server->process_));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    s = Status::Internal("ggml-rpc-server did not listen within 60 s");
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::string how; server->process_->Exited(&how)) {
        s = Status::Internal("ggml-rpc-server exited (" + how + "); its log ends:\n" + server->LogTail());
        break;
      }
      if (Accepts(server->port_)) {
        *out = std::move(server);
        return Status::OK();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return s;
}

}  // namespace pot::test
