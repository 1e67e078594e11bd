// cli: subcommand plumbing. Every subcommand declares its options and usage; RunCommand parses,
// serves --help, and turns a failed Status into one line on stderr and a documented exit code
// (docs/cli.md).
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "cli/args.h"

namespace pot::cli {

enum ExitCode : int {
  kExitOk = 0,        // success; for checks, "match" / "SAME"
  kExitNegative = 1,  // the check ran and the answer is negative ("mismatch" / "DIFFERENT")
  kExitUsage = 2,     // bad command line
  kExitBadInput = 3,  // an input is missing, malformed or unsupported
  kExitFailure = 4,   // I/O or internal failure
  kExitUndecided = 5,  // a sequential test reached its budget without a decision
};

int ExitCodeFor(const Status& status);
// A word for each code ("usage", "bad input", "interrupted" for 130 and 143), for JSON error objects.
const char* ExitCodeMeaning(int code);
// The exit code list `pot --help` ends with (docs/cli.md, "Exit codes").
extern const char* const kExitCodeHelp;
// Prints "pot: error: <message>" on one line, control characters and bytes that are not UTF-8 escaped
// (text::EscapeForTerminal), with --json also the JSON error object on stdout (cli/output.h), and returns
// the exit code for status.
int ReportError(const Status& status);
// Prints j on stdout, pretty, as ASCII JSON (text::DumpJson): it never fails on bytes, and no string from a
// model or file reaches the terminal as control characters.
void PrintJson(const nlohmann::ordered_json& j);

// The one vocabulary of every check command (hash --check, proof verify, challenge verify), printed as
// sha256sum -c prints it: "FILE: OK" or "FILE: FAILED"; --status prints nothing and leaves the exit code.
inline const char* CheckWord(bool ok) { return ok ? "OK" : "FAILED"; }

struct CommandSpec {
  std::string name;
  std::string summary;
  std::string usage;  // the lines after "usage: pot NAME"
  std::vector<OptionSpec> options;
  std::function<int(const Args&)> run;
  // The most positional arguments the command takes (its subcommand word included): more is a usage
  // error before run is called, so a stray word (an unquoted path with a space) is never ignored.
  size_t max_positionals = kAnyPositionals;
  static constexpr size_t kAnyPositionals = static_cast<size_t>(-1);
};

int RunCommand(const CommandSpec& command, const std::vector<std::string>& argv);

CommandSpec InfoCommand();
CommandSpec ForgeCommand();
CommandSpec ChallengeCommand();
CommandSpec HashCommand();
CommandSpec ProofCommand();
CommandSpec DiffCommand();
CommandSpec VerifyCommand();
CommandSpec KeygenCommand();
CommandSpec AuditCommand();
CommandSpec ReportCommand();
CommandSpec SelfcheckCommand();
CommandSpec ReferenceCommand();
CommandSpec EndpointCommand();
CommandSpec MonitorCommand();
CommandSpec MergeCommand();
CommandSpec EstimateCommand();

}  // namespace pot::cli
