#include "cli/interrupt.h"

#include <csignal>
#include <cstdio>

#include "cli/output.h"
#include "text/text.h"

namespace pot::cli {
namespace {

std::atomic<int> g_stop_signal{0};

void OnStopSignal(int signo) {
  g_stop_signal.store(signo);
  std::signal(signo, SIG_DFL);
}

}  // namespace

void StopOnSignals() {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
}

const std::atomic<int>* StopSignal() { return &g_stop_signal; }

bool Interrupted() { return g_stop_signal.load() != 0; }

Status InterruptedStatus() { return Status::Internal("interrupted"); }

int ReportInterrupted(uint64_t done, uint64_t total, const std::string& unit, bool resumable) {
  const std::string line = "interrupted after " + std::to_string(done) + " of " + std::to_string(total) + " " + unit +
                           (resumable ? "; rerun the same command to resume" : "; without a journal a rerun starts over");
  const int code = 128 + g_stop_signal.load();
  std::fprintf(stderr, "%s\n", line.c_str());
  PrintJsonError(line, code);
  return code;
}

void ReportResuming(uint64_t done, uint64_t total, const std::string& unit, const std::string& journal) {
  std::fprintf(stderr, "resuming: %llu of %llu %s already done (%s)\n", static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total), unit.c_str(), text::EscapeForTerminal(journal).c_str());
}

}  // namespace pot::cli
