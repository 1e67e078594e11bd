#include "cli/output.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.h"
#include "text/text.h"

namespace pot::cli {
namespace {

bool g_json_errors = false;

}  // namespace

void SetJsonErrors(bool on) { g_json_errors = on; }

void PrintJsonError(const std::string& message, int exit_code) {
  if (!g_json_errors) return;
  const nlohmann::ordered_json j = {{"error", message}, {"exit_code", exit_code}, {"meaning", ExitCodeMeaning(exit_code)}};
  std::fflush(stdout);
  std::printf("%s\n", text::DumpJson(j, 2, text::JsonText::kAscii).c_str());
}

OptionSpec ForceOption() { return {"force", false, "replace an existing output file (never an input)"}; }

Status CheckOutputPath(Env* env, const std::string& out, const std::vector<std::string>& inputs, bool force) {
  if (out.empty()) return Status::InvalidArgument("an output file name is empty");
  for (const auto& input : inputs) {
    if (!input.empty() && (input == out || env->SameFile(input, out))) {
      return Status::InvalidArgument(out + " is the input " + input + "; pot never writes over an input");
    }
  }
  if (!force && env->FileExists(out)) return Status::InvalidArgument(out + " exists; pot never overwrites a file without --force");
  return Status::OK();
}

std::vector<std::string> InputsOf(const Args& args, const std::vector<std::string>& options) {
  std::vector<std::string> inputs;
  for (const auto& name : options) {
    const auto value = args.Get(name);
    if (!value) continue;
    inputs.push_back(*value);
    if (value->find(',') == std::string::npos) continue;
    std::stringstream parts(*value);
    for (std::string part; std::getline(parts, part, ',');) inputs.push_back(part);
  }
  return inputs;
}

WriteOptions OutputWrite(const Args& args, unsigned mode) {
  return WriteOptions{.mode = mode, .replace = args.Has("force")};
}

}  // namespace pot::cli
