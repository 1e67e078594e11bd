// cli/diff_methods: pot diff --activations and --gradients, the two comparisons that run both models on
// committed challenges (src/activations, src/gradients). cmd_diff.cpp dispatches to RunDiffMethod when
// any of their options is given (so that one without --activations or --gradients is an error, not
// ignored); the options below are added to diff's CommandSpec.
#pragma once

#include <vector>

#include "cli/args.h"

namespace pot::cli {

std::vector<OptionSpec> DiffMethodOptions();
bool WantsDiffMethod(const Args& args);
int RunDiffMethod(const Args& args);

}  // namespace pot::cli
