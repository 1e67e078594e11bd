// text: strings that come from outside pot (file names, GGUF strings and tensor names, corpus lines,
// prompts) are bytes, not necessarily UTF-8. Contract (docs/formats.md, "Strings that are not UTF-8"):
//  - IsValidUtf8 accepts exactly the well-formed UTF-8 of Unicode's Table 3-7: no overlong forms, no
//    surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.
//  - EscapeInvalidUtf8 returns valid UTF-8: every byte that does not belong to a well-formed sequence
//    becomes the four characters \xNN (two lowercase hex digits); valid text comes back unchanged. The
//    escaping is for reading, not for identity: it is not reversible (a name holding the characters
//    "\xff" and one holding the byte 0xff escape alike), so pot hashes and compares the raw bytes.
//  - EscapeForTerminal also escapes what would drive a terminal: tab, newline and carriage return as
//    \t \n \r, every other C0 control and DEL as \xNN, the C1 controls U+0080..U+009F as \u0080..\u009f.
//  - DumpJson writes JSON that never fails on bytes: every string, object keys included, goes through
//    EscapeInvalidUtf8 first. kAscii also writes every non-ASCII character as \uXXXX (for a terminal).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace pot::text {

bool IsValidUtf8(std::string_view s);
std::string EscapeInvalidUtf8(std::string_view s);
std::string EscapeForTerminal(std::string_view s);

enum class JsonText {
  kUtf8,   // files: characters as they are (escaped bytes aside)
  kAscii,  // standard output: no byte above 0x7f, so no C1 control reaches a terminal
};
// indent as nlohmann's dump: -1 one line, n >= 0 pretty with n spaces.
std::string DumpJson(const nlohmann::json& j, int indent = -1, JsonText mode = JsonText::kUtf8);
std::string DumpJson(const nlohmann::ordered_json& j, int indent = -1, JsonText mode = JsonText::kUtf8);

}  // namespace pot::text
