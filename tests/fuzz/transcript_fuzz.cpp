// The verify transcript (JSON Lines), as pot audit reads it from a bundle and pot verify reads it back when
// resuming: ParseTranscript over the input's lines. An accepted transcript re-serializes (HeaderLine,
// RecordLine, OutcomeLine) to lines that parse to the same transcript: nothing accepted is lost or changed
// by pot's own writers.
#include <string>
#include <vector>

#include "evidence/transcript.h"
#include "fuzz_util.h"

namespace {

std::vector<std::string> Lines(const pot::evidence::Transcript& t) {
  std::vector<std::string> lines = {pot::evidence::HeaderLine(t.header)};
  for (const auto& r : t.records) lines.push_back(pot::evidence::RecordLine(r, t.header.distance));
  if (t.finished) lines.push_back(pot::evidence::OutcomeLine(t.outcome));
  return lines;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> lines = SplitLines(std::string(pot::fuzz::Bytes(data, size)));
  pot::evidence::Transcript t;
  const pot::Status s = pot::evidence::ParseTranscript(lines, &t);
  if (!s.ok()) {
    pot::fuzz::Check(!s.message().empty(), "errors carry a message");
    return 0;
  }
  pot::fuzz::Check(t.records.size() + 1 + t.finished == lines.size(),
                   "every line is the header, a record or the outcome");
  const std::vector<std::string> written = Lines(t);
  pot::evidence::Transcript again;
  pot::fuzz::Check(pot::evidence::ParseTranscript(written, &again).ok(), "pot's rendering of an accepted transcript parses");
  pot::fuzz::Check(Lines(again) == written, "an accepted transcript round-trips through pot's writers");
  return 0;
}
