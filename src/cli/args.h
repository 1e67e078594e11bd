// args: the command-line parser shared by every subcommand. Options are declared up front, so an
// unknown or malformed option is a usage error (exit 2) rather than silently ignored, and a near miss is
// answered with the option meant ("did you mean --threads?"). The conventions (docs/cli.md, "Conventions"):
// `--name value` and `--name=value`; a short option glued to its value (`-n3`, `-oFILE`); `--` ends the
// options; `-h` and `--help` are always accepted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace pot::cli {

struct OptionSpec {
  std::string name;   // without the leading dashes
  bool takes_value;
  std::string help;
  char short_name = 0;  // e.g. 'n' for -n
  // What --help shows: the value's name ("FILE", "N"; empty: the option's name in capitals) and, when the
  // help text does not already say it, the default ("all cores").
  std::string metavar = "";
  std::string default_text = "";
};

class Args {
 public:
  // Parses argv against specs. -h and --help are always accepted.
  Status Parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  Status GetU64(const std::string& name, uint64_t fallback, uint64_t* out) const;
  // A number strictly between lo and hi; *out is left as it is when the option is absent.
  Status GetReal(const std::string& name, double lo, double hi, double* out) const;
  // A thread count: 0 (every core) or 1 to engine::kMaxThreads (ggml's limit, which hashing shares); more is
  // a usage error, as an int cast would otherwise wrap it or ggml overrun its per-thread tables.
  Status GetThreads(const std::string& name, int fallback, int* out) const;
  // The option's value as hex of exactly `bytes` bytes, either case, into raw bytes; anything else is a
  // usage error. *raw is left empty when the option is absent.
  Status GetHex(const std::string& name, size_t bytes, std::string* raw) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
};

// The candidate closest to word by edit distance, when it is close enough to be the one meant; else "".
std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates);

// The --help lines of specs: "  -n, --n N    help (default: X)", one option a line, --help last.
std::string OptionsHelp(const std::vector<OptionSpec>& specs);

}  // namespace pot::cli
