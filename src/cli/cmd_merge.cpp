#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/output.h"
#include "crypto/sha256.h"
#include "shard/shard.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

// Selfcheck shards: the summary a single run prints, and with -o the journal it writes.
int MergeSelfcheck(const Args& args, Env* env, const std::vector<shard::Shard>& shards) {
  if (args.Has("sign")) return ReportError(Status::InvalidArgument("selfcheck shards merge into a summary: --sign does not apply"));
  selfcheck::Options options;
  std::string method, journal;
  selfcheck::Summary summary;
  Status s = shard::MergeSelfcheck(shards, &options, &method, &summary, &journal);
  if (s.ok() && args.Get("output")) s = WriteFileAtomically(env, *args.Get("output"), journal, OutputWrite(args));
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    PrintJson(selfcheck::SummaryJson(options, method, summary));
  } else {
    std::fputs(selfcheck::SummaryText(options, method, summary).c_str(), stdout);
  }
  return summary.matches == summary.prompts ? kExitOk : kExitNegative;
}

// Reference build shards: the signed file a single build writes, byte for byte.
int MergeReference(const Args& args, Env* env, const std::vector<shard::Shard>& shards) {
  const auto out = args.Get("output"), sign_path = args.Get("sign");
  if (!out || !sign_path) {
    return ReportError(Status::InvalidArgument("reference build shards merge into a signed file: give --sign SIGNKEY -o REF.potref"));
  }
  SigningKey signer;
  reference::Header header;
  std::string bytes;
  Status s = ReadSigningKey(env, *sign_path, &signer);
  if (s.ok()) s = shard::MergeReference(shards, signer, &header, &bytes);
  if (s.ok()) s = WriteFileAtomically(env, *out, bytes, OutputWrite(args));
  if (!s.ok()) return ReportError(s);
  const std::string sha256 = ToHex(Sha256Of(bytes));
  if (args.Has("json")) {
    PrintJson({{"file", *out}, {"challenges", header.n}, {"shards", shards.size()}, {"sha256", sha256},
               {"signer", KeyId(signer.public_raw)}});
  } else {
    std::printf("%s: %llu challenges from %zu shards, top-%d, sha256 %s, signed by %s\n", out->c_str(),
                static_cast<unsigned long long>(header.n), shards.size(), header.topk, sha256.c_str(),
                KeyId(signer.public_raw).c_str());
  }
  return kExitOk;
}

int RunMerge(const Args& args) {
  Env* env = Env::Default();
  std::vector<shard::Shard> shards;
  Status s = shard::ReadShards(env, args.positionals(), &shards);
  if (s.ok() && args.Get("output")) {
    auto inputs = args.positionals();
    inputs.push_back(args.Get("sign").value_or(""));
    s = CheckOutputPath(env, *args.Get("output"), inputs, args.Has("force"));
  }
  if (!s.ok()) return ReportError(s);
  return shards.front().kind == shard::Kind::kSelfcheck ? MergeSelfcheck(args, env, shards)
                                                        : MergeReference(args, env, shards);
}

}  // namespace

CommandSpec MergeCommand() {
  return {"merge",
          "merge the shards of a selfcheck or reference build (--shard I/N) into what one run gives",
          "SHARD... [--json] [-o OUT] [--sign SIGNKEY] [--force]",
          {{"output", true, "selfcheck: write the run's journal here; reference build: the signed reference file", 'o', "OUT"},
           {"sign", true, "reference build: the Ed25519 signing key (pot keygen)", 0, "SIGNKEY"},
           ForceOption(),
           {"json", false, "print one JSON object"}},
          RunMerge};
}

}  // namespace pot::cli
