// Strict reads from parsed JSON (nlohmann) for the parsers of untrusted files. nlohmann's get<T>() turns a
// JSON float into an integer type with a plain cast (undefined behaviour out of range: "n": 1e30) and
// wraps a negative number into an unsigned type, and value(key, default) throws when the field has another
// type. IntegerAt accepts only a JSON integer that T holds exactly and otherwise throws std::out_of_range
// naming the key (the parsers report it as Corruption); HasValue compares as JSON and never throws.
// nlohmann's parser also recurses once per nesting level, so a file of a million "[" overflows the stack:
// ParseJson refuses input nested deeper than any pot format before parsing it.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace pot {

template <typename T, typename Json>
T IntegerFrom(const Json& v, const char* what) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  if (v.is_number_unsigned()) {
    const auto u = v.template get<unsigned long long>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const auto i = v.template get<long long>();
    if (std::in_range<T>(i)) return static_cast<T>(i);
  }
  throw std::out_of_range(std::string(what) + ": not an integer in range");
}

template <typename T, typename Json>
T IntegerAt(const Json& object, const char* key) {
  return IntegerFrom<T>(object.at(key), key);
}

template <typename T, typename Json>
std::vector<T> IntegersAt(const Json& object, const char* key) {
  const Json& array = object.at(key);
  if (!array.is_array()) throw std::out_of_range(std::string(key) + ": not an array");
  std::vector<T> out;
  out.reserve(array.size());
  for (const Json& v : array) out.push_back(IntegerFrom<T>(v, key));
  return out;
}

template <typename Json, typename V>
bool HasValue(const Json& object, const char* key, const V& value) {
  return object.is_object() && object.contains(key) && object.at(key) == value;
}

inline constexpr int kMaxJsonDepth = 64;  // pot's formats nest at most a few levels

// Whether text opens more than limit arrays or objects at once (brackets inside strings do not count).
inline bool NestsDeeperThan(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// Json::parse(text, nullptr, false) for untrusted text: a discarded value when text is not JSON or nests
// deeper than kMaxJsonDepth.
template <typename Json>
Json ParseJson(std::string_view text) {
  if (NestsDeeperThan(text, kMaxJsonDepth)) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, false);
}

}  // namespace pot
