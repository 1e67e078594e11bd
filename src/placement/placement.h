// placement: where a model's layers run, checked before anything is loaded and recorded with the result.
// By default every layer runs on this host's CPU. With RPC servers (--rpc HOST:PORT,...: llama.cpp's
// ggml-rpc-server, built by scripts/deps.sh from the same source as pot) the repeating layers and the
// output layer go to those servers in the shares of --tensor-split (equal shares by default, never "by
// free memory", which would make the layout depend on the moment); with --gpu-layers N, N layers go to
// this build's accelerator (POT_BACKEND). Contracts:
//  - llama.cpp's RPC protocol has no authentication and no encryption: an address that is not loopback is
//    refused unless allow_remote, and names resolve once, here, to the IPv4 address llama.cpp is given.
//  - Check speaks the protocol's HELLO itself, with timeouts, and insists on the exact protocol version
//    this build speaks (llama.cpp checks only the major one); it reads each server's devices and memory
//    so that a model that cannot fit fails before loading, with the server named.
//  - The CPU's repacked weight layouts are off whenever layers run on RPC servers, which never repack:
//    RPC logits are then bit-identical to this host's CPU backend (docs/verify.md, "Noise floors").
//  - After Prepare, a llama.cpp abort while computing is explained by ExplainLostServer, which names the
//    server that no longer answers (engine's crash handler prints it; exit 4; a rerun resumes).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "util/status.h"

namespace pot::placement {

// The accelerator backend this pot was built with (CMake POT_BACKEND): "cpu", "cuda", "vulkan" or "metal".
const char* BuildBackend();

struct Placement {
  std::vector<std::string> rpc;     // "a.b.c.d:PORT", resolved and checked by ParseRpcServers
  std::vector<float> tensor_split;  // one share per device (servers' devices in order); empty: equal
  int gpu_layers = -1;              // layers off the CPU when there are devices; -1: all of them
  bool repack = true;               // CPU repacked weight layouts (forced off with RPC)
  bool local() const { return rpc.empty() && gpu_layers <= 0; }
};

// "HOST:PORT[,HOST:PORT...]": at most 16 servers, no duplicates, ports 1-65535, names resolved to IPv4.
Status ParseRpcServers(const std::string& list, bool allow_remote, std::vector<std::string>* out);
// "3,1": positive finite shares.
Status ParseTensorSplit(const std::string& text, std::vector<float>* out);

// What one RPC server reported.
struct ServerInfo {
  std::string endpoint;
  int proto_major = 0, proto_minor = 0, proto_patch = 0;
  struct Device {
    uint64_t free_bytes = 0, total_bytes = 0;
  };
  std::vector<Device> devices;
};
// Connects (timeout_ms for the connection and for each answer), says HELLO, and reads the device count and
// memory. Fails naming the server when it does not answer, speaks another protocol version, or has no device.
Status CheckServer(const std::string& endpoint, int timeout_ms, ServerInfo* out);

// The bytes of model each device holds when its last n_offloaded layers (of block_count + 1, the output
// layer last) go to devices in these shares, as llama.cpp assigns them; one entry per share.
std::vector<uint64_t> DeviceBytes(const gguf::File& model, int n_offloaded, const std::vector<float>& shares);

// What llama_model_params needs for a placement.
struct Prepared {
  std::vector<void*> devices;  // ggml_backend_dev_t, null-terminated; just {nullptr} for the CPU alone
  std::vector<float> split;    // llama_max_devices() shares
  int n_gpu_layers = 0;
  bool use_extra_bufts = true;
};

// Before llama.cpp loads model: checks every RPC server not yet in use (CheckServer), that tensor_split has
// one share per device, registers the servers with llama.cpp, and checks that each device's share of the
// model's layers fits its free memory, naming the device that it would not.
Status Prepare(const Placement& p, const gguf::File& model, Prepared* out);

// The placement as results, transcripts and reference files record it: the build's backend, the servers,
// shares, layers offloaded, and whether the CPU repacked weights.
nlohmann::ordered_json Describe(const Placement& p);

// Whether j has exactly the members Describe writes, each of its type: what a transcript or reference file
// read from disk must hold.
bool IsDescription(const nlohmann::ordered_json& j);

// The rule for scores computed on two backends (docs/verify.md, "Noise floors"): "" when both sides ran on
// the CPU backend (this host's, or RPC servers', which is what scripts/deps.sh's ggml-rpc-server runs), or
// when a side is not recorded; otherwise a note naming the two backends, which verify prints with the verdict
// and records: across backends the floor may reach a quantization's, so SAME or DIFFERENT may be theirs.
std::string MixedBackendNote(const std::string& ref_description, const std::string& cand_description);

// After an abort: "RPC server A:P does not answer" for the first attached server that refuses a connection
// now (each probed with a short timeout), or "" when all answer or none was attached.
std::string ExplainLostServer();

}  // namespace pot::placement
