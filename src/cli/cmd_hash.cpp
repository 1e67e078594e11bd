#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "crypto/hmac.h"
#include "manifest/manifest.h"
#include "merkle/merkle.h"
#include "text/text.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kRootBytes = 32;  // a SHA-256 Merkle root

Status Hash(const Args& args, const std::string& model, bool file_digest, manifest::Manifest* m) {
  ProgressBar bar("hashing", args.Has("quiet"));
  manifest::HashOptions options;
  POT_RETURN_IF_ERROR(args.GetThreads("threads", 0, &options.threads));
  options.file_digest = file_digest;
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  return manifest::HashModel(Env::Default(), model, options, m);
}

int Check(const Args& args) {
  const auto& pos = args.positionals();
  if (pos.size() != 1) return ReportError(Status::InvalidArgument("hash --check needs MANIFEST MODEL.gguf"));
  const std::string manifest_path = *args.Get("check");
  std::string text;
  manifest::Manifest expected, actual;
  Status s = ReadFileToString(Env::Default(), manifest_path, &text);
  if (s.ok()) s = manifest::FromJson(text, manifest_path, &expected);
  if (s.ok()) s = Hash(args, pos[0], false, &actual);
  if (!s.ok()) return ReportError(s);
  const manifest::Comparison c = manifest::Compare(expected, actual);
  const bool weights_only = args.Has("weights-only");
  const bool match = c.changed.empty() && c.missing.empty() && c.extra.empty() && (weights_only || !c.metadata_changed);
  if (args.Has("json")) {
    json j = {{"file", pos[0]}, {"match", match}, {"changed", c.changed}, {"missing", c.missing}, {"extra", c.extra},
              {"metadata_changed", c.metadata_changed}, {"root", actual.root}, {"expected_root", expected.root}};
    PrintJson(j);
  } else if (!args.Has("status")) {
    for (const auto& n : c.changed) std::printf("changed  %s\n", text::EscapeForTerminal(n).c_str());
    for (const auto& n : c.missing) std::printf("missing  %s\n", text::EscapeForTerminal(n).c_str());
    for (const auto& n : c.extra) std::printf("extra    %s\n", text::EscapeForTerminal(n).c_str());
    if (c.metadata_changed) std::printf("metadata changed%s\n", weights_only ? " (ignored: --weights-only)" : "");
    std::printf("%s: %s\n", text::EscapeForTerminal(pos[0]).c_str(), CheckWord(match));
  }
  return match ? kExitOk : kExitNegative;
}

int RunHash(const Args& args) {
  if (args.Has("check")) return Check(args);
  if (args.Has("status")) return ReportError(Status::InvalidArgument("--status goes with --check"));
  if (args.positionals().size() != 1) return ReportError(Status::InvalidArgument("hash needs exactly one MODEL.gguf"));
  const std::string& model = args.positionals()[0];
  const auto out = args.Get("output"), statement = args.Get("statement");
  Status s;
  if (out) s = CheckOutputPath(Env::Default(), *out, {model}, args.Has("force"));
  if (s.ok() && statement) s = CheckOutputPath(Env::Default(), *statement, {model}, args.Has("force"));
  if (s.ok() && out && statement && (*out == *statement || Env::Default()->SameFile(*out, *statement))) {
    s = Status::InvalidArgument("-o and --statement name the same file");
  }
  if (!s.ok()) return ReportError(s);
  manifest::Manifest m;
  const auto start = std::chrono::steady_clock::now();
  s = Hash(args, model, statement.has_value(), &m);
  if (!s.ok()) return ReportError(s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string text = manifest::ToJson(m);
  if (out) s = WriteFileAtomically(Env::Default(), *out, text, OutputWrite(args));
  if (s.ok() && statement) s = WriteFileAtomically(Env::Default(), *statement, manifest::InTotoStatement(m), OutputWrite(args));
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    std::printf("%s", text.c_str());
    return kExitOk;
  }
  uint64_t bytes = 0;
  for (const auto& t : m.tensors) bytes += t.nbytes;
  std::printf("root          %s\nweights_root  %s\ntensors       %zu (%.1f MB of weights, %.2f s, %.0f MB/s)\n",
              m.root.c_str(), m.weights_root.c_str(), m.tensors.size(), bytes / 1e6, seconds,
              seconds > 0 ? bytes / 1e6 / seconds : 0.0);
  return kExitOk;
}

Status LoadManifest(const std::string& path, manifest::Manifest* m) {
  std::string text;
  POT_RETURN_IF_ERROR(ReadFileToString(Env::Default(), path, &text));
  return manifest::FromJson(text, path, m);
}

