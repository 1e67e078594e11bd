// evidence: the verify transcript and the signed bundle (docs/formats.md, "Verify transcript" and
// "Evidence bundle"). A transcript is JSON Lines: a header, one record per scored challenge, and the
// outcome. Every line, as bytes, is one leaf of an RFC 6962 tree; the root is what the bundle signs, so
// a changed, dropped, added or reordered line changes the root.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "env/env.h"
#include "manifest/manifest.h"
#include "stats/sequential.h"
#include "verify/feed.h"
#include "verify/score.h"

namespace pot::evidence {

// 5 (no test.bet: the plug-in bets), 4 (no placement) and 3 (no endpoint fields) are still read, and a header
// is written back in its own version, so an old bundle's statement re-renders byte for byte.
inline constexpr int kTranscriptVersion = 6;

// One model as the evidence names it: its files and their SHA-256, and its weight manifest's roots.
struct ModelRef {
  std::vector<std::string> files;         // base names, shard order
  std::vector<std::string> file_sha256s;  // hex, one per file
  std::string manifest_root, weights_root;
};

// The same files, file digests and manifest roots.
bool SameModel(const ModelRef& a, const ModelRef& b);

// Its JSON form (transcripts, statements, reference files); ModelRefFrom throws on a malformed one.
nlohmann::ordered_json ModelRefJson(const ModelRef& m);
ModelRef ModelRefFrom(const nlohmann::ordered_json& j);

// The reference file a run scored against instead of a reference model (pot verify --reference).
struct ReferenceFileRef {
  std::string name;        // base name
  std::string sha256;      // hex, of the whole file
  std::string signer_hex;  // raw Ed25519 public key of its signer, hex
  // How the run trusted that signer: kPinned when the signer was the key given by --trust, kUnpinned when
  // the user opted out of pinning (--accept-any-reference-signer); an auditor weighs the run accordingly.
  std::string signer_trust;
};
inline constexpr char kSignerPinned[] = "pinned";
inline constexpr char kSignerUnpinned[] = "unpinned";

// Hashes the model at path (its weight manifest and each file's SHA-256; options.file_digest is forced on).
Status DescribeModel(Env* env, const std::string& path, manifest::HashOptions options, ModelRef* out);

// The endpoint a run scored instead of a candidate model (pot verify --endpoint): what pot was told and
// what it asked for; what the endpoint answered is in each record's exchange.
struct EndpointRef {
  std::string url;              // base URL, without userinfo
  std::string api;              // endpoint::ApiName
  std::string model_requested;  // --model ("" when none was named)
  std::string model_served;     // the name the endpoint listed or answered as before the run ("" if none)
  std::string fingerprint;      // a build or system fingerprint it reported ("" if none)
  std::string score;            // endpoint::ScoreName
  double tau = 0;               // the greedy margin, nats
  int top_logprobs = 0;         // k asked for
  std::string system;           // openai-chat: the system message sent with each challenge ("" when none)
};

struct Header {
  int version = kTranscriptVersion;  // what HeaderLine writes: the version read, or the current one
  std::string pot_version, llama_commit;
  ModelRef reference, candidate;  // with a reference file, reference is the model the file was built from;
                                  // with an endpoint, candidate is empty
  std::optional<ReferenceFileRef> reference_file;
  std::optional<EndpointRef> endpoint;
  std::string vocab_sha256;
  std::string commitment;  // hex
  std::string family, family_params;
  uint64_t n_max_committed = 0;
  stats::TestParams test;  // test.bet is Bet::kPlugIn before version 6
  verify::Distance distance = verify::Distance::kTotalVariation;
  int continuation_tokens = 0;
  uint32_t cand_ubatch = 0;
  bool cand_flash_attn = false;
  int topk = 0;  // k of the per-position top-k digests
  // Where each model's layers ran, as placement::Describe gives it (canonical JSON): for a reference file,
  // where it was built ("" for a version 1 file); "" for an endpoint's candidate, and before version 5.
  // Numerics, not identity: two runs on other placements of the same models are the same claim.
  std::string ref_placement, cand_placement;
  // How the test read the records: per token for endpoint runs (two-sided for the text score), per
  // challenge otherwise.
  verify::Feed feed() const {
    if (!endpoint) return verify::Feed::kChallenge;
    return endpoint->score == "text" ? verify::Feed::kCentered : verify::Feed::kToken;
  }
};

// An endpoint run's exchange for one challenge: the request body pot sent, the endpoint's response body
// exactly as received, and the per-token scores pot computed from it (what the test read).
struct Exchange {
  std::string request, response;
  std::vector<double> token_scores;
};

struct Record {
  uint64_t index = 0;
  std::string prompt;
  std::string tag;  // hex HMAC tag of the challenge
  std::vector<int32_t> prompt_tokens, continuation;
  std::string topk_sha256;  // hex; see TopKDigest
  verify::ChallengeScore score;
  double lower = 0, upper = 1;
  std::optional<Exchange> exchange;  // endpoint runs
};

// No timings here or in Record: the transcript of a run that was interrupted and resumed is byte for byte
// the transcript of the same run uninterrupted (timings go to result.json).
struct Outcome {
  stats::Decision decision = stats::Decision::kUndecided;
  uint64_t n_used = 0;
  double mean = 0, lower = 0, upper = 1;
};

struct Transcript {
  Header header;
  std::vector<Record> records;
  Outcome outcome;
  bool finished = false;  // the outcome line is present
};

std::string HeaderLine(const Header& h);
std::string RecordLine(const Record& r, verify::Distance distance);
std::string OutcomeLine(const Outcome& o);

// Parses lines strictly: a header first, records, at most one outcome and only last; every field
// present and of the right type. Errors name the line.
Status ParseTranscript(const std::vector<std::string>& lines, Transcript* out);

// RFC 6962 root (hex) over the lines as leaves.
std::string TranscriptRoot(const std::vector<std::string>& lines);

}  // namespace pot::evidence
