#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/interrupt.h"
#include "cli/placement_options.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "evidence/transcript.h"
#include "manifest/manifest.h"
#include "reference/reference.h"
#include "shard/shard.h"
#include "text/text.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

// One shard of the build: its block of challenges journaled to REF.potref.shard-I-of-N, for pot merge.
int BuildShard(const Args& args, Env* env, const reference::BuildOptions& o, const shard::Spec& spec,
               const std::function<int()>& interrupted) {
  std::string path;
  shard::Range range;
  uint64_t resumed_from = 0;
  Status s = shard::BuildReferenceShard(env, o, spec, &path, &range, &resumed_from);
  if (!s.ok()) return Interrupted() ? interrupted() : ReportError(s);
  if (args.Has("json")) {
    PrintJson({{"file", path}, {"shard", shard::SpecName(spec)}, {"first", range.first}, {"last", range.end - 1}});
    return kExitOk;
  }
  std::printf("%s: shard %s, challenges %llu to %llu; pot merge it with the others\n", path.c_str(),
              shard::SpecName(spec).c_str(), static_cast<unsigned long long>(range.first),
              static_cast<unsigned long long>(range.end - 1));
  return kExitOk;
}

int Build(const Args& args) {
  Env* env = Env::Default();
  const auto& pos = args.positionals();
  auto key_path = args.Get("key"), sign_path = args.Get("sign"), out = args.Get("output"), shard_text = args.Get("shard");
  if (pos.size() != 2 || !key_path || (!sign_path && !shard_text) || !out || !args.Has("n")) {
    return ReportError(Status::InvalidArgument("reference build needs MODEL --key KEYFILE --sign SIGNKEY -n N -o REF.potref"));
  }
  // A shard is not signed, so the signing key stays on the machine that merges (shard/shard.h).
  if (shard_text && sign_path) return ReportError(Status::InvalidArgument("--shard builds an unsigned part: give --sign to pot merge"));
  reference::BuildOptions o;
  o.model_path = pos[1];
  o.out_path = *out;
  o.corpus_path = args.Get("corpus").value_or("");
  uint64_t tokens = 0, topk = 0, samples = 0;
  Status s = args.GetU64("n", 0, &o.n);
  if (s.ok()) s = args.GetU64("tokens", 0, &tokens);
  if (s.ok()) s = args.GetU64("topk", 4, &topk);
  if (s.ok()) s = args.GetU64("samples", 4, &samples);
  if (s.ok()) s = args.GetThreads("threads", 0, &o.context.n_threads);
  if (s.ok()) s = PlacementFromArgs(args, &o.placement);
  if (s.ok() && tokens > verify::kMaxContinuationTokens) {
    s = Status::InvalidArgument("--tokens is at most " + std::to_string(verify::kMaxContinuationTokens));
  }
  if (s.ok() && (topk < 1 || topk > reference::kMaxTopK)) {
    s = Status::InvalidArgument("--topk must be between 1 and " + std::to_string(reference::kMaxTopK));
  }
  if (s.ok() && samples > reference::kMaxTailSamples) {
    s = Status::InvalidArgument("--samples is at most " + std::to_string(reference::kMaxTailSamples));
  }
  shard::Spec spec;
  if (s.ok() && shard_text) s = shard::ParseSpec(*shard_text, &spec).WithContext("--shard");
  if (!s.ok()) return ReportError(s);
  o.tail_samples = static_cast<int>(samples);
  o.continuation_tokens = static_cast<int>(tokens);
  o.topk = static_cast<int>(topk);
  // A finished file is replaced only with --force; an unfinished build (its journal present) is resumed. A
  // shard's file is its journal: rerun, a finished shard stays as it is.
  const std::string written = shard_text ? shard::PathFor(o.out_path, spec) : o.out_path;
  const bool resuming = env->FileExists(shard_text ? written : o.out_path + ".journal");
  auto inputs = InputsOf(args, {"key", "sign", "corpus"});
  inputs.push_back(o.model_path);
  s = CheckOutputPath(env, written, inputs, args.Has("force") || resuming);
  if (!s.ok()) return ReportError(s);
  s = challenge::ReadKeyFile(env, *key_path, &o.key);
  if (s.ok() && !shard_text) s = ReadSigningKey(env, *sign_path, &o.signer);
  if (s.ok() && o.n > o.key.n_max) {
    s = Status::InvalidArgument("-n " + std::to_string(o.n) + " exceeds the key's committed n_max " + std::to_string(o.key.n_max));
  }
  if (!s.ok()) return ReportError(s);
  // The challenges this call is to build: all N, or the shard's block.
  shard::Range range{0, o.n};
  if (shard_text) {
    s = shard::RangeOf(spec, o.n, &range).WithContext("--shard " + shard::SpecName(spec));
    if (!s.ok()) return ReportError(s);
  }
  engine::Init(args.Has("verbose"));
  const bool quiet = args.Has("quiet");
  ProgressBar hash_bar("hashing " + o.model_path, quiet);
  ProgressBar build_bar("challenges", quiet, "challenges", 1);
  uint64_t built = 0;
  bool first_progress = true;
  o.hash_progress = [&hash_bar](uint64_t done, uint64_t total) { hash_bar.Update(done, total); };
  o.build_progress = [&](uint64_t done, uint64_t total) {
    if (first_progress) {
      if (done > 0) ReportResuming(done, total, "challenges", shard_text ? written : o.out_path + ".journal");
      // From now on (the model hashed, the journal open) a signal stops the build between challenges; the
      // journal keeps every finished one for the rerun.
      StopOnSignals();
    }
    first_progress = false;
    built = done;
    build_bar.Update(done, total);
  };
  o.stop = [] { return Interrupted(); };
  auto interrupted = [&] { return ReportInterrupted(built, range.size(), "challenges"); };
  if (shard_text) return BuildShard(args, env, o, spec, interrupted);
  uint64_t resumed_from = 0;
  s = reference::Build(env, o, &resumed_from);
  if (!s.ok() && Interrupted()) return interrupted();
  if (!s.ok()) return ReportError(s);
  reference::File file;
  s = reference::ReadFile(env, o.out_path, &file);
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    PrintJson({{"file", o.out_path}, {"challenges", file.header.n}, {"topk", file.header.topk},
               {"tail_samples", file.header.tail_samples}, {"continuation_tokens", file.header.continuation_tokens},
               {"sha256", file.sha256}, {"signer", KeyId(file.signer)}, {"resumed_from", resumed_from}});
    return kExitOk;
  }
  std::printf("%s: %llu challenges, top-%d, sha256 %s, signed by %s\n", o.out_path.c_str(),
              static_cast<unsigned long long>(file.header.n), file.header.topk, file.sha256.c_str(),
              KeyId(file.signer).c_str());
  return kExitOk;
}

