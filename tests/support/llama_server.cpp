#include "support/llama_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/loopback_server.h"

namespace pot::test {
namespace {

std::string Describe(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return "signal " + std::to_string(WTERMSIG(wait_status));
  return "wait status " + std::to_string(wait_status);
}

}  // namespace

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
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Everything the child needs is prepared here: between fork and exec only async-signal-safe calls.
  const std::string log = dir_.File("llama-server.log");
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) return Status::IOError("cannot open " + log + " or /dev/null");
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a test binary that dies takes its server with it
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid_ < 0) return Status::IOError("fork failed");

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  Request health;
  health.method = "GET";
  health.path = "/health";
  while (std::chrono::steady_clock::now() < deadline) {
    int wait_status = 0;
    if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string tail = LogTail();
      *port_taken = tail.find("couldn't bind") != std::string::npos;
      return Status::Internal("llama-server exited (" + Describe(wait_status) + ") before it was ready; its log ends:\n" + tail);
    }
    Reply reply;
    std::string error;
    if (Fetch(port_, health, 5, &reply, &error) && reply.status == 200) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Internal("llama-server not healthy after 120 s; its log ends:\n" + LogTail());
}

LlamaServer::~LlamaServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

std::string LlamaServer::LogTail(size_t bytes) const {
  const std::string log = Slurp(dir_.File("llama-server.log"));
  return log.size() <= bytes ? log : log.substr(log.size() - bytes);
}

}  // namespace pot::test
