// Strict reads from parsed JSON (nlohmann) for the parsers of untrusted files. nlohmann's get<T>() turns a
// JSON float into an integer type with a plain cast (undefined behaviour out of range: "n": 1e30) and
// wraps a negative number into an unsigned type, and value(key, default) throws when the field has another
// type. IntegerAt accepts only a JSON integer that T holds exactly and otherwise throws std::out_of_range
// naming the key (the parsers report it as Corruption); HasValue compares as JSON and never throws.
#pragma once

#include <stdexcept>
#include <string>
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

}  // namespace pot
