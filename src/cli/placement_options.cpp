#include "cli/placement_options.h"

#include <limits>

namespace pot::cli {

std::vector<OptionSpec> WithPlacementOptions(std::vector<OptionSpec> specs) {
  specs.push_back({"rpc", true,
                   "run the model's layers on these ggml-rpc-server processes (same build as pot; loopback only unless "
                   "--rpc-allow-remote)", 0, "HOST:PORT[,...]"});
  specs.push_back({"rpc-allow-remote", false,
                   "accept RPC servers on other hosts: the protocol has no authentication or encryption, so only over a "
                   "private link"});
  specs.push_back({"tensor-split", true, "with --rpc: each device's share of the layers, e.g. 3,1 (default: equal)", 0, "S1,S2,..."});
  specs.push_back({"gpu-layers", true,
                   "layers on the devices: RPC servers (default: all) or this build's accelerator (default 0)", 0, "N"});
  specs.push_back({"no-repack", false,
                   "no CPU repacked weight layouts: the numerics of an RPC run on this host's CPU (always so with --rpc)"});
  return specs;
}

Status PlacementFromArgs(const Args& args, placement::Placement* out) {
  *out = placement::Placement{};
  if (auto rpc = args.Get("rpc")) {
    POT_RETURN_IF_ERROR(placement::ParseRpcServers(*rpc, args.Has("rpc-allow-remote"), &out->rpc));
  } else if (args.Has("rpc-allow-remote")) {
    return Status::InvalidArgument("--rpc-allow-remote needs --rpc");
  }
  if (auto split = args.Get("tensor-split")) {
    if (out->rpc.empty() && !args.Has("gpu-layers")) return Status::InvalidArgument("--tensor-split needs --rpc or --gpu-layers");
    POT_RETURN_IF_ERROR(placement::ParseTensorSplit(*split, &out->tensor_split));
  }
  out->gpu_layers = out->rpc.empty() ? 0 : -1;
  if (args.Has("gpu-layers")) {
    uint64_t layers = 0;
    POT_RETURN_IF_ERROR(args.GetU64("gpu-layers", 0, &layers));
    if (layers > static_cast<uint64_t>(std::numeric_limits<int>::max())) return Status::InvalidArgument("--gpu-layers is too large");
    out->gpu_layers = static_cast<int>(layers);
  }
  out->repack = !args.Has("no-repack");
  return Status::OK();
}

}  // namespace pot::cli
