#include "cli/args.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "crypto/hmac.h"
#include "engine/engine.h"

namespace pot::cli {
namespace {

// Insertions, deletions, substitutions and swaps of two neighbours (--hlep), one edit each.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

Status UnknownOption(const std::string& shown, const std::string& name, const std::vector<OptionSpec>& specs) {
  std::vector<std::string> names = {"help"};
  for (const auto& s : specs) names.push_back(s.name);
  std::string meant = ClosestMatch(name, names);
  for (const auto& s : specs) {
    if (name.size() == 1 && s.short_name == name[0]) meant = s.name;  // --o for -o, which is --output
  }
  return Status::InvalidArgument("unknown option " + shown + (meant.empty() ? "" : "; did you mean --" + meant + "?"));
}

}  // namespace

std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& c : candidates) {
    // A prefix of a longer name (--thread for --threads) is as close as one edit.
    const size_t d = word.size() >= 3 && c.rfind(word, 0) == 0 ? 1 : EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // Close enough to be a typo: one edit in a short word, up to a third of a longer one.
  const size_t allowed = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3));
  return best_distance <= allowed ? best : "";
}

Status Args::Parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs) {
  bool options_ended = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {  // "-" alone is a positional too
      positionals_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::string name;
    std::optional<std::string> inline_value;
    if (arg[1] != '-') {  // -n 3, or glued: -n3
      for (const auto& s : specs) {
        if (s.short_name != 0 && s.short_name == arg[1]) spec = &s;
      }
      if (spec == nullptr && arg == "-h") {
        values_["help"] = "";
        continue;
      }
      if (spec == nullptr) return UnknownOption(arg.substr(0, 2), std::string(1, arg[1]), specs);
      name = spec->name;
      if (arg.size() > 2) {
        if (!spec->takes_value) return Status::InvalidArgument("option -" + std::string(1, arg[1]) + " takes no value");
        inline_value = arg.substr(2);
      }
    } else {
      name = arg.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (name == "help") {
        if (inline_value) return Status::InvalidArgument("option --help takes no value");
        values_["help"] = "";
        continue;
      }
      for (const auto& s : specs) {
        if (s.name == name) spec = &s;
      }
      if (spec == nullptr) return UnknownOption("--" + name, name, specs);
    }
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

Status Args::GetHex(const std::string& name, size_t bytes, std::string* raw) const {
  raw->clear();
  auto v = Get(name);
  if (!v) return Status::OK();
  if (!FromHex(*v, raw) || raw->size() != bytes) {
    raw->clear();
    return Status::InvalidArgument("option --" + name + " needs " + std::to_string(2 * bytes) + " hex digits, got '" + *v + "'");
  }
  return Status::OK();
}

std::string OptionsHelp(const std::vector<OptionSpec>& specs) {
  std::string out;
  auto line = [&out](const std::string& flag, const std::string& help) {
    constexpr size_t kColumn = 30;
    out += "  " + flag;
    out += flag.size() < kColumn ? std::string(kColumn - flag.size(), ' ') : "\n" + std::string(kColumn + 2, ' ');
    out += " " + help + "\n";
  };
  for (const auto& o : specs) {
    std::string metavar = o.metavar;
    if (metavar.empty()) {
      metavar = o.name;
      for (char& c : metavar) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    const std::string flag = (o.short_name ? std::string("-") + o.short_name + ", " : std::string("    ")) + "--" + o.name +
                             (o.takes_value ? " " + metavar : "");
    line(flag, o.help + (o.default_text.empty() ? "" : " (default: " + o.default_text + ")"));
  }
  line("-h, --help", "show this help");
  return out;
}

}  // namespace pot::cli
