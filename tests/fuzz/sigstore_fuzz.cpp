// A Sigstore bundle and the OpenSSF Model Signing statement inside it, as pot hash --verify-signature reads
// them from an untrusted file: ParseBundle on the input, then ParseStatement on its payload. A first byte
// of 's' fuzzes ParseStatement on the rest directly, since a mutated payload rarely survives base64.
#include <string>

#include "fuzz_util.h"
#include "sigstore/bundle.h"
#include "sigstore/oms.h"

namespace {

void CheckStatement(const std::string& text) {
  pot::sigstore::ModelStatement statement;
  if (!pot::sigstore::ParseStatement(text, &statement).ok()) return;
  // What was accepted renders and reads back to the same statement.
  pot::sigstore::ModelStatement again;
  pot::fuzz::Check(pot::sigstore::ParseStatement(pot::sigstore::StatementJson(statement), &again).ok(),
                   "an accepted statement re-renders into one that parses");
  pot::fuzz::Check(pot::sigstore::StatementJson(again) == pot::sigstore::StatementJson(statement),
                   "rendering is stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(pot::fuzz::Bytes(data, size));
  if (!input.empty() && input[0] == 's') {
    CheckStatement(input.substr(1));
    return 0;
  }
  pot::sigstore::Bundle bundle;
  const pot::Status s = pot::sigstore::ParseBundle(input, &bundle);
  if (!s.ok()) {
    pot::fuzz::Check(!s.message().empty(), "errors carry a message");
    return 0;
  }
  pot::sigstore::Bundle again;
  pot::fuzz::Check(pot::sigstore::ParseBundle(pot::sigstore::RenderBundle(bundle), &again).ok() &&
                       again.payload == bundle.payload && again.signature == bundle.signature,
                   "an accepted bundle re-renders into the same one");
  CheckStatement(bundle.payload);
  return 0;
}
