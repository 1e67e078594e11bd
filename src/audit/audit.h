// audit: re-checks a signed evidence bundle offline, trusting nothing in it but the mathematics: the
// signature and who made it, the key against the published commitment, every challenge regenerated from
// the revealed key, the transcript root, the decision recomputed from the recorded scores, and, given
// the models, their weight manifests, given the reference file a run scored against, that file and its
// records (recomputed from the reference model when it is given), and (with rescore) every score. Each
// check is named in the report; one that could not be done for want of an input is listed as skipped.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "env/env.h"
#include "evidence/bundle.h"
#include "placement/placement.h"

namespace pot::audit {

struct Options {
  std::optional<std::string> trusted_key;  // raw Ed25519 public key; without it the signer is not trusted
  // The trusted signer of the reference file a bundle was scored against (raw Ed25519 public key): the
  // file's signature only says who made it, so without this key its origin is not trusted.
  std::optional<std::string> trusted_reference_signer;
  std::string corpus_path;                 // the corpus file, for bundles of the corpus family
  std::optional<std::string> reference_model, candidate_model;  // GGUF paths
  std::optional<std::string> reference_file;  // for bundles scored against one (pot verify --reference)
  bool rescore = false;  // needs the candidate, and the reference model or file the bundle was scored with
  // With the reference model and the reference file: how many of the file's challenges to recompute from
  // the model (a uniform sample nobody can predict); 0 recomputes every one.
  uint64_t recheck_sample = 0;
  double rescore_tolerance = 1e-3;         // largest accepted |recomputed - recorded| score
  int threads = 0;
  placement::Placement placement;  // where rescoring runs the models (the auditor's choice, not the run's)
  std::function<void(uint64_t done, uint64_t total)> rescore_progress;  // after each challenge rescored
};

struct Check {
  std::string name;
  bool passed = false;
  bool skipped = false;  // not done, for want of an input the detail names; neither passes nor fails
  std::string detail;
};

struct Report {
  std::vector<Check> checks;
  evidence::Claim claim;          // what the bundle asserts (when its statement parsed)
  evidence::Transcript transcript;
  bool passed() const;  // every check done passed, and at least one was done
};

// Runs every check that applies. Returns a non-OK Status only when the audit itself cannot proceed (an
// unreadable model file, a llama.cpp failure while rescoring); a bad bundle is a failed check instead.
Status AuditBundle(Env* env, const std::string& bundle_text, const Options& options, Report* report);

}  // namespace pot::audit
