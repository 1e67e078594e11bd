#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "crypto/ecdsa.h"
#include "crypto/ed25519.h"
#include "crypto/hmac.h"
#include "manifest/manifest.h"
#include "merkle/merkle.h"
#include "sigstore/bundle.h"
#include "sigstore/oms.h"
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

// pot hash --verify-signature SIG --trust KEY.pub MODEL: an OpenSSF Model Signing signature checked
// (sigstore/oms.h). A bundle that does not verify, or a model that is not the signed one, is FAILED (exit 1).
int VerifyModelSignature(const Args& args) {
  const auto& pos = args.positionals();
  const auto trust = args.Get("trust");
  if (pos.size() != 1 || !trust) {
    return ReportError(Status::InvalidArgument("hash --verify-signature needs SIG --trust KEY.pub MODEL.gguf"));
  }
  Env* env = Env::Default();
  const std::string sig_path = *args.Get("verify-signature");
  std::string text;
  sigstore::Bundle bundle;
  PublicKey key;
  sigstore::ModelStatement signed_statement;
  manifest::Manifest actual;
  Status s = ReadFileToString(env, sig_path, &text);
  if (s.ok()) s = sigstore::ParseBundle(text, &bundle).WithContext(sig_path);
  if (s.ok()) s = ReadAnyPublicKey(env, *trust, &key);
  if (!s.ok()) return ReportError(s);
  // From here Corruption is the answer "not signed by this key" or "not the signed model"; the rest is bad input.
  Status verdict = sigstore::OpenSignature(bundle, key, &signed_statement);
  if (verdict.ok()) {
    s = Hash(args, pos[0], true, &actual);
    if (!s.ok()) return ReportError(s);
    verdict = sigstore::CheckModel(env, signed_statement, pos[0], actual);
  }
  if (!verdict.ok() && verdict.code() != Status::Code::kCorruption) return ReportError(verdict);
  const std::string hint = sigstore::KeyHint(key.pem);
  if (args.Has("json")) {
    json j = {{"verified", verdict.ok()}, {"signature", sig_path}, {"key_hint", hint}};
    if (verdict.ok()) j["resources"] = signed_statement.resources.size();
    if (!verdict.ok()) j["reason"] = verdict.message();
    PrintJson(j);
  } else if (args.Has("status")) {
  } else if (!verdict.ok()) {
    std::printf("%s: FAILED (signature: %s)\n", text::EscapeForTerminal(pos[0]).c_str(),
                text::EscapeForTerminal(verdict.message()).c_str());
  } else {
    const size_t n = signed_statement.resources.size();
    std::printf("%s: OK (OpenSSF Model Signing v1.0 signature, %zu file%s, ecdsa-p256 key %s)\n",
                text::EscapeForTerminal(pos[0]).c_str(), n, n == 1 ? "" : "s", hint.c_str());
  }
  return verdict.ok() ? kExitOk : kExitNegative;
}

// Where --sign writes without -o: MODEL.sig beside the model (NAME.gguf -> NAME.sig).
std::string DefaultSignaturePath(const std::string& model) {
  const std::string ext = ".gguf";
  const bool gguf = model.size() > ext.size() && model.compare(model.size() - ext.size(), ext.size(), ext) == 0;
  return (gguf ? model.substr(0, model.size() - ext.size()) : model) + ".sig";
}

int RunHash(const Args& args) {
  if (args.Has("check")) return Check(args);
  if (args.Has("verify-signature")) return VerifyModelSignature(args);
  if (args.Has("status")) return ReportError(Status::InvalidArgument("--status goes with --check or --verify-signature"));
  if (args.positionals().size() != 1) return ReportError(Status::InvalidArgument("hash needs exactly one MODEL.gguf"));
  const std::string& model = args.positionals()[0];
  const auto sign = args.Get("sign");
  // With --sign, -o names the signature (the manifest is in it: its roots, and every file's digest).
  const auto out = sign ? std::nullopt : args.Get("output"), statement = args.Get("statement");
  const auto signature = sign ? std::optional(args.Get("output").value_or(DefaultSignaturePath(model))) : std::nullopt;
  Status s;
  EcdsaKey signer;
  if (sign) s = ReadEcdsaKey(Env::Default(), *sign, &signer);
  if (s.ok() && signature) s = CheckOutputPath(Env::Default(), *signature, {model}, args.Has("force"));
  if (s.ok() && signature && statement && (*signature == *statement || Env::Default()->SameFile(*signature, *statement))) {
    s = Status::InvalidArgument("-o and --statement name the same file");
  }
  if (s.ok() && out) s = CheckOutputPath(Env::Default(), *out, {model}, args.Has("force"));
  if (s.ok() && statement) s = CheckOutputPath(Env::Default(), *statement, {model}, args.Has("force"));
  if (s.ok() && out && statement && (*out == *statement || Env::Default()->SameFile(*out, *statement))) {
    s = Status::InvalidArgument("-o and --statement name the same file");
  }
  if (!s.ok()) return ReportError(s);
  manifest::Manifest m;
  const auto start = std::chrono::steady_clock::now();
  s = Hash(args, model, statement || sign, &m);
  if (!s.ok()) return ReportError(s);
  std::string signed_text;
  if (sign) {
    sigstore::ModelStatement oms;
    sigstore::Bundle bundle;
    bundle.payload_type = sigstore::kInTotoPayloadType;
    bundle.hint = sigstore::KeyHint(signer.public_pem);
    s = sigstore::StatementFromManifest(m, model, *signature, &oms);
    bundle.payload = sigstore::StatementJson(oms);
    if (s.ok()) s = EcdsaSign(signer, DssePae(bundle.payload_type, bundle.payload), &bundle.signature);
    if (s.ok()) s = WriteFileAtomically(Env::Default(), *signature, sigstore::RenderBundle(bundle), OutputWrite(args));
    if (!s.ok()) return ReportError(s);
  }
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
  if (signature) {
    std::printf("signature     %s (OpenSSF Model Signing v1.0, key %s)\n", signature->c_str(),
                sigstore::KeyHint(signer.public_pem).c_str());
  }
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
          "MODEL.gguf [-o MANIFEST] [--statement FILE] [--force] [--json]\n       pot hash --check MANIFEST MODEL.gguf\n"
          "       pot hash MODEL.gguf --sign KEY [-o MODEL.sig]\n"
          "       pot hash --verify-signature MODEL.sig --trust KEY.pub MODEL.gguf",
          {{"output", true, "write the manifest (JSON) to this file (with --sign: the signature)", 'o', "FILE"},
           {"json", false, "print the manifest (or, with --check, the comparison) as JSON"},
           {"statement", true, "also hash the whole file and write an in-toto Statement", 0, "FILE"},
           ForceOption(),
           {"check", true, "compare MODEL with this manifest: 'MODEL: OK' (exit 0) or 'MODEL: FAILED' (exit 1)", 0, "MANIFEST"},
           {"status", false, "with --check or --verify-signature: print nothing, the exit code says it"},
           {"weights-only", false, "with --check: ignore metadata changes"},
           {"sign", true, "sign the model with this ECDSA P-256 key (pot keygen --type ecdsa-p256): an OpenSSF Model "
                          "Signing signature, written to -o (default MODEL.sig)", 0, "KEY"},
           {"verify-signature", true, "check this OpenSSF Model Signing signature of MODEL: exit 0 OK, 1 FAILED", 0,
            "MODEL.sig"},
           {"trust", true, "with --verify-signature: the signer's public key", 0, "KEY.pub"},
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