int ProofTensor(const Args& args) {
  const auto& pos = args.positionals();
  if (pos.size() != 3) return ReportError(Status::InvalidArgument("proof tensor needs MANIFEST NAME"));
  manifest::Manifest m;
  manifest::TensorProof proof;
  Status s = LoadManifest(pos[1], &m);
  if (s.ok()) s = manifest::ProveTensor(m, pos[2], &proof).WithContext(pos[1]);
  if (!s.ok()) return ReportError(s);
  std::printf("%s", manifest::ProofToJson(proof).c_str());
  return kExitOk;
}

int ProofVerify(const Args& args) {
  const auto& pos = args.positionals();
  if (pos.size() != 2) return ReportError(Status::InvalidArgument("proof verify needs PROOF.json"));
  std::string want, text;
  manifest::TensorProof p;
  Status s = args.GetHex("root", kRootBytes, &want);
  if (s.ok()) s = ReadFileToString(Env::Default(), pos[1], &text);
  if (s.ok()) s = manifest::ProofFromJson(text, pos[1], &p);
  if (!s.ok()) return ReportError(s);
  const manifest::TensorEntry& t = p.tensor;
  // The leaf is recomputed from the tensor's fields: the proof binds name, type, shape, size and digest.
  std::string failure;
  if (!want.empty() && want != p.root) {
    failure = "the proof is for root " + HexOf(p.root) + ", not " + HexOf(want);
  } else if (Status v = merkle::VerifyInclusion(p.leaf_index, p.tree_size, merkle::LeafHash(manifest::TensorLeafData(t)),
                                                p.path, p.root);
             !v.ok()) {
    failure = v.message();
  }
  const bool ok = failure.empty();
  if (args.Has("json")) {
    PrintJson({{"file", pos[1]}, {"ok", ok}, {"reason", failure}, {"tensor", t.name}, {"sha256", ToHex(t.sha256)},
               {"leaf_index", p.leaf_index}, {"root", HexOf(p.root)}, {"root_pinned", !want.empty()}});
  } else if (!args.Has("status") && !ok) {
    std::printf("%s: %s (%s)\n", text::EscapeForTerminal(pos[1]).c_str(), CheckWord(false),
                text::EscapeForTerminal(failure).c_str());
  } else if (!args.Has("status")) {
    std::printf("%s: %s (tensor %s, sha256 %s, leaf %llu of root %s)\n", text::EscapeForTerminal(pos[1]).c_str(),
                CheckWord(true), text::EscapeForTerminal(t.name).c_str(), ToHex(t.sha256).c_str(),
                static_cast<unsigned long long>(p.leaf_index), HexOf(p.root).c_str());
    // Without --root the proof only agrees with the root it carries itself, which whoever made it chose.
    if (want.empty()) {
      std::printf("note: only self-consistent: the root is the one the proof names; pass --root HEX with a root you "
                  "trust (from its manifest or bundle) to check the tensor belongs to that model\n");
    }
  }
  return ok ? kExitOk : kExitNegative;
}

int RunProof(const Args& args) {
  const auto& pos = args.positionals();
  if (!pos.empty() && pos[0] == "tensor") return ProofTensor(args);
  if (!pos.empty() && pos[0] == "verify") return ProofVerify(args);
  return ReportError(Status::InvalidArgument("proof needs 'tensor MANIFEST NAME' or 'verify PROOF.json'"));
}

}  // namespace

CommandSpec HashCommand() {
  return {"hash",
          "per-tensor SHA-256 Merkle commitment of a GGUF model's weights (a manifest); --check compares",
          "MODEL.gguf [-o MANIFEST] [--statement FILE] [--force] [--json]\n       pot hash --check MANIFEST MODEL.gguf",
          {{"output", true, "write the manifest (JSON) to this file", 'o', "MANIFEST"},
           {"json", false, "print the manifest (or, with --check, the comparison) as JSON"},
           {"statement", true, "also hash the whole file and write an in-toto Statement", 0, "FILE"},
           ForceOption(),
           {"check", true, "compare MODEL with this manifest: 'MODEL: OK' (exit 0) or 'MODEL: FAILED' (exit 1)", 0, "MANIFEST"},
           {"status", false, "with --check: print nothing, the exit code says it"},
           {"weights-only", false, "with --check: ignore metadata changes"},
           {"threads", true, "hashing threads (default: all cores)", 0, "N"},
           {"quiet", false, "no progress bar"}},
          RunHash, 1};
}

CommandSpec ProofCommand() {
  return {"proof", "RFC 6962 inclusion proof that a tensor belongs to a manifest's root, and its check",
          "tensor MANIFEST NAME\n       pot proof verify PROOF.json [--root HEX] [--status] [--json]",
          {{"root", true, "verify: the root the proof must be for (64 hex digits, either case)", 0, "HEX"},
           {"status", false, "verify: print nothing, the exit code says it"},
           {"json", false, "verify: print one JSON object (tensor: the proof is JSON already)"}},
          RunProof, 3};
}

}  // namespace pot::cli
