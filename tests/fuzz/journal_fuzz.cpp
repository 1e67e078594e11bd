// The journal a resumed run reopens (pot verify -o, reference build, selfcheck --journal), with the input as
// the file's contents in an in-memory Env and verify's transcript header as the run. When Open accepts the
// file, the file then holds exactly the header and the lines handed back (a torn tail is repaired away), the
// resumed transcript is parsed as pot verify does, and a line appended afterwards is handed back by the
// next Open.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evidence/transcript.h"
#include "fuzz_util.h"
#include "journal/journal.h"
#include "samples.h"

namespace {

bool IsJsonObject(const std::string& line) { return nlohmann::json::parse(line, nullptr, false).is_object(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string header =
      pot::evidence::HeaderLine(pot::fuzz::SampleHeader(pot::verify::Distance::kTotalVariation, false));
  auto env = pot::NewMemEnv();
  pot::fuzz::WriteFile(env.get(), "transcript.jsonl", pot::fuzz::Bytes(data, size));
  std::vector<std::string> done;
  std::unique_ptr<pot::journal::Journal> journal;
  const pot::Status s = pot::journal::Journal::Open(env.get(), "transcript.jsonl", header, IsJsonObject, &done, &journal);
  if (!s.ok()) {
    pot::fuzz::Check(!s.message().empty(), "errors carry a message");
    return 0;
  }
  std::string expected = header + "\n";
  for (const auto& line : done) {
    pot::fuzz::Check(line.find('\n') == std::string::npos && IsJsonObject(line), "handed-back lines are whole");
    expected += line + "\n";
  }
  pot::fuzz::Check(pot::fuzz::ReadFile(env.get(), "transcript.jsonl") == expected,
                   "after Open the file is the header and the lines handed back");
  std::vector<std::string> lines = {header};
  lines.insert(lines.end(), done.begin(), done.end());
  pot::evidence::Transcript resumed;
  (void)pot::evidence::ParseTranscript(lines, &resumed);

  pot::fuzz::Check(journal->Append("{\"type\":\"next\"}").ok() && journal->Close().ok(), "append");
  journal.reset();  // releases the journal's lock, as the end of a run does
  std::vector<std::string> again;
  pot::fuzz::Check(pot::journal::Journal::Open(env.get(), "transcript.jsonl", header, IsJsonObject, &again, &journal).ok(),
                   "a journal reopens after an append");
  done.push_back("{\"type\":\"next\"}");
  pot::fuzz::Check(again == done, "the appended line is handed back");
  return 0;
}
