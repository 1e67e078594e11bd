// shard: one long run (pot selfcheck, pot reference build) split into N pieces that separate processes or
// machines run independently, then merged into exactly what the run gives in one go (docs/sharding.md; the
// file: docs/formats.md, "Shard file").
//
// The contract:
// - A shard is "I/N", 0 <= I < N <= n, n the run's items (prompts or challenges). Shard I owns the
//   contiguous block of item indices [floor(I*n/N), floor((I+1)*n/N)): a function of n and N alone, which
//   the run's own header fixes along with the key or seed that fixes the items themselves.
// - A shard file is a journal (journal/journal.h): a header naming the shard and embedding the run's own
//   header (every parameter, the model's manifest root), then one line per owned item, in index order, as
//   the run's own journal holds it. A killed shard rerun resumes; a finished one rerun changes nothing.
// - Merging reads shard files as untrusted input. Each must be well-formed and complete; together they must
//   be shards 0..N-1 of one N, each once, each holding exactly the block it owns, all of one run (the same
//   run header). Anything else is refused with a message naming the file or shard at fault. The merged
//   result (a selfcheck summary and journal, a signed reference file) is byte for byte a single run's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.h"
#include "env/env.h"
#include "reference/reference.h"
#include "selfcheck/selfcheck.h"

namespace pot::shard {

inline constexpr int kFormatVersion = 1;

enum class Kind { kSelfcheck, kReferenceBuild };
const char* KindName(Kind kind);  // "selfcheck", "reference-build": the header's "kind"

struct Spec {
  uint64_t index = 0, count = 1;  // {0, 1}: the whole run
};
// "I/N" in plain decimal with 0 <= I < N; anything else is InvalidArgument (a usage error).
Status ParseSpec(std::string_view text, Spec* out);
std::string SpecName(const Spec& spec);  // "I/N"

// Items [first, end) of a run.
struct Range {
  uint64_t first = 0, end = 0;
  uint64_t size() const { return end - first; }
};
// The block spec owns of total items; InvalidArgument when there are more shards than items (a shard
// would own nothing).
Status RangeOf(const Spec& spec, uint64_t total, Range* out);

// Where a run writes shard spec: "STEM.shard-I-of-N" (STEM: DIR/selfcheck, or the reference file's path).
std::string PathFor(const std::string& stem, const Spec& spec);

// The shard file's first line; run_header is the run's own journal header line.
std::string HeaderLine(Kind kind, const Spec& spec, uint64_t total, const std::string& run_header);

// One shard file, read back in full and checked on its own.
struct Shard {
  std::string path;
  Kind kind = Kind::kSelfcheck;
  Spec spec;
  uint64_t total = 0;
  Range range;
  std::string run_header;            // the run's header line, as the run's own journal starts
  std::vector<std::string> records;  // the line of item range.first + i is records[i]
};
Status ReadShard(Env* env, const std::string& path, Shard* out);

// Reads every path (ReadShard) and checks that together they are shards 0..N-1 of one run, each once;
// *out is then in shard order.
Status ReadShards(Env* env, const std::vector<std::string>& paths, std::vector<Shard>* out);

// Selfcheck shards (from ReadShards) merged: the summary a single run prints, and *journal the bytes of
// the journal (DIR/selfcheck.jsonl) it writes. *options and *method are the run's, for the summary.
Status MergeSelfcheck(const std::vector<Shard>& shards, selfcheck::Options* options, std::string* method,
                      selfcheck::Summary* summary, std::string* journal);

// Reference build shards (from ReadShards) merged into the signed file one build writes, signed by signer.
Status MergeReference(const std::vector<Shard>& shards, const SigningKey& signer, reference::Header* header,
                      std::string* file);

// Runs shard spec of the reference build options describes (options.signer is not used: a shard is not
// signed), journaled to *path = PathFor(options.out_path, spec).
Status BuildReferenceShard(Env* env, const reference::BuildOptions& options, const Spec& spec, std::string* path,
                           Range* range, uint64_t* resumed_from);

}  // namespace pot::shard
