// Strict JSON integer reads: only an integer the type holds is accepted, never a cast float or a wrapped
// negative number, and a field of another type is a mismatch, not an exception.
#include "util/json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pot {
namespace {

using json = nlohmann::json;

TEST(JsonInteger, AcceptsOnlyIntegersTheTypeHolds) {
  const json j = json::parse(R"({"a": 7, "neg": -1, "float": 1.0, "huge": 1e30, "big": 4294967296, "s": "7",
                                "list": [1, 2], "bad_list": [1, 2.5]})");
  EXPECT_EQ(IntegerAt<uint32_t>(j, "a"), 7u);
  EXPECT_EQ(IntegerAt<int>(j, "neg"), -1);
  EXPECT_EQ(IntegerAt<uint64_t>(j, "big"), 4294967296u);
  EXPECT_THROW(IntegerAt<uint64_t>(j, "neg"), std::out_of_range);
  EXPECT_THROW(IntegerAt<uint32_t>(j, "big"), std::out_of_range);
  EXPECT_THROW(IntegerAt<int>(j, "float"), std::out_of_range);
  EXPECT_THROW(IntegerAt<uint64_t>(j, "huge"), std::out_of_range);
  EXPECT_THROW(IntegerAt<int>(j, "s"), std::out_of_range);
  EXPECT_THROW(IntegerAt<int>(j, "missing"), json::out_of_range);
  EXPECT_EQ(IntegersAt<int32_t>(j, "list"), (std::vector<int32_t>{1, 2}));
  EXPECT_THROW(IntegersAt<int32_t>(j, "bad_list"), std::out_of_range);
  EXPECT_THROW(IntegersAt<int32_t>(j, "a"), std::out_of_range);
  try {
    IntegerAt<int>(j, "huge");
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "huge: not an integer in range");
  }
}

TEST(JsonInteger, HasValueComparesWithoutThrowing) {
  const json j = json::parse(R"({"format": 1, "version": 1, "name": "pot"})");
  EXPECT_FALSE(HasValue(j, "format", "pot.manifest"));
  EXPECT_TRUE(HasValue(j, "version", 1));
  EXPECT_TRUE(HasValue(j, "name", "pot"));
  EXPECT_FALSE(HasValue(j, "missing", 1));
  EXPECT_FALSE(HasValue(json::parse("[1]"), "version", 1));
}

// nlohmann's parser recurses per level: a million "[" overflowed the stack (pot audit died with SIGSEGV on
// such a Statement, found by bundle_fuzz).
TEST(JsonParse, RefusesNestingDeeperThanAnyPotFormat) {
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  EXPECT_TRUE(ParseJson<json>(deep).is_discarded());
  EXPECT_TRUE(NestsDeeperThan(std::string(kMaxJsonDepth + 1, '{'), kMaxJsonDepth));
  EXPECT_FALSE(NestsDeeperThan(std::string(kMaxJsonDepth, '['), kMaxJsonDepth));
  EXPECT_FALSE(NestsDeeperThan("\"" + std::string(1000, '[') + "\"", kMaxJsonDepth)) << "brackets in a string";
  EXPECT_FALSE(NestsDeeperThan(R"(["\"[[[["])", 2)) << "an escaped quote does not end the string";
  EXPECT_EQ(ParseJson<json>(R"({"a": [[1]]})")["a"][0][0], 1);
  EXPECT_TRUE(ParseJson<json>("{").is_discarded());
}

}  // namespace
}  // namespace pot
