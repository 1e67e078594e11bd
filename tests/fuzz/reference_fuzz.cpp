// The signed reference file (pot verify --reference, pot audit). Its signature covers every byte before
// the signature block, so mutation alone never gets past it: the input is taken as the signed body and
// signed with the fixed test key, so the parser behind the signature is what is fuzzed; the input is also
// parsed as it is, as a whole file (the signature path). An accepted file is one pot's own encoder writes:
// re-encoding its header and records and signing with the same key gives back the same bytes.
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "reference/reference.h"

namespace {


void CheckAccepted(const pot::reference::File& f, const std::string& bytes) {
  std::vector<std::string> records(f.challenges.size());
  for (size_t i = 0; i < records.size(); ++i) {
    pot::fuzz::Check(pot::reference::EncodeChallenge(f.header, f.challenges[i], &records[i]).ok(),
                     "an accepted record re-encodes");
  }
  std::string again;
  pot::fuzz::Check(pot::reference::Assemble(f.header, records, pot::fuzz::TestSigningKey(), &again).ok(),
                   "an accepted file reassembles");
  pot::fuzz::Check(again == bytes, "an accepted file is exactly what pot's encoder writes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(pot::fuzz::Bytes(data, size));
  const pot::SigningKey& key = pot::fuzz::TestSigningKey();
  std::string signature;
  pot::fuzz::Check(pot::Sign(key, pot::DssePae(pot::reference::kPayloadType, body), &signature).ok(), "signing");
  const std::string signed_file = body + key.public_raw + signature;
  pot::reference::File f;
  const pot::Status s = pot::reference::ParseFile(signed_file, &f);
  if (s.ok()) {
    pot::fuzz::Check(f.signer == key.public_raw, "the signer is the key in the file");
    CheckAccepted(f, signed_file);
  } else {
    pot::fuzz::Check(!s.message().empty(), "errors carry a message");
  }
  pot::reference::File as_is;
  if (pot::reference::ParseFile(body, &as_is).ok() && as_is.signer == key.public_raw) CheckAccepted(as_is, body);
  return 0;
}