// info --model: is the file what that model gives? The model must be the one the header names (its
// manifest), and its recomputed records (all, or --sample of them) the file's. A record it does not
// reproduce is a negative answer, not an error.
Status RecheckAgainstModel(Env* env, const Args& args, const reference::File& file, std::string* failure,
                           reference::RecheckResult* result) {
  reference::RecheckOptions o;
  o.model_path = *args.Get("model");
  uint64_t sample = 0;
  POT_RETURN_IF_ERROR(args.GetThreads("threads", 0, &o.context.n_threads));
  POT_RETURN_IF_ERROR(PlacementFromArgs(args, &o.placement));
  POT_RETURN_IF_ERROR(args.GetU64("sample", 0, &sample));
  if (auto key_path = args.Get("key")) {
    challenge::KeyFile key;
    POT_RETURN_IF_ERROR(challenge::ReadKeyFile(env, *key_path, &key));
    o.key = key.key;
  }
  if (sample > 0) POT_RETURN_IF_ERROR(reference::SampleChallenges(file.header.n, sample, &o.indices));
  evidence::ModelRef model;
  ProgressBar hash_bar("hashing " + o.model_path, args.Has("quiet"));
  manifest::HashOptions hashing;
  hashing.progress = [&hash_bar](uint64_t done, uint64_t total) { hash_bar.Update(done, total); };
  POT_RETURN_IF_ERROR(evidence::DescribeModel(env, o.model_path, hashing, &model));
  if (!evidence::SameModel(model, file.header.model)) {
    *failure = o.model_path + " is not the model the file names (manifest root " + model.manifest_root + ", the file's " +
               file.header.model.manifest_root + ")";
    return Status::OK();
  }
  engine::Init(args.Has("verbose"));
  ProgressBar bar("recomputing", args.Has("quiet"), "challenges", 1);
  o.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  Status s = reference::RecheckRecords(file, o, result);
  if (s.code() == Status::Code::kCorruption) {
    *failure = s.message();
    return Status::OK();
  }
  return s;
}

