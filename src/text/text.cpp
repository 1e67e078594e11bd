#include "text/text.h"

#include <nlohmann/json.hpp>

namespace pot::text {
namespace {

// The length (1..4) of the well-formed UTF-8 sequence s starts with, or 0 if it starts with none
// (Unicode's Table 3-7, "Well-Formed UTF-8 Byte Sequences").
size_t SequenceLength(std::string_view s) {
  const auto in = [&](size_t i, unsigned lo, unsigned hi) {
    return i < s.size() && static_cast<unsigned char>(s[i]) >= lo && static_cast<unsigned char>(s[i]) <= hi;
  };
  const unsigned lead = static_cast<unsigned char>(s[0]);
  if (lead <= 0x7f) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return in(1, 0x80, 0xbf) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    // After E0 only A0..BF (shorter forms are overlong); after ED only 80..9F (above are surrogates).
    const unsigned lo = lead == 0xe0 ? 0xa0 : 0x80, hi = lead == 0xed ? 0x9f : 0xbf;
    return in(1, lo, hi) && in(2, 0x80, 0xbf) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    // After F0 only 90..BF (overlong below); after F4 only 80..8F (above is beyond U+10FFFF).
    const unsigned lo = lead == 0xf0 ? 0x90 : 0x80, hi = lead == 0xf4 ? 0x8f : 0xbf;
    return in(1, lo, hi) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;  // a continuation byte, C0 or C1 (overlong two-byte leads), or F5..FF (beyond U+10FFFF)
}

// Splits s into well-formed sequences, passed to on_valid, and the bytes between them, one at a time to
// on_invalid.
template <class OnValid, class OnInvalid>
void Scan(std::string_view s, OnValid on_valid, OnInvalid on_invalid) {
  while (!s.empty()) {
    const size_t n = SequenceLength(s);
    if (n == 0) {
      on_invalid(static_cast<unsigned char>(s[0]));
      s.remove_prefix(1);
    } else {
      on_valid(s.substr(0, n));
      s.remove_prefix(n);
    }
  }
}

// prefix then the byte as two lowercase hex digits: "\x" + "1b", "\u00" + "9b".
void AppendEscape(const char* prefix, unsigned char byte, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  *out += prefix;
  *out += kDigits[byte >> 4];
  *out += kDigits[byte & 0xf];
}

template <class Json>
bool AllStringsValid(const Json& j) {
  if (j.is_string()) return IsValidUtf8(j.template get_ref<const std::string&>());
  if (j.is_array()) {
    for (const auto& element : j) {
      if (!AllStringsValid(element)) return false;
    }
  }
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (!IsValidUtf8(key) || !AllStringsValid(value)) return false;
    }
  }
  return true;
}

template <class Json>
Json Escaped(const Json& j) {
  if (j.is_string()) return EscapeInvalidUtf8(j.template get_ref<const std::string&>());
  if (j.is_array()) {
    Json out = Json::array();
    for (const auto& element : j) out.push_back(Escaped(element));
    return out;
  }
  if (j.is_object()) {
    Json out = Json::object();
    for (const auto& [key, value] : j.items()) out[EscapeInvalidUtf8(key)] = Escaped(value);
    return out;
  }
  return j;
}

template <class Json>
std::string Dump(const Json& j, int indent, JsonText mode) {
  const bool ascii = mode == JsonText::kAscii;
  // nlohmann's dump throws only on a string that is not UTF-8; an escaped copy has none.
  return AllStringsValid(j) ? j.dump(indent, ' ', ascii) : Escaped(j).dump(indent, ' ', ascii);
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  while (!s.empty()) {
    const size_t n = SequenceLength(s);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

std::string EscapeInvalidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  Scan(s, [&](std::string_view sequence) { out += sequence; },
       [&](unsigned char byte) { AppendEscape("\\x", byte, &out); });
  return out;
}

std::string EscapeForTerminal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto on_valid = [&](std::string_view sequence) {
    const auto first = static_cast<unsigned char>(sequence[0]);
    if (sequence.size() == 1 && (first < 0x20 || first == 0x7f)) {
      switch (first) {
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        default: AppendEscape("\\x", first, &out);
      }
    } else if (sequence.size() == 2 && first == 0xc2 && static_cast<unsigned char>(sequence[1]) <= 0x9f) {
      AppendEscape("\\u00", static_cast<unsigned char>(sequence[1]), &out);  // C1: U+0080..U+009F
    } else {
      out += sequence;
    }
  };
  Scan(s, on_valid, [&](unsigned char byte) { AppendEscape("\\x", byte, &out); });
  return out;
}

std::string DumpJson(const nlohmann::json& j, int indent, JsonText mode) { return Dump(j, indent, mode); }
std::string DumpJson(const nlohmann::ordered_json& j, int indent, JsonText mode) { return Dump(j, indent, mode); }

}  // namespace pot::text
