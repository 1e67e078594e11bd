#include <cstdio>
#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/placement_options.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "crypto/ecdsa.h"
#include "crypto/ed25519.h"
#include "engine/engine.h"
#include "report/report.h"
#include "sigstore/bundle.h"
#include "text/text.h"

namespace pot::cli {
namespace {

using json = nlohmann::ordered_json;

int RunKeygen(const Args& args) {
  auto out = args.Get("output");
  if (!out || !args.positionals().empty()) return ReportError(Status::InvalidArgument("keygen needs -o KEYFILE"));
  const std::string type = args.Get("type").value_or("ed25519");
  if (type != "ed25519" && type != "ecdsa-p256") {
    return ReportError(Status::InvalidArgument("--type is ed25519 or ecdsa-p256, not '" + type + "'"));
  }
  Env* env = Env::Default();
  // Ed25519 signs evidence bundles and reference files; ECDSA P-256 signs models (pot hash --sign), the key
  // type the OpenSSF Model Signing verifier accepts.
  std::string private_pem, public_pem, id_kind, id;
  const std::string pub = *out + ".pub";
  Status s = CheckOutputPath(env, *out, {}, args.Has("force"));
  if (s.ok()) s = CheckOutputPath(env, pub, {}, args.Has("force"));
  if (s.ok() && type == "ed25519") {
    SigningKey key;
    s = GenerateSigningKey(&key);
    private_pem = key.private_pem, public_pem = PublicKeyPem(key.public_raw), id_kind = "key_id", id = KeyId(key.public_raw);
  } else if (s.ok()) {
    EcdsaKey key;
    s = GenerateEcdsaKey(&key);
    private_pem = key.private_pem, public_pem = key.public_pem, id_kind = "key_hint", id = sigstore::KeyHint(key.public_pem);
  }
  if (s.ok()) s = WriteFileAtomically(env, *out, private_pem, OutputWrite(args, 0600));
  if (s.ok()) s = WriteFileAtomically(env, pub, public_pem, OutputWrite(args));
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    PrintJson({{"type", type}, {id_kind, id}, {"private_key", *out}, {"public_key", pub}});
    return kExitOk;
  }
  std::printf("%s %s\n", id_kind == "key_id" ? "key id" : "key hint", id.c_str());
  std::fprintf(stderr, "private key %s (mode 0600), public key %s: give auditors the .pub\n", out->c_str(), pub.c_str());
  return kExitOk;
}

// Parses audit's options and audits the bundle named on the command line.
Status AuditFromArgs(const Args& args, audit::Report* report) {
  Env* env = Env::Default();
  audit::Options options;
  Status s;
  if (auto trust = args.Get("trust")) {
    options.trusted_key.emplace();
    s = ReadPublicKey(env, *trust, &*options.trusted_key);
  }
  if (auto trust = args.Get("reference-trust"); trust && s.ok()) {
    options.trusted_reference_signer.emplace();
    s = ReadPublicKey(env, *trust, &*options.trusted_reference_signer);
  }
  options.corpus_path = args.Get("corpus").value_or("");
  if (auto models = args.Get("models")) {
    const size_t comma = models->find(',');
    if (comma == std::string::npos) return Status::InvalidArgument("--models needs REF.gguf,CAND.gguf");
    if (args.Has("cand") || args.Has("ref")) return Status::InvalidArgument("give --models or --ref/--cand, not both");
    options.reference_model = models->substr(0, comma);
    options.candidate_model = models->substr(comma + 1);
  }
  if (auto ref = args.Get("ref")) options.reference_model = *ref;
  if (auto cand = args.Get("cand")) options.candidate_model = *cand;
  options.reference_file = args.Get("reference");
  options.rescore = args.Has("rescore");
  if (s.ok()) s = PlacementFromArgs(args, &options.placement);
  // Which models a rescore needs depends on the bundle (an endpoint run's needs only --ref): AuditBundle says.
  if (options.rescore && !options.candidate_model && !options.reference_model) {
    return Status::InvalidArgument("--rescore needs --models REF.gguf,CAND.gguf, --cand CAND.gguf --reference REF.potref, "
                                   "or (an endpoint bundle) --ref REF.gguf");
  }
  if (s.ok()) s = args.GetU64("recheck-sample", 0, &options.recheck_sample);
  if (s.ok()) s = args.GetThreads("threads", 0, &options.threads);
  std::string text;
  if (s.ok()) s = ReadFileToString(env, args.positionals()[0], &text);
  if (options.rescore || options.reference_model) engine::Init(args.Has("verbose"));
  ProgressBar bar("rescoring", args.Has("quiet"), "challenges", 1);
  options.rescore_progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  if (s.ok()) s = audit::AuditBundle(env, text, options, report);
  return s;
}

int RunAudit(const Args& args) {
  if (args.positionals().size() != 1) return ReportError(Status::InvalidArgument("audit needs one BUNDLE"));
  audit::Report report;
  Status s = AuditFromArgs(args, &report);
  if (!s.ok()) return ReportError(s);
  const bool passed = report.passed();
  if (args.Has("json")) {
    json checks = json::array();
    for (const auto& c : report.checks) {
      checks.push_back({{"check", c.name}, {"passed", c.passed}, {"skipped", c.skipped}, {"detail", c.detail}});
    }
    json j = {{"passed", passed}, {"checks", checks}};
    if (report.transcript.finished) {
      j["decision"] = stats::DecisionName(report.transcript.outcome.decision);
      j["n_used"] = report.transcript.outcome.n_used;
    }
    PrintJson(j);
  } else if (!args.Has("status")) {
    for (const auto& c : report.checks) {
      std::printf("%s  %-28s %s\n", c.skipped ? "SKIP" : c.passed ? "PASS" : "FAIL", c.name.c_str(),
                  text::EscapeForTerminal(c.detail).c_str());
    }
    std::printf("%s\n", passed ? "AUDIT PASSED" : "AUDIT FAILED");
  }
  return passed ? kExitOk : kExitNegative;
}

int RunReport(const Args& args) {
  auto out = args.Get("output");
  if (args.positionals().size() != 1 || !out) return ReportError(Status::InvalidArgument("report needs BUNDLE -o OUT.html"));
  auto inputs = InputsOf(args, {"models", "cand", "reference", "trust", "corpus"});
  inputs.push_back(args.positionals()[0]);
  Status s = CheckOutputPath(Env::Default(), *out, inputs, args.Has("force"));
  if (!s.ok()) return ReportError(s);
  audit::Report report;
  s = AuditFromArgs(args, &report);
  if (s.ok() && !report.transcript.finished) s = Status::Corruption(args.positionals()[0] + ": no readable verdict to report");
  if (s.ok()) s = WriteFileAtomically(Env::Default(), *out, report::RenderHtml(report, args.positionals()[0]), OutputWrite(args));
  if (!s.ok()) return ReportError(s);
  if (args.Has("json")) {
    PrintJson({{"file", *out}, {"decision", stats::DecisionName(report.transcript.outcome.decision)},
               {"audit_passed", report.passed()}});
    return report.passed() ? kExitOk : kExitNegative;
  }
  std::printf("%s: %s, audit %s\n", out->c_str(), stats::DecisionName(report.transcript.outcome.decision),
              report.passed() ? "passed" : "FAILED");
  return report.passed() ? kExitOk : kExitNegative;
}

// audit and report take the same options: a report shows the audit it ran.
std::vector<OptionSpec> AuditOptions() {
  return WithPlacementOptions({{"trust", true, "the signer's public key (KEYFILE.pub from pot keygen); without it the audit fails", 0, "KEY.pub"},
          {"models", true, "REF.gguf,CAND.gguf: check their weight manifests against the bundle", 0, "REF.gguf,CAND.gguf"},
          {"ref", true, "REF.gguf alone: check its manifest; with --reference, recompute the file's records from it", 0, "REF.gguf"},
          {"cand", true, "CAND.gguf alone: check its weight manifest (for bundles scored against a reference file)", 0, "CAND.gguf"},
          {"reference", true, "the reference file the bundle was scored against: check it and its records", 0, "REF.potref"},
          {"reference-trust", true, "the public key (KEY.pub) trusted to sign reference files; without it such bundles fail", 0, "REFSIGNER.pub"},
          {"recheck-sample", true, "recompute this many of the reference file's challenges, drawn at random (default 0: all)", 0, "N"},
          {"rescore", false, "recompute every score (tolerance 1e-3): needs the candidate and the reference model or file"},
          {"corpus", true, "the corpus file, for bundles whose challenges come from a corpus", 0, "FILE"},
          {"threads", true, "threads for hashing (default: all cores) and rescoring (default: the free CPUs, probed at start)", 0, "N"},
          {"quiet", false, "no progress bar while rescoring"},
          {"verbose", false, "show llama.cpp's log while rescoring"}});
}

}  // namespace

