// audit: re-checks a signed evidence bundle offline, trusting nothing in it but the mathematics: the
// signature and who made it, the key against the published commitment, every challenge regenerated from
// the revealed key, the transcript root, the decision recomputed from the recorded scores, and, given
// the models, their weight manifests, given the reference file a run scored against, that file and its
// records, and (with rescore) every score. Each check is named in the report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "env/env.h"
#include "evidence/bundle.h"

namespace pot::audit {

struct Options {
  std::optional<std::string> trusted_key;  // raw Ed25519 public key; without it the signer is not trusted
  std::string corpus_path;                 // the corpus file, for bundles of the corpus family
  std::optional<std::string> reference_model, candidate_model;  // GGUF paths
  std::optional<std::string> reference_file;  // for bundles scored against one (pot verify --reference)
  bool rescore = false;  // needs the candidate, and the reference model or file the bundle was scored with
  double rescore_tolerance = 1e-3;         // largest accepted |recomputed - recorded| score
  int threads = 0;
};

struct Check {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct Report {
  std::vector<Check> checks;
  evidence::Claim claim;          // what the bundle asserts (when its statement parsed)
  evidence::Transcript transcript;
  bool passed() const;
};

// Runs every check that applies. Returns a non-OK Status only when the audit itself cannot proceed (an
// unreadable model file, a llama.cpp failure while rescoring); a bad bundle is a failed check instead.
Status AuditBundle(Env* env, const std::string& bundle_text, const Options& options, Report* report);

}  // namespace pot::audit
