// args: the command-line parser shared by every subcommand. Options are declared up front, so an
// unknown or malformed option is a usage error (exit 2) rather than silently ignored.
#pragma once

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
};

class Args {
 public:
  // Parses argv against specs. --help is always accepted.
  Status Parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  Status GetU64(const std::string& name, uint64_t fallback, uint64_t* out) const;
  // A number strictly between lo and hi; *out is left as it is when the option is absent.
  Status GetReal(const std::string& name, double lo, double hi, double* out) const;
  // A thread count: 0 (every core) or 1 to engine::kMaxThreads (ggml's limit, which hashing shares); more is
  // a usage error, as an int cast would otherwise wrap it or ggml overrun its per-thread tables.
  Status GetThreads(const std::string& name, int fallback, int* out) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
};

}  // namespace pot::cli