CommandSpec ReportCommand() {
  auto options = AuditOptions();
  options.push_back({"output", true, "the HTML file to write", 'o', "FILE"});
  options.push_back(ForceOption());
  options.push_back({"json", false, "print one JSON object"});
  return {"report", "render an audited evidence bundle as one self-contained HTML page (verdict, plot, scores)",
          "BUNDLE -o report.html [--trust PUBKEY] [--models REF.gguf,CAND.gguf] [--json]", options, RunReport, 1};
}

CommandSpec KeygenCommand() {
  return {"keygen",
          "make a signing key (KEYFILE, mode 0600, and KEYFILE.pub): Ed25519 for evidence bundles, ECDSA P-256 for "
          "model signatures",
          "-o KEYFILE [--type ed25519|ecdsa-p256] [--force] [--json]",
          {{"output", true, "where to write the private key", 'o', "KEYFILE"},
           {"type", true, "ed25519 (bundles, reference files) or ecdsa-p256 (pot hash --sign)", 0, "TYPE", "ed25519"},
           ForceOption(), {"json", false, "print one JSON object"}},
          RunKeygen, 0};
}

CommandSpec AuditCommand() {
  return {"audit",
          "re-check a signed evidence bundle offline: signature, signer, commitment, challenges, transcript, decision",
          "BUNDLE --trust PUBKEY [--models REF.gguf,CAND.gguf | --cand CAND.gguf --reference REF.potref\n"
          "       --reference-trust REFSIGNER.pub [--ref REF.gguf]] [--rescore] [--corpus FILE] [--json]",
          [] {
            auto options = AuditOptions();
            options.push_back({"json", false, "print one JSON object"});
            options.push_back({"status", false, "print nothing: the exit code says whether the audit passed"});
            return options;
          }(),
          RunAudit, 1};
}

}  // namespace pot::cli
