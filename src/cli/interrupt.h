// interrupt: SIGINT and SIGTERM during a long run (verify, reference build, selfcheck, monitor). A run that
// can stop between steps calls StopOnSignals before its loop; the first signal only sets a flag the loop
// checks between steps (a journaled step is either on disk whole or not at all), and restores the default
// action, so a second signal ends pot at once. The run then says how far it got, in one phrasing for every
// command, and exits 128 + the signal: 130 for SIGINT, 143 for SIGTERM (docs/cli.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "util/status.h"

namespace pot::cli {

void StopOnSignals();
// The signal that asked the run to stop, or 0.
const std::atomic<int>* StopSignal();
bool Interrupted();
// What a step callback returns to stop its run once Interrupted(); the caller then calls ReportInterrupted.
Status InterruptedStatus();
// "interrupted after DONE of TOTAL UNIT; rerun the same command to resume" on stderr (a run without a
// journal says that a rerun starts over instead), with --json also as the JSON error object on stdout;
// returns 128 + the signal.
int ReportInterrupted(uint64_t done, uint64_t total, const std::string& unit, bool resumable = true);
// The one phrasing of a resumed run: "resuming: DONE of TOTAL UNIT already done (JOURNAL)".
void ReportResuming(uint64_t done, uint64_t total, const std::string& unit, const std::string& journal);

}  // namespace pot::cli
