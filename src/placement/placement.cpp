#include "placement/placement.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "ggml-backend.h"
#include "ggml-rpc.h"
#include "gguf/gguf.h"
#include "llama.h"

#ifndef POT_BACKEND
#define POT_BACKEND "cpu"
#endif

namespace pot::placement {

namespace {

// The commands of llama.cpp's RPC protocol pot speaks itself (ggml/src/ggml-rpc/ggml-rpc.cpp, enum rpc_cmd;
// HELLO's number is fixed by the protocol for every version).
constexpr uint8_t kCmdGetDeviceMemory = 11;
constexpr uint8_t kCmdHello = 14;
constexpr uint8_t kCmdDeviceCount = 15;
constexpr size_t kConnCapsSize = 24;  // rpc_msg_hello_req.conn_caps: all zero asks for plain TCP
constexpr int kAnswerTimeoutMs = 10000;

// The servers Prepare registered, probed after an abort.
std::mutex g_attached_mutex;
std::vector<std::string> g_attached;

// A connected TCP socket, closed on destruction.
class Socket {
 public:
  Socket() = default;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // "a.b.c.d:PORT" (as ParseRpcServers leaves it).
  Status Connect(const std::string& endpoint, int timeout_ms) {
    sockaddr_in addr{};
    POT_RETURN_IF_ERROR(Address(endpoint, &addr));
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
      return Status::IOError(std::strerror(errno));
    }
    POT_RETURN_IF_ERROR(Wait(POLLOUT, timeout_ms, "connecting"));
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Status::IOError(std::strerror(err));
    return Status::OK();
  }

  Status Send(const void* data, size_t n, int timeout_ms) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      POT_RETURN_IF_ERROR(Wait(POLLOUT, timeout_ms, "sending"));
      const ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (k <= 0) return Status::IOError(std::string("send: ") + std::strerror(errno));
      p += k;
      n -= static_cast<size_t>(k);
    }
    return Status::OK();
  }

  Status Receive(void* data, size_t n, int timeout_ms) {
    char* p = static_cast<char*>(data);
    while (n > 0) {
      POT_RETURN_IF_ERROR(Wait(POLLIN, timeout_ms, "waiting for its answer"));
      const ssize_t k = ::recv(fd_, p, n, 0);
      if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (k == 0) return Status::IOError("it closed the connection");
      if (k < 0) return Status::IOError(std::string("recv: ") + std::strerror(errno));
      p += k;
      n -= static_cast<size_t>(k);
    }
    return Status::OK();
  }

  // One request (command byte, u64 size, body) and its answer (u64 size, which must be want_size, and body).
  Status Call(uint8_t cmd, const void* body, uint64_t body_size, void* answer, uint64_t want_size, int timeout_ms) {
    POT_RETURN_IF_ERROR(Send(&cmd, 1, timeout_ms));
    POT_RETURN_IF_ERROR(Send(&body_size, sizeof body_size, timeout_ms));
    if (body_size > 0) POT_RETURN_IF_ERROR(Send(body, body_size, timeout_ms));
    uint64_t size = 0;
    POT_RETURN_IF_ERROR(Receive(&size, sizeof size, timeout_ms));
    if (size != want_size) {
      return Status::Corruption("answered with " + std::to_string(size) + " bytes where " + std::to_string(want_size) +
                                " were expected (not a llama.cpp RPC server of this version?)");
    }
    return Receive(answer, want_size, timeout_ms);
  }

 private:
  static Status Address(const std::string& endpoint, sockaddr_in* addr) {
    const size_t colon = endpoint.rfind(':');
    addr->sin_family = AF_INET;
    if (colon == std::string::npos || ::inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr->sin_addr) != 1) {
      return Status::InvalidArgument("not an IPv4 address and port: " + endpoint);
    }
    addr->sin_port = htons(static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1))));
    return Status::OK();
  }

  Status Wait(short events, int timeout_ms, const char* doing) {
    pollfd p{fd_, events, 0};
    for (;;) {
      const int r = ::poll(&p, 1, timeout_ms);
      if (r > 0) return Status::OK();
      if (r == 0) return Status::IOError("no answer within " + std::to_string(timeout_ms / 1000.0) + " s " + doing);
      if (errno != EINTR) return Status::IOError(std::string("poll: ") + std::strerror(errno));
    }
  }

  int fd_ = -1;
};

