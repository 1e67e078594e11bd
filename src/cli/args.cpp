#include "cli/args.h"

#include <charconv>
#include <cstdlib>

#include "engine/engine.h"

namespace pot::cli {

Status Args::Parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs) {
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string arg = argv[i];
    if (arg.size() == 2 && arg[0] == '-' && arg[1] != '-') {
      for (const auto& s : specs) {
        if (s.short_name == arg[1]) arg = "--" + s.name;
      }
      if (arg.size() == 2) return Status::InvalidArgument("unknown option " + arg);
    }
    if (arg.size() < 2 || arg.rfind("--", 0) != 0) {
      positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "help") {
      values_["help"] = "";
      continue;
    }
    const OptionSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) return Status::InvalidArgument("unknown option --" + name);
    if (!spec->takes_value) {
      if (inline_value) return Status::InvalidArgument("option --" + name + " takes no value");
      values_[name] = "";
    } else if (inline_value) {
      values_[name] = *inline_value;
    } else if (i + 1 < argv.size()) {
      values_[name] = argv[++i];
    } else {
      return Status::InvalidArgument("option --" + name + " needs a value");
    }
  }
  return Status::OK();
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Status Args::GetU64(const std::string& name, uint64_t fallback, uint64_t* out) const {
  auto v = Get(name);
  if (!v) {
    *out = fallback;
    return Status::OK();
  }
  const char* end = v->data() + v->size();
  auto [ptr, ec] = std::from_chars(v->data(), end, *out);
  if (ec != std::errc() || ptr != end || v->empty()) {
    return Status::InvalidArgument("option --" + name + " needs a non-negative integer, got '" + *v + "'");
  }
  return Status::OK();
}

Status Args::GetReal(const std::string& name, double lo, double hi, double* out) const {
  auto v = Get(name);
  if (!v) return Status::OK();
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || *end != '\0' || !(x > lo && x < hi)) {
    return Status::InvalidArgument("--" + name + " must be a number in (" + std::to_string(lo) + ", " + std::to_string(hi) + ")");
  }
  *out = x;
  return Status::OK();
}

Status Args::GetThreads(const std::string& name, int fallback, int* out) const {
  uint64_t n = 0;
  POT_RETURN_IF_ERROR(GetU64(name, static_cast<uint64_t>(fallback), &n));
  if (n > static_cast<uint64_t>(engine::kMaxThreads)) {
    return Status::InvalidArgument("option --" + name + " is at most " + std::to_string(engine::kMaxThreads) +
                                   " threads, got " + std::to_string(n));
  }
  *out = static_cast<int>(n);
  return Status::OK();
}

}  // namespace pot::cli
