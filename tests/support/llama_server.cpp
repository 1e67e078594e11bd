#include "support/llama_server.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/loopback_server.h"

namespace pot::test {

Status LlamaServer::CheckInstalled(const std::string& model) {
  if (!std::filesystem::exists(POT_LLAMA_SERVER)) {
    return Status::NotFound(std::string("llama-server not built at ") + POT_LLAMA_SERVER + " (run scripts/deps.sh)");
  }
  if (!std::filesystem::exists(model)) return Status::NotFound("model " + model + " not found");
  return Status::OK();
}

Status LlamaServer::StartOnPort(const std::string& model, int port, const std::vector<std::string>& extra_args,
                                std::unique_ptr<LlamaServer>* out) {
  POT_RETURN_IF_ERROR(CheckInstalled(model));
  std::unique_ptr<LlamaServer> server(new LlamaServer());
  bool port_taken = false;
  POT_RETURN_IF_ERROR(server->Launch(model, port, extra_args, &port_taken));
  *out = std::move(server);
  return Status::OK();
}

Status LlamaServer::Start(const std::string& model, const std::vector<std::string>& extra_args,
                          std::unique_ptr<LlamaServer>* out) {
  POT_RETURN_IF_ERROR(CheckInstalled(model));
  // The port is free when picked but only taken when llama-server binds it: another process may win the
  // race, so a launch that failed for that reason alone is retried on a new port.
  Status s;
  for (int launch = 0; launch < 3; ++launch) {
    std::unique_ptr<LlamaServer> server(new LlamaServer());
    bool port_taken = false;
    s = server->Launch(model, UnusedPort(), extra_args, &port_taken);
    if (s.ok()) {
      *out = std::move(server);
      return s;
    }
    if (!port_taken) break;
  }
  return s;
}

Status LlamaServer::Launch(const std::string& model, int port, const std::vector<std::string>& extra_args,
                           bool* port_taken) {
  port_ = port;
  std::vector<std::string> args = {POT_LLAMA_SERVER, "-m", model, "-t", "1", "-c", "2048", "--host", "127.0.0.1",
                                   "--port", std::to_string(port_), "-np", "1", "--no-webui", "--no-warmup",
                                   "--offline", "--log-colors", "off"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  POT_RETURN_IF_ERROR(ChildProcess::Spawn(args, dir_.File("llama-server.log"), &process_));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  Request health;
  health.method = "GET";
  health.path = "/health";
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::string how; process_->Exited(&how)) {
      const std::string tail = LogTail();
      *port_taken = tail.find("couldn't bind") != std::string::npos;
      return Status::Internal("llama-server exited (" + how + ") before it was ready; its log ends:\n" + tail);
    }
    Reply reply;
    std::string error;
    if (Fetch(port_, health, 5, &reply, &error) && reply.status == 200) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Internal("llama-server not healthy after 120 s; its log ends:\n" + LogTail());
}

LlamaServer::~LlamaServer() = default;

std::string LlamaServer::LogTail(size_t bytes) const { return process_ ? process_->LogTail(bytes) : ""; }

}  // namespace pot::test