bool IsLoopback(const in_addr& a) { return (ntohl(a.s_addr) >> 24) == 127; }

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t comma = s.find(',', start);
    parts.push_back(Trim(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

Status ResolveServer(const std::string& spec, bool allow_remote, std::string* endpoint) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    return Status::InvalidArgument("--rpc takes HOST:PORT[,HOST:PORT...], not '" + spec + "'");
  }
  const std::string host = spec.substr(0, colon), port_text = spec.substr(colon + 1);
  if (host.find(':') != std::string::npos || host.front() == '[') {
    return Status::InvalidArgument("--rpc: llama.cpp's RPC client speaks IPv4 only, not '" + host + "'");
  }
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) < 1 || std::stoi(port_text) > 65535) {
    return Status::InvalidArgument("--rpc: '" + port_text + "' is not a port (1-65535)");
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr) {
    return Status::InvalidArgument("--rpc: cannot resolve '" + host + "' to an IPv4 address: " + ::gai_strerror(rc));
  }
  const in_addr addr = reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr;
  ::freeaddrinfo(found);
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr, text, sizeof text);
  *endpoint = std::string(text) + ":" + std::to_string(std::stoi(port_text));
  if (!IsLoopback(addr) && !allow_remote) {
    const std::string named = spec == *endpoint ? spec : spec + " (" + *endpoint + ")";
    return Status::InvalidArgument("RPC server " + named + " is not on this host, and llama.cpp's RPC protocol has no authentication and no "
                                   "encryption: anyone on the path can read the weights and change the numbers. Run "
                                   "the servers on a private link and pass --rpc-allow-remote");
  }
  return Status::OK();
}

std::string GiB(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return buf;
}

}  // namespace

const char* BuildBackend() { return POT_BACKEND; }

Status ParseRpcServers(const std::string& list, bool allow_remote, std::vector<std::string>* out) {
  out->clear();
  std::set<std::string> seen;
  for (const std::string& spec : SplitCommas(list)) {
    std::string endpoint;
    POT_RETURN_IF_ERROR(ResolveServer(spec, allow_remote, &endpoint));
    if (!seen.insert(endpoint).second) return Status::InvalidArgument("--rpc names " + endpoint + " twice");
    out->push_back(endpoint);
  }
  if (out->size() > GGML_RPC_MAX_SERVERS) {
    return Status::InvalidArgument("--rpc: at most " + std::to_string(GGML_RPC_MAX_SERVERS) + " servers");
  }
  return Status::OK();
}

Status ParseTensorSplit(const std::string& text, std::vector<float>* out) {
  out->clear();
  for (const std::string& part : SplitCommas(text)) {
    char* end = nullptr;
    const float share = std::strtof(part.c_str(), &end);
    if (part.empty() || *end != '\0' || !std::isfinite(share) || share <= 0) {
      return Status::InvalidArgument("--tensor-split takes positive shares such as 3,1, not '" + text + "'");
    }
    out->push_back(share);
  }
  return Status::OK();
}

Status CheckServer(const std::string& endpoint, int timeout_ms, ServerInfo* out) {
  *out = ServerInfo{};
  out->endpoint = endpoint;
  auto named = [&](const Status& s) { return s.WithContext("RPC server " + endpoint); };
  Socket sock;
  Status s = sock.Connect(endpoint, timeout_ms);
  if (!s.ok()) return named(s);
  const uint8_t caps[kConnCapsSize] = {};
  struct {
    uint8_t major, minor, patch, padding;
    uint8_t caps[kConnCapsSize];
  } hello{};
  s = sock.Call(kCmdHello, caps, sizeof caps, &hello, sizeof hello, timeout_ms);
  if (!s.ok()) {
    // The server serves one client at a time: a busy one accepts the connection and answers nothing.
    return named(s).WithContext("HELLO (is another run using it? a server serves one client at a time)");
  }
  out->proto_major = hello.major;
  out->proto_minor = hello.minor;
  out->proto_patch = hello.patch;
  if (hello.major != RPC_PROTO_MAJOR_VERSION || hello.minor != RPC_PROTO_MINOR_VERSION ||
      hello.patch != RPC_PROTO_PATCH_VERSION) {
    return Status::Unsupported("RPC server " + endpoint + " speaks protocol " + std::to_string(hello.major) + "." +
                               std::to_string(hello.minor) + "." + std::to_string(hello.patch) + ", this pot " +
                               std::to_string(RPC_PROTO_MAJOR_VERSION) + "." + std::to_string(RPC_PROTO_MINOR_VERSION) +
                               "." + std::to_string(RPC_PROTO_PATCH_VERSION) +
                               ": run the ggml-rpc-server that scripts/deps.sh built with this pot");
  }
  uint32_t count = 0;
  s = sock.Call(kCmdDeviceCount, nullptr, 0, &count, sizeof count, timeout_ms);
  if (!s.ok()) return named(s);
  if (count == 0 || count > 64) return Status::Unsupported("RPC server " + endpoint + " reports " + std::to_string(count) + " devices");
  for (uint32_t d = 0; d < count; ++d) {
    uint64_t memory[2] = {};  // free, total
    s = sock.Call(kCmdGetDeviceMemory, &d, sizeof d, memory, sizeof memory, timeout_ms);
    if (!s.ok()) return named(s);
    out->devices.push_back({memory[0], memory[1]});
  }
  return Status::OK();
}

