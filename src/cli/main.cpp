// pot: is this language model the model it claims to be?
#include <cstdio>
#include <string>
#include <vector>

#include "cli/cli.h"

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
  std::string line = status.message();
  for (char& ch : line) {
    if (ch == '\n') ch = ' ';
  }
  std::fprintf(stderr, "pot: error: %s\n", line.c_str());
  return ExitCodeFor(status);
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

std::vector<CommandSpec> Commands() { return {InfoCommand(), HashCommand(), ProofCommand(), DiffCommand(), VerifyCommand(), ReferenceCommand(), AuditCommand(), ReportCommand(), SelfcheckCommand(), KeygenCommand(), ChallengeCommand(), ForgeCommand()}; }

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: pot COMMAND [OPTIONS]\n\n"
                    "pot checks whether a language model is the model it claims to be.\n\ncommands:\n");
  for (const auto& c : Commands()) std::fprintf(out, "  %-10s %s\n", c.name.c_str(), c.summary.c_str());
  std::fprintf(out, "\n'pot COMMAND --help' describes a command; 'pot --version' prints versions.\n"
                    "exit codes: 0 ok, 1 negative result, 2 usage, 3 bad input, 4 failure\n");
}

}  // namespace
}  // namespace pot::cli

int main(int argc, char** argv) {
  using namespace pot::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
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
  std::fprintf(stderr, "pot: error: unknown command '%s'\n", first.c_str());
  PrintUsage(stderr);
  return kExitUsage;
}
