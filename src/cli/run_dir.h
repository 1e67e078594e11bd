// cli/run_dir: the run directory and key of a journaled run (pot verify, pot monitor; docs/formats.md,
// "Verify run directory"). A run directory holds the run's journal and, for a key pot made itself, that
// key as run.key (mode 0600); RUNDIR/run.lock is held for the whole run, so a second pot run into it is
// refused with "in use by pid N". A rerun of the same command resumes with the key its first attempt made.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "challenge/challenge.h"
#include "cli/args.h"
#include "env/env.h"

namespace pot::cli {

// The key the run would use before its directory is looked at: the user's --key file, or a fresh key
// (family from --family and --corpus) made in memory, committed to n_max challenges; it is written to
// RUNDIR/run.key only once every check has passed.
Status ReadOrMakeKey(const Args& args, Env* env, uint64_t n_max, challenge::KeyFile* key);

// Creates the run directory (-o RUNDIR may exist already; without -o, PREFIX-TIME-RANDOM, created
// exclusively) and takes its lock, RUNDIR/run.lock.
Status OpenRunDir(const Args& args, Env* env, const std::string& prefix, std::string* run_dir,
                  std::unique_ptr<FileLock>* lock);

// Reads the hex commitment a journal's first line names.
using CommitmentOf = std::function<Status(const std::string& first_line, std::string* commitment_hex)>;

// The key the run's challenges come from, decided under the run directory's lock: --key FILE; else
// RUNDIR/run.key, adopted only when RUNDIR/JOURNAL exists and commits to it (a rerun resumes with the key
// its first attempt made); else, in a directory with neither, the fresh key (*fresh). Any other state is
// refused, and nothing is written.
Status ResolveKey(const Args& args, Env* env, const std::string& run_dir, const std::string& journal,
                  const CommitmentOf& commitment_of, challenge::KeyFile* key, bool* fresh);

}  // namespace pot::cli