int Info(const Args& args) {
  if (args.positionals().size() != 2) return ReportError(Status::InvalidArgument("reference info needs REF.potref"));
  Env* env = Env::Default();
  const std::string& path = args.positionals()[1];
  reference::File file;
  Status s = reference::ReadFile(env, path, &file);
  std::string trusted;
  if (s.ok() && args.Get("trust")) s = ReadPublicKey(env, *args.Get("trust"), &trusted);
  std::string recheck_failure;
  reference::RecheckResult recheck;
  if (s.ok() && args.Get("model")) s = RecheckAgainstModel(env, args, file, &recheck_failure, &recheck);
  if (!s.ok()) return ReportError(s);
  const bool trust_ok = trusted.empty() || trusted == file.signer;
  const bool records_ok = recheck_failure.empty();
  uint64_t positions = 0;
  for (const auto& c : file.challenges) positions += c.rows.rows();
  const auto& h = file.header;
  if (args.Has("json")) {
    json j = json::parse(reference::HeaderJson(h));
    j["sha256"] = file.sha256;
    j["signer"] = KeyId(file.signer);
    j["signer_trusted"] = trusted.empty() ? json(nullptr) : json(trust_ok);
    j["positions"] = positions;
    if (args.Get("model")) {
      j["records_reproduced"] = records_ok;
      j["records_checked"] = recheck.checked;
      j["records_detail"] = records_ok ? "largest difference " + std::to_string(recheck.largest_difference) + " nats"
                                       : recheck_failure;
    }
    PrintJson(j);
  } else if (!args.Has("status")) {
    std::printf("file          %s (sha256 %s)\n", path.c_str(), file.sha256.c_str());
    std::printf("signer        %s%s\n", KeyId(file.signer).c_str(),
                trusted.empty() ? " (no --trust given)" : trust_ok ? " (trusted)" : " (NOT the trusted key)");
    std::printf("model         %s, manifest root %s\n", text::EscapeForTerminal(h.model.files[0]).c_str(),
                h.model.manifest_root.c_str());
    std::printf("vocabulary    %u tokens, sha256 %s\n", h.n_vocab, h.vocab_sha256.c_str());
    std::printf("challenges    %llu of %llu committed (%s, commitment %s)\n", static_cast<unsigned long long>(h.n),
                static_cast<unsigned long long>(h.n_max_committed), h.family.c_str(), h.commitment.c_str());
    std::printf("positions     %llu: top-%d and %d tail samples each; %d continuation tokens per challenge\n",
                static_cast<unsigned long long>(positions), h.topk, h.tail_samples, h.continuation_tokens);
    if (args.Get("model") && records_ok) {
      std::printf("records       REPRODUCED: %llu of %llu challenges recomputed from %s (largest difference %.3g nats%s)\n",
                  static_cast<unsigned long long>(recheck.checked), static_cast<unsigned long long>(h.n),
                  args.Get("model")->c_str(), recheck.largest_difference,
                  args.Has("key") ? ", tail samples the keyed draws" : "; tail samples checked by value, --key checks the draws");
    } else if (args.Get("model")) {
      std::printf("records       NOT REPRODUCED: %s\n", recheck_failure.c_str());
    }
  }
  return trust_ok && records_ok ? kExitOk : kExitNegative;
}

int RunReference(const Args& args) {
  const auto& pos = args.positionals();
  const std::string action = pos.empty() ? "" : pos[0];
  if (action == "build") return Build(args);
  if (action == "info") return Info(args);
  return ReportError(Status::InvalidArgument("reference needs one of: build, info"));
}

}  // namespace

CommandSpec ReferenceCommand() {
  return {"reference",
          "build a signed reference file from the reference model alone, so verify loads only the candidate",
          "build MODEL --key KEYFILE --sign SIGNKEY -n N -o REF.potref [--tokens K] [--topk K] [--samples S] [--force] [--json]\n"
          "       pot reference build MODEL --key KEYFILE -n N -o REF.potref --shard I/N [...]\n"
          "       pot reference info REF.potref [--trust PUBKEY] [--model A.gguf [--key KEYFILE] [--sample N]] [--json]",
          WithPlacementOptions({{"key", true, "challenge key file from 'pot challenge commit' (info --model: also check the tail draws)", 0, "KEYFILE"},
           {"sign", true, "Ed25519 signing key (pot keygen)", 0, "SIGNKEY"},
           {"n", true, "challenges to store (at most the key's n_max)", 'n', "N"},
           {"output", true, "the reference file to write", 'o', "REF.potref"},
           ForceOption(),
           {"tokens", true, "continuation tokens the reference generates per challenge (default 0, as verify)", 0, "K"},
           {"topk", true, "the reference's most likely tokens kept per position (default 4, at most 20)", 0, "K"},
           {"samples", true, "tokens drawn from the rest of its distribution per position (default 4; 0: score is a lower bound)", 0, "S"},
           {"shard", true, "build: only shard I (from 0) of N of the challenges, unsigned, into REF.potref.shard-I-of-N (pot merge)", 0, "I/N"},
           {"corpus", true, "corpus file for the corpus family", 0, "FILE"},
           {"threads", true, "CPU threads (default: the free CPUs, probed at start)", 0, "N"},
           {"trust", true, "info: the public key the file must be signed by", 0, "KEY.pub"},
           {"model", true, "info: recompute the file's records from this model (the one it names) and fail on any it does not reproduce", 0, "A.gguf"},
           {"sample", true, "info --model: recompute this many challenges, drawn at random (default 0: all)", 0, "N"},
           {"json", false, "print one JSON object"},
           {"status", false, "info: print nothing, the exit code says it"},
           {"quiet", false, "no progress bars"},
           {"verbose", false, "show llama.cpp's log"}}),
          RunReference, 2};
}

}  // namespace pot::cli
