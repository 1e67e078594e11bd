// The evidence bundle: an in-toto Statement about a verify run, in a DSSE envelope signed with Ed25519,
// with the transcript it commits to. One canonical JSON file; docs/formats.md, "Evidence bundle".
#pragma once

#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "evidence/transcript.h"

namespace pot::evidence {

inline constexpr int kBundleVersion = 1;
inline constexpr char kPayloadType[] = "application/vnd.in-toto+json";
inline constexpr char kPredicateType[] = "https://github.com/pot-verify/pot/verify/v1";

// What the Statement asserts, beyond the transcript's own header.
struct Claim {
  Header header;
  Outcome outcome;
  std::string key_hex;  // the revealed challenge key
  std::string transcript_root;
  uint64_t transcript_size = 0;
};

std::string StatementJson(const Claim& claim);
Status ParseStatement(const std::string& json_text, Claim* out);

struct Bundle {
  std::string payload;     // the Statement's bytes, as signed
  std::string signature;   // raw Ed25519 signature over DssePae(kPayloadType, payload)
  std::string public_key;  // raw 32 bytes of the signer's key
  std::vector<std::string> transcript;  // the lines
};

// Signs claim's Statement and renders the bundle file (canonical, ends with a newline).
Status MakeBundle(const SigningKey& key, const Claim& claim, const std::vector<std::string>& transcript,
                  std::string* text);
// The same Statement, signed the same way, as a Sigstore bundle v0.3 (sigstore/bundle.h, docs/formats.md
// "Sigstore bundle"): what Sigstore's verifiers read, beside bundle.json. It carries no transcript; the
// Statement commits to the transcript's root.
Status MakeSigstoreBundle(const SigningKey& key, const Claim& claim, std::string* text);
// Parses a bundle file. Only the canonical rendering of its content is accepted, so no byte of a valid
// bundle can change without the bundle becoming invalid or saying something else.
Status ParseBundle(const std::string& text, Bundle* out);

}  // namespace pot::evidence
