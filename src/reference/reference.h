// reference: a signed file that stands in for the reference model. Built once from the reference model
// alone for the first n committed challenges, it keeps, per scored position, the reference's top-k
// next-token log-probabilities, a few tokens drawn from the rest of its distribution (keyed by the
// challenge key), and the log-probability of the token that follows; pot verify --reference then loads
// only the candidate. Byte layout: docs/formats.md, "Reference file".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "challenge/challenge.h"
#include "crypto/ed25519.h"
#include "engine/engine.h"
#include "env/env.h"
#include "evidence/transcript.h"
#include "verify/score.h"
#include "verify/verify.h"

namespace pot::reference {

inline constexpr int kFormatVersion = 2;  // 1 (no placement) is still read
inline constexpr int kMaxTopK = 20;
inline constexpr int kMaxTailSamples = 20;
inline constexpr char kPayloadType[] = "application/vnd.pot.reference.v1";

struct Header {
  int version = kFormatVersion;
  std::string pot_version, llama_commit;
  // Where the reference model's layers ran when the file was built (placement::Describe, canonical JSON;
  // "" in version 1): numerics, which verify sets beside the candidate's.
  std::string placement;
  evidence::ModelRef model;
  std::string vocab_sha256;
  uint32_t n_vocab = 0;
  std::string commitment;  // hex
  std::string family, family_params;
  uint64_t n_max_committed = 0;
  uint64_t n = 0;  // challenges 0..n-1 are in the file
  int continuation_tokens = 0;
  int topk = 0;
  int tail_samples = 0;
};

// One challenge as the reference saw it. rows.logp holds the decoded (quantized) values.
struct Challenge {
  std::vector<int32_t> prompt_tokens, continuation;
  verify::ReferenceRows rows;  // one row per position of prompt + continuation but the last token
};

struct File {
  Header header;
  std::vector<Challenge> challenges;  // challenge i is challenges[i]
  std::string signer;                 // raw Ed25519 public key
  std::string sha256;                 // hex, of the whole file
};

// The header's canonical JSON, as the file and the build journal hold it.
std::string HeaderJson(const Header& h);
// One challenge's binary record. Log-probabilities of the head and tail entries are stored in 24-bit
// fixed point (steps of 2^-18 nats, clamped to [-64, 0]); targets' log-probabilities as f32.
Status EncodeChallenge(const Header& h, const Challenge& c, std::string* out);
// The signed file: magic, header, the records of challenges 0..n-1 in order, then the signer's public key
// and its Ed25519 signature over the DSSE encoding of everything before them.
Status Assemble(const Header& h, const std::vector<std::string>& records, const SigningKey& signer, std::string* out);
// Parses the header's JSON and checks it is canonical (HeaderJson gives the same text) and in range.
Status ParseHeader(const std::string& text, Header* out);
// Checks one binary record against the header: every record it accepts is one EncodeChallenge could write.
Status CheckRecord(const Header& h, const std::string& record);
// A line of a build journal, {"index":i,"record":BASE64}, and back: ParseJournalLine accepts only the
// canonical line of challenge index whose record passes CheckRecord.
std::string JournalLine(uint64_t index, const std::string& record);
Status ParseJournalLine(const Header& h, const std::string& line, uint64_t index, std::string* record);
// Reads and checks a whole file: layout, canonical header, every record, and the signature. Whether the
// signer is trusted is the caller's question.
Status ParseFile(const std::string& bytes, File* out);
Status ReadFile(Env* env, const std::string& path, File* out);

struct BuildOptions {
  std::string model_path;
  placement::Placement placement;
  engine::ContextOptions context;
  challenge::KeyFile key;
  std::string corpus_path;  // for the corpus family
  uint64_t n = 0;
  int continuation_tokens = 0;
  int topk = 4;
  int tail_samples = 4;
  std::string out_path;
  SigningKey signer;
  // build_progress is also called once before the first challenge, with the challenges a resumed build
  // found in its journal.
  std::function<void(uint64_t done, uint64_t total)> hash_progress, build_progress;
  // Asked before each challenge: true ends the build with Status::Internal("interrupted"), its journal
  // holding every challenge finished, for the rerun to resume (cli/interrupt.h).
  std::function<bool()> stop;
};

// The header a build of options writes: every parameter checked, the model described (hashed).
Status BuildHeader(Env* env, const BuildOptions& options, Header* out);
// The records of challenges [first, end) of h, each journaled (JournalLine) to journal_path, whose first
// line is journal_header, as it completes; a rerun resumes after the records already there. *records
// receives the range's records in order. Build uses it for the whole file, a shard (shard/shard.h) for its
// block.
Status BuildRecords(Env* env, const BuildOptions& options, const Header& h, const std::string& journal_path,
                    const std::string& journal_header, uint64_t first, uint64_t end, std::vector<std::string>* records,
                    uint64_t* resumed_from);
// Builds out_path from the reference model. Challenges are journaled to out_path + ".journal" as they
// complete, so a killed build resumes where it stopped when rerun with the same model, key and
// parameters; the journal is removed once the signed file is in place.
Status Build(Env* env, const BuildOptions& options, uint64_t* resumed_from);

// The uniform draw in [0, 1) behind tail sample j of row of challenge index: the first 53 bits of
//   HMAC-SHA256(key, lp("pot.reference.tail.v1") || u64le(index) || u64le(row) || u64le(j)) / 2^53
// so nobody without the key can predict which tail tokens are checked.
double TailUniform(std::string_view key, uint64_t index, uint64_t row, uint64_t j);

// Whether a reference file really comes from the model it names: the signature says only who made it, and
// a file built from one model can name another. RecheckRecords recomputes challenges of file from the
// model at model_path (whose manifest the caller has checked against the file's header): for each, the
// greedy continuation must be the stored one, the head the model's top-k in order, and every stored
// log-probability (head, tail samples, target) the model's within tolerance. With the challenge key the
// tail samples must also be the keyed draws (TailUniform); without it they are checked by value only.
// A record the model does not reproduce is Status::Corruption naming the challenge and the position.
struct RecheckOptions {
  std::string model_path;
  placement::Placement placement;
  engine::ContextOptions context;
  std::string key;                // the raw challenge key, or empty
  std::vector<uint64_t> indices;  // the challenges to recompute; empty: every one
  double tolerance = 1e-3;        // largest accepted |stored - recomputed| log-probability, nats
  std::function<void(uint64_t done, uint64_t total)> progress;
};
struct RecheckResult {
  uint64_t checked = 0;            // challenges recomputed
  uint64_t positions = 0;          // their rows
  double largest_difference = 0;   // nats
};
Status RecheckRecords(const File& file, const RecheckOptions& options, RecheckResult* out);

// count distinct challenge indices below n drawn uniformly with the CSPRNG (all of them when count >= n),
// ascending: a sample nobody could predict when the file was made.
Status SampleChallenges(uint64_t n, uint64_t count, std::vector<uint64_t>* out);

// The candidate against a reference file: only the candidate is loaded. Each challenge must be the
// file's challenge of that index, tokenized identically by the candidate's vocabulary; scores are
// verify::ScoreAgainstReference (total variation).
class FileScorer : public verify::ChallengeScorer {
 public:
  static Status Open(const File* file, const verify::ModelSide& candidate, std::unique_ptr<verify::ChallengeScorer>* out);
  Status Score(const challenge::Challenge& challenge, verify::ChallengeRecord* rec) override;

 private:
  explicit FileScorer(const File* file) : file_(file) {}
  const File* file_;
  engine::ModelPtr model_;
  engine::ContextPtr ctx_;
  engine::Distributions dist_;
  verify::ReferenceRows cand_topk_;
  std::vector<int32_t> tokens_, sequence_, targets_;
};

}  // namespace pot::reference
