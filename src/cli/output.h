// output: errors with --json, and the one policy for every file a command writes (docs/cli.md, "Outputs"). Before any work, an
// output path must not be empty, must not be the same file as any input of the command (refused even
// with --force: `pot hash M.gguf -o M.gguf` would replace the model), and must not exist unless --force
// is given. The write itself (WriteFileAtomically with OutputWrite) checks existence again as it renames.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "env/env.h"

namespace pot::cli {

// With --json (SetJsonErrors, which RunCommand calls), a failure is also one JSON object on stdout,
// {"error": MESSAGE, "exit_code": N, "meaning": "usage"}, beside its line on stderr, so a script that
// parses stdout always gets an object. Without --json, PrintJsonError prints nothing.
void SetJsonErrors(bool on);
void PrintJsonError(const std::string& message, int exit_code);

// The --force option of every command that writes a file.
OptionSpec ForceOption();

// Checks out against the policy; inputs are the files the command reads (empty or absent ones are skipped).
Status CheckOutputPath(Env* env, const std::string& out, const std::vector<std::string>& inputs, bool force);

// The files named by the given options, for CheckOutputPath: each value, and a comma list's parts too
// (--models REF.gguf,CAND.gguf).
std::vector<std::string> InputsOf(const Args& args, const std::vector<std::string>& options);

// How a checked output is written: mode (0600 for secrets), replacing an existing file only with --force.
WriteOptions OutputWrite(const Args& args, unsigned mode = 0644);

}  // namespace pot::cli