// llama.cpp's assignment (llama-model.cpp, load_tensors): of the n_layer + 1 layers (the output layer last),
// the last n_offloaded go to the devices, layer il of them to the first device whose cumulative share
// exceeds il / n_offloaded. Tensors "blk.N." are layer N; the input embedding stays on the CPU; everything
// else is the output layer's.
std::vector<uint64_t> DeviceBytes(const gguf::File& model, int n_offloaded, const std::vector<float>& shares) {
  const std::string arch = model.GetString("general.architecture").value_or("");
  const int n_layer = static_cast<int>(std::min<uint64_t>(model.GetUint(arch + ".block_count").value_or(0), 100000));
  std::vector<uint64_t> layer_bytes(static_cast<size_t>(n_layer) + 1, 0);
  for (const auto& t : model.tensors) {
    if (t.name.rfind("token_embd.", 0) == 0) continue;
    int layer = n_layer;
    if (t.name.rfind("blk.", 0) == 0) layer = std::clamp(std::atoi(t.name.c_str() + 4), 0, n_layer);
    layer_bytes[static_cast<size_t>(layer)] += t.nbytes;
  }
  std::vector<uint64_t> need(shares.size(), 0);
  if (shares.empty()) return need;
  std::vector<float> cumulative(shares.size());
  float sum = 0;
  for (size_t d = 0; d < shares.size(); ++d) cumulative[d] = sum += shares[d];
  for (float& c : cumulative) c /= sum;
  n_offloaded = std::clamp(n_offloaded, 0, n_layer + 1);
  const int first = n_layer + 1 - n_offloaded;
  for (int il = first; il <= n_layer; ++il) {
    const auto at = std::upper_bound(cumulative.begin(), cumulative.end(), static_cast<float>(il - first) / n_offloaded);
    need[std::min(static_cast<size_t>(at - cumulative.begin()), shares.size() - 1)] += layer_bytes[static_cast<size_t>(il)];
  }
  return need;
}

Status Prepare(const Placement& p, const gguf::File& model, Prepared* out) {
  *out = Prepared{};
  out->split.assign(llama_max_devices(), 0.0f);
  std::vector<ggml_backend_dev_t> devices;
  std::vector<std::string> device_names;  // as errors name them
  if (!p.rpc.empty()) {
    // llama.cpp writes to the servers' sockets without MSG_NOSIGNAL: a server that dies would end pot with
    // SIGPIPE and no word. Ignored, the write fails and llama.cpp aborts, which the crash handler explains.
    std::signal(SIGPIPE, SIG_IGN);
    for (const std::string& endpoint : p.rpc) {
      bool attached = false;
      {
        std::lock_guard<std::mutex> lock(g_attached_mutex);
        attached = std::find(g_attached.begin(), g_attached.end(), endpoint) != g_attached.end();
      }
      // A server in use serves llama.cpp's connection and would not answer a second one.
      if (!attached) {
        ServerInfo info;
        POT_RETURN_IF_ERROR(CheckServer(endpoint, kAnswerTimeoutMs, &info));
        // Named before llama.cpp connects, which aborts when it cannot (and the crash handler then probes it).
        std::lock_guard<std::mutex> lock(g_attached_mutex);
        g_attached.push_back(endpoint);
      }
      ggml_backend_reg_t reg = ggml_backend_rpc_add_server(endpoint.c_str());
      if (reg == nullptr) return Status::Internal("RPC server " + endpoint + " reports no device");
      for (size_t i = 0; i < ggml_backend_reg_dev_count(reg); ++i) {
        devices.push_back(ggml_backend_reg_dev_get(reg, i));
        device_names.push_back("RPC server " + endpoint + " (device " + std::to_string(i) + ")");
      }
    }
  } else if (p.gpu_layers > 0) {
    if (std::string(BuildBackend()) == "cpu") {
      return Status::InvalidArgument("--gpu-layers needs a pot built with an accelerator (POT_BACKEND=cuda, vulkan or "
                                     "metal; docs/verify.md, \"Backends\"); this one was built for the CPU");
    }
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
      ggml_backend_dev_t dev = ggml_backend_dev_get(i);
      if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_GPU) continue;
      devices.push_back(dev);
      device_names.push_back(std::string(ggml_backend_dev_name(dev)) + " (" + ggml_backend_dev_description(dev) + ")");
    }
    if (devices.empty()) return Status::Unsupported(std::string("--gpu-layers: this host has no ") + BuildBackend() + " device");
  }
  if (!p.tensor_split.empty() && p.tensor_split.size() != devices.size()) {
    return Status::InvalidArgument("--tensor-split gives " + std::to_string(p.tensor_split.size()) + " shares for " +
                                   std::to_string(devices.size()) + " devices");
  }
  if (devices.size() > out->split.size()) return Status::InvalidArgument("more devices than llama.cpp supports");
  for (size_t d = 0; d < devices.size(); ++d) out->split[d] = p.tensor_split.empty() ? 1.0f : p.tensor_split[d];
  out->use_extra_bufts = p.repack && p.rpc.empty();
  if (!devices.empty()) {
    const std::string arch = model.GetString("general.architecture").value_or("");
    const uint64_t n_layer = model.GetUint(arch + ".block_count").value_or(0);
    if (n_layer == 0 || n_layer > 100000) return Status::Corruption(model.path + ": no usable block_count");
    const int n_all = static_cast<int>(n_layer) + 1;  // the output layer last
    out->n_gpu_layers = p.gpu_layers < 0 ? n_all : std::min(p.gpu_layers, n_all);
    const std::vector<uint64_t> need =
        DeviceBytes(model, out->n_gpu_layers, std::vector<float>(out->split.begin(), out->split.begin() + devices.size()));
    for (size_t d = 0; d < devices.size(); ++d) {
      size_t free = 0, total = 0;
      ggml_backend_dev_memory(devices[d], &free, &total);
      if (need[d] > free) {
        return Status::InvalidArgument("the model's layers need about " + GiB(need[d]) + " on " + device_names[d] +
                                       ", which has " + GiB(free) + " free: give it a smaller --tensor-split share, "
                                       "fewer --gpu-layers, or more servers");
      }
    }
  }
  for (ggml_backend_dev_t dev : devices) out->devices.push_back(dev);
  out->devices.push_back(nullptr);
  return Status::OK();
}

