#include "text/text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

namespace pot::text {
namespace {

// An independent reading of UTF-8 (Unicode 15, section 3.9, D92): the lead byte's high bits give the
// length, continuation bytes are 10xxxxxx, and the decoded scalar must need that length, not be a
// surrogate and not exceed U+10FFFF.
bool ReferenceValid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned lead = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (lead < 0x80) {
      n = 1, cp = lead;
    } else if ((lead & 0xe0) == 0xc0) {
      n = 2, cp = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      n = 3, cp = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      n = 4, cp = lead & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const unsigned c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3f);
    }
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += n;
  }
  return true;
}

TEST(Utf8, ValidTextComesBackUnchanged) {
  for (const std::string s : {"", "plain ascii", "caf\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
                              "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
                              "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 back\\slash \\xff"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << EscapeInvalidUtf8(s);
    EXPECT_EQ(EscapeInvalidUtf8(s), s);
  }
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
}

TEST(Utf8, EveryInvalidClassIsEscapedBytewise) {
  const std::pair<std::string, std::string> cases[] = {
      {"a\x80z", "a\\x80z"},                              // stray continuation byte
      {"\xbf\xbf", "\\xbf\\xbf"},                         // two of them
      {"\xc0\xaf", "\\xc0\\xaf"},                         // overlong two-byte '/'
      {"\xc1\xbf", "\\xc1\\xbf"},                         // overlong two-byte U+007F
      {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},                // overlong three-byte
      {"\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"},                // overlong three-byte U+07FF
      {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},       // overlong four-byte
      {"\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"},       // overlong four-byte U+FFFF
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},                // surrogate U+D800
      {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},                // surrogate U+DFFF
      {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},       // U+110000
      {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},       // lead byte beyond U+10FFFF
      {"\xfe\xff", "\\xfe\\xff"},                         // never in UTF-8
      {"ok\xc3", "ok\\xc3"},                              // truncated at the end: two-byte
      {"ok\xe2\x82", "ok\\xe2\\x82"},                     // three-byte
      {"ok\xf0\x9f\x98", "ok\\xf0\\x9f\\x98"},            // four-byte
      {"\xe2\x82" "A", "\\xe2\\x82A"},                    // truncated before ASCII
      {"\xff\xc3\xa9\xff", "\\xff\xc3\xa9\\xff"},         // valid text between bad bytes survives
  };
  for (const auto& [raw, escaped] : cases) {
    EXPECT_FALSE(IsValidUtf8(raw)) << escaped;
    EXPECT_EQ(EscapeInvalidUtf8(raw), escaped);
    EXPECT_TRUE(IsValidUtf8(EscapeInvalidUtf8(raw))) << escaped;
  }
}

// Every string of one and two bytes, and every three- and four-byte string whose later bytes are drawn
// from each side of every boundary, agrees with the reference reading.
TEST(Utf8, AgreesWithAReferenceDecoder) {
  auto check = [](const std::string& s) {
    ASSERT_EQ(IsValidUtf8(s), ReferenceValid(s)) << EscapeInvalidUtf8(s);
    const std::string escaped = EscapeInvalidUtf8(s);
    ASSERT_TRUE(IsValidUtf8(escaped));
    ASSERT_EQ(escaped == s, ReferenceValid(s)) << escaped;
    ASSERT_EQ(EscapeInvalidUtf8(escaped), escaped);  // escaping is idempotent
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) check({static_cast<char>(a), static_cast<char>(b)});
  }
  const unsigned char tails[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xf0, 0xff};
  for (int lead = 0xc0; lead < 256; ++lead) {
    for (int b = 0; b < 256; ++b) {
      for (unsigned char c : tails) {
        check({static_cast<char>(lead), static_cast<char>(b), static_cast<char>(c)});
        for (unsigned char d : tails) {
          check({static_cast<char>(lead), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)});
        }
      }
    }
  }
}

TEST(Terminal, ControlCharactersAreEscaped) {
  EXPECT_EQ(EscapeForTerminal("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
  EXPECT_EQ(EscapeForTerminal("a\tb\nc\rd"), "a\\tb\\nc\\rd");
  EXPECT_EQ(EscapeForTerminal(std::string("\0\x01\x1f\x7f", 4)), "\\x00\\x01\\x1f\\x7f");
  EXPECT_EQ(EscapeForTerminal("\xc2\x80\xc2\x9b" "2J\xc2\x9f"), "\\u0080\\u009b2J\\u009f");  // C1 controls
  EXPECT_EQ(EscapeForTerminal("\xff\x1b"), "\\xff\\x1b");
  // Printable text, non-ASCII included, is left alone.
  for (const std::string s : {"plain", "caf\xc3\xa9", "\xc2\xa0nbsp", "\xf0\x9f\x98\x80", "~ !"}) {
    EXPECT_EQ(EscapeForTerminal(s), s);
  }
}

TEST(Json, DumpNeverThrowsAndEscapesStringsAndKeys) {
  nlohmann::ordered_json j = {{"name", "bad\xff\x1b"}, {"list", {"ok", "\xc3"}}, {"key\xfe", 1}};
  EXPECT_THROW(j.dump(), nlohmann::json::type_error);  // what DumpJson exists for
  const std::string text = DumpJson(j);
  EXPECT_EQ(text, R"({"name":"bad\\xff\u001b","list":["ok","\\xc3"],"key\\xfe":1})");
  const auto back = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(back["name"], EscapeInvalidUtf8("bad\xff\x1b"));
  // Escaped JSON is valid UTF-8 and dumps the same again: written, read and rewritten, it is stable.
  EXPECT_EQ(DumpJson(back), text);
}

TEST(Json, ValidJsonIsDumpedAsNlohmannDoes) {
  const nlohmann::json j = {{"a", "caf\xc3\xa9"}, {"b", {1, 2.5, nullptr, true}}, {"c", {{"d", "\xc2\x9b"}}}};
  EXPECT_EQ(DumpJson(j), j.dump());
  EXPECT_EQ(DumpJson(j, 2), j.dump(2));
}

TEST(Json, AsciiModeLeavesNoByteAboveSevenBits) {
  const nlohmann::ordered_json j = {{"name", "caf\xc3\xa9 \xc2\x9b" "2J \xff"}};
  const std::string text = DumpJson(j, -1, JsonText::kAscii);
  EXPECT_EQ(text, R"({"name":"caf\u00e9 \u009b2J \\xff"})");
  for (char c : text) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  EXPECT_EQ(nlohmann::ordered_json::parse(text)["name"], EscapeInvalidUtf8(j["name"].get<std::string>()));
}

}  // namespace
}  // namespace pot::text
