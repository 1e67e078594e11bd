// The evidence bundle and its Statement, as pot audit and pot report read them from an untrusted file:
// ParseBundle on the input, then (as the auditor does) ParseStatement on its payload and ParseTranscript on
// its transcript. A first byte of 's' fuzzes ParseStatement on the rest directly, since a mutated payload
// rarely survives base64 and the bundle's canonical-form check.
#include <string>

#include "evidence/bundle.h"
#include "fuzz_util.h"

namespace {

void CheckStatement(const std::string& text) {
  pot::evidence::Claim claim;
  if (!pot::evidence::ParseStatement(text, &claim).ok()) return;
  pot::fuzz::Check(pot::evidence::StatementJson(claim) == text, "an accepted Statement is in canonical form");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(pot::fuzz::Bytes(data, size));
  if (!input.empty() && input[0] == 's') {
    CheckStatement(input.substr(1));
    return 0;
  }
  pot::evidence::Bundle bundle;
  const pot::Status s = pot::evidence::ParseBundle(input, &bundle);
  if (!s.ok()) {
    pot::fuzz::Check(!s.message().empty(), "errors carry a message");
    return 0;
  }
  pot::fuzz::Check(input.back() == '\n', "a bundle ends with a newline");
  CheckStatement(bundle.payload);
  pot::evidence::Transcript transcript;
  if (pot::evidence::ParseTranscript(bundle.transcript, &transcript).ok()) {
    pot::fuzz::Check(transcript.records.size() + 1 + transcript.finished == bundle.transcript.size(),
                     "every transcript line is the header, a record or the outcome");
  }
  return 0;
}
