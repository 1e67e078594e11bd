// pot: is this language model the model it claims to be?
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/last_resort.h"
#include "cli/output.h"
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

const char* ExitCodeMeaning(int code) {
  switch (code) {
    case kExitOk: return "ok";
    case kExitNegative: return "negative";
    case kExitUsage: return "usage";
    case kExitBadInput: return "bad input";
    case kExitFailure: return "failure";
    case kExitUndecided: return "undecided";
    case 130:
    case 143: return "interrupted";
  }
  return "failure";
}

const char* const kExitCodeHelp =
    "exit codes:\n"
    "  0        ok: SAME, OK, AUDIT PASSED\n"
    "  1        the check ran and its answer is negative: DIFFERENT, FAILED, AUDIT FAILED\n"
    "  2        usage: unknown command or option, missing or malformed argument (malformed hex included)\n"
    "  3        bad input: a file is missing, malformed, unsupported or not a regular file\n"
    "  4        failure: I/O error, llama.cpp failure, internal error\n"
    "  5        UNDECIDED: a sequential test used its whole budget without deciding\n"
    "  130, 143 interrupted by SIGINT, SIGTERM: rerun the same command to resume\n";

int ReportError(const Status& status) {
  // Messages name paths and tensor names: escaped, they stay on one line and cannot drive the terminal.
  std::fprintf(stderr, "pot: error: %s\n", text::EscapeForTerminal(status.message()).c_str());
  PrintJsonError(status.message(), ExitCodeFor(status));
  return ExitCodeFor(status);
}

void PrintJson(const nlohmann::ordered_json& j) {
  std::printf("%s\n", text::DumpJson(j, 2, text::JsonText::kAscii).c_str());
}

namespace {

// Whether --json is among the options (before any "--"), for a command line that did not parse.
bool AsksForJson(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--") return false;
    if (a == "--json") return true;
  }
  return false;
}

void PrintCommandHelp(const CommandSpec& command) {
  std::printf("usage: pot %s %s\n\n%s\n\noptions:\n%s\n%s", command.name.c_str(), command.usage.c_str(),
              command.summary.c_str(), OptionsHelp(command.options).c_str(), kExitCodeHelp);
}

}  // namespace

int RunCommand(const CommandSpec& command, const std::vector<std::string>& argv) {
  Args args;
  Status s = args.Parse(argv, command.options);
  SetJsonErrors(s.ok() ? args.Has("json") : AsksForJson(argv));
  if (s.ok() && args.positionals().size() > command.max_positionals) {
    s = Status::InvalidArgument("unexpected argument '" + args.positionals()[command.max_positionals] + "' (pot " +
                                command.name + " takes " +
                                (command.max_positionals == 0 ? std::string("none") : "at most " + std::to_string(command.max_positionals)) +
                                "; quote a path with spaces, or put it after --)");
  }
  if (!s.ok()) {
    ReportError(s);
    std::fprintf(stderr, "see 'pot %s --help'\n", command.name.c_str());
    return kExitUsage;
  }
  if (args.Has("help")) {
    PrintCommandHelp(command);
    return kExitOk;
  }
  return command.run(args);
}

namespace {

std::vector<CommandSpec> Commands() { return {InfoCommand(), HashCommand(), ProofCommand(), DiffCommand(), VerifyCommand(), EndpointCommand(), MonitorCommand(), ReferenceCommand(), AuditCommand(), ReportCommand(), SelfcheckCommand(), MergeCommand(), EstimateCommand(), KeygenCommand(), ChallengeCommand(), ForgeCommand()}; }

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: pot COMMAND [OPTIONS] [--] [ARGS]\n\n"
                    "pot checks whether a language model is the model it claims to be.\n\ncommands:\n");
  for (const auto& c : Commands()) std::fprintf(out, "  %-10s %s\n", c.name.c_str(), c.summary.c_str());
  std::fprintf(out, "\n'pot help COMMAND' or 'pot COMMAND --help' describes a command; 'pot --version' prints versions.\n"
                    "Options: --name VALUE or --name=VALUE; -n3 for -n 3; -- ends the options; --json prints one JSON\n"
                    "object on stdout, an error included. docs/cli.md has the details.\n\n%s",
               kExitCodeHelp);
}

const CommandSpec* FindCommand(const std::vector<CommandSpec>& commands, const std::string& name) {
  for (const auto& c : commands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

int UnknownCommand(const std::vector<CommandSpec>& commands, const std::string& name) {
  std::vector<std::string> names;
  for (const auto& c : commands) names.push_back(c.name);
  const std::string meant = ClosestMatch(name, names);
  std::fprintf(stderr, "pot: error: unknown command '%s'%s\n", text::EscapeForTerminal(name).c_str(),
               meant.empty() ? "" : ("; did you mean '" + meant + "'?").c_str());
  std::fprintf(stderr, "see 'pot --help'\n");
  return kExitUsage;
}

// Everything main does, inside the last-resort handler.
int Main(const std::vector<std::string>& args) {
  if (args.empty()) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const std::string& first = args[0];
  if (first == "--version" || first == "-V" || first == "version") {
    std::printf("pot %s (llama.cpp %s)\n", POT_VERSION, POT_LLAMA_COMMIT);
    return kExitOk;
  }
  const std::vector<CommandSpec> commands = Commands();
  if (first == "--help" || first == "-h" || first == "help") {
    if (first == "help" && args.size() > 2) return ReportError(Status::InvalidArgument("help takes one COMMAND"));
    if (first == "help" && args.size() == 2) {
      const CommandSpec* c = FindCommand(commands, args[1]);
      if (c == nullptr) return UnknownCommand(commands, args[1]);
      PrintCommandHelp(*c);
      return kExitOk;
    }
    PrintUsage(stdout);
    return kExitOk;
  }
  if (const CommandSpec* c = FindCommand(commands, first)) return RunCommand(*c, {args.begin() + 1, args.end()});
  return UnknownCommand(commands, first);
}

}  // namespace
}  // namespace pot::cli

int main(int argc, char** argv) {
  pot::engine::PreferPassiveThreadWait(argv);  // may start pot again, before anything is done
  pot::engine::InstallCrashHandlers();  // before any command: hash, info and diff never call engine::Init
  try {
    return pot::cli::Main({argv + 1, argv + argc});
  } catch (...) {
    const int code = pot::cli::ReportInternalError();
    pot::cli::PrintJsonError("internal error: " + pot::cli::CurrentExceptionWhat(), code);  // with --json
    return code;
  }
}