nlohmann::ordered_json Describe(const Placement& p) {
  nlohmann::ordered_json split = nlohmann::ordered_json::array();
  for (float share : p.tensor_split) split.push_back(share);
  return {{"backend", p.rpc.empty() ? (p.gpu_layers > 0 ? BuildBackend() : "cpu") : "rpc"},
          {"build_backend", BuildBackend()},
          {"rpc", p.rpc},
          {"tensor_split", split},
          {"gpu_layers", p.local() ? 0 : p.gpu_layers},
          {"repack", p.repack && p.rpc.empty()}};
}

bool IsDescription(const nlohmann::ordered_json& j) {
  static const std::set<std::string> kBackends = {"cpu", "rpc", "cuda", "vulkan", "metal"};
  auto strings = [](const nlohmann::ordered_json& a) {
    return a.is_array() && std::all_of(a.begin(), a.end(), [](const auto& e) { return e.is_string(); });
  };
  auto numbers = [](const nlohmann::ordered_json& a) {
    return a.is_array() && std::all_of(a.begin(), a.end(), [](const auto& e) { return e.is_number(); });
  };
  return j.is_object() && j.size() == 6 && j.contains("backend") && j["backend"].is_string() &&
         kBackends.count(j["backend"].get<std::string>()) && j.contains("build_backend") &&
         j["build_backend"].is_string() && kBackends.count(j["build_backend"].get<std::string>()) && j.contains("rpc") &&
         strings(j["rpc"]) && j.contains("tensor_split") && numbers(j["tensor_split"]) && j.contains("gpu_layers") &&
         j["gpu_layers"].is_number_integer() && j.contains("repack") && j["repack"].is_boolean();
}

std::string MixedBackendNote(const std::string& ref_description, const std::string& cand_description) {
  if (ref_description.empty() || cand_description.empty()) return "";
  auto kind = [](const std::string& text) {
    const std::string backend = nlohmann::ordered_json::parse(text).at("backend").get<std::string>();
    return backend == "rpc" ? std::string("cpu") : backend;
  };
  const std::string ref = kind(ref_description), cand = kind(cand_description);
  if (ref == cand) return "";
  return "the reference was scored on the " + ref + " backend and the candidate on the " + cand +
         " backend: across backends the numerical floor can reach a quantization's (docs/verify.md, \"Noise floors\"), "
         "so this verdict may be the backends' and not the weights'";
}

std::string ExplainLostServer() {
  std::vector<std::string> attached;
  {
    std::lock_guard<std::mutex> lock(g_attached_mutex);
    attached = g_attached;
  }
  // A server killed a moment ago may still hold its listening socket open while its connection's reset
  // already reached pot: probe again after short waits before concluding that every server answers.
  for (int wait_ms : {50, 250, 700}) {
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    for (const std::string& endpoint : attached) {
      Socket probe;
      if (Status s = probe.Connect(endpoint, 1000); !s.ok()) return "RPC server " + endpoint + " does not answer (" + s.message() + ")";
    }
  }
  return "";
}

}  // namespace pot::placement
