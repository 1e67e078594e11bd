// cli/placement_options: where a command's models run, the same flags on every command that loads a model
// for scoring (verify, reference build, selfcheck, audit --rescore): --rpc HOST:PORT,..., --tensor-split,
// --gpu-layers, --rpc-allow-remote, --no-repack (placement/placement.h says what each means).
#pragma once

#include <vector>

#include "cli/args.h"
#include "placement/placement.h"

namespace pot::cli {

// specs with the placement options added.
std::vector<OptionSpec> WithPlacementOptions(std::vector<OptionSpec> specs);

Status PlacementFromArgs(const Args& args, placement::Placement* out);

}  // namespace pot::cli
