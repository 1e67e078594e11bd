// pot: is this language model the model it claims to be?
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/last_resort.h"
#include "engine/engine.h"
#include "text/text.h"

namespace pot::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return kExitOk;
    case Status::Code::kInvalidArgument: return kExitUsage;
    case Status::Code::kNotFound:
    case Status::Code::kCorruption:
    case Status::Code::kUnsupported: return kExitBadInput;
    case Status::Code::kIOError:
    case Status::Code::kInternal: return kExitFailure;
  }
  return kExitFailure;
}

int ReportError(const Status& status) {
  // Messages name paths and tensor names: escaped, they stay on one line and cannot drive the terminal.
  std::fprintf(stderr, "pot: error: %s\n", text::EscapeForTerminal(status.message()).c_str());
  return ExitCodeFor(status);
}

void PrintJson(const nlohmann::ordered_json& j) {
  std::printf("%s\n", text::DumpJson(j, 2, text::JsonText::kAscii).c_str());
}

int RunCommand(const CommandSpec& command, const std::vector<std::string>& argv) {
  Args args;
  Status s = args.Parse(argv, command.options);
  if (!s.ok()) {
    ReportError(s);
    std::fprintf(stderr, "see 'pot %s --help'\n", command.name.c_str());
    return kExitUsage;
  }
  if (args.Has("help")) {
    std::printf("usage: pot %s %s\n\n%s\n\noptions:\n", command.name.c_str(), command.usage.c_str(),
                command.summary.c_str());
    for (const auto& o : command.options) {
      std::string flag = (o.short_name ? std::string("-") + o.short_name + ", " : std::string()) + "--" + o.name +
                         (o.takes_value ? " VALUE" : "");
      std::printf("  %-22s %s\n", flag.c_str(), o.help.c_str());
    }
    std::printf("  %-22s %s\n", "--help", "show this help");
    return kExitOk;
  }
  return command.run(args);
}

namespace {

std::vector<CommandSpec> Commands() { return {InfoCommand(), HashCommand(), ProofCommand(), DiffCommand(), VerifyCommand(), EndpointCommand(), MonitorCommand(), ReferenceCommand(), AuditCommand(), ReportCommand(), SelfcheckCommand(), MergeCommand(), EstimateCommand(), KeygenCommand(), ChallengeCommand(), ForgeCommand()}; }

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: pot COMMAND [OPTIONS]\n\n"
                    "pot checks whether a language model is the model it claims to be.\n\ncommands:\n");
  for (const auto& c : Commands()) std::fprintf(out, "  %-10s %s\n", c.name.c_str(), c.summary.c_str());
  std::fprintf(out, "\n'pot COMMAND --help' describes a command; 'pot --version' prints versions.\n"
                    "exit codes: 0 ok, 1 negative result, 2 usage, 3 bad input, 4 failure\n");
}

// Everything main does, inside the last-resort handler.
int Main(const std::vector<std::string>& args) {
  if (args.empty()) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const std::string& first = args[0];
  if (first == "--version" || first == "version") {
    std::printf("pot %s (llama.cpp %s)\n", POT_VERSION, POT_LLAMA_COMMIT);
    return kExitOk;
  }
  if (first == "--help" || first == "help") {
    PrintUsage(stdout);
    return kExitOk;
  }
  for (const auto& c : Commands()) {
    if (c.name == first) return RunCommand(c, {args.begin() + 1, args.end()});
  }
  std::fprintf(stderr, "pot: error: unknown command '%s'\n", text::EscapeForTerminal(first).c_str());
  PrintUsage(stderr);
  return kExitUsage;
}

}  // namespace
}  // namespace pot::cli

int main(int argc, char** argv) {
  pot::engine::InstallCrashHandlers();  // before any command: hash, info and diff never call engine::Init
  try {
    return pot::cli::Main({argv + 1, argv + argc});
  } catch (...) {
    return pot::cli::ReportInternalError();
  }
}
