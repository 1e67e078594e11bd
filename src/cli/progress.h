// A one-line progress bar on stderr, drawn only when stderr is a terminal (and not --quiet).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "text/text.h"

namespace pot::cli {

class ProgressBar {
 public:
  // Counts are shown divided by scale and followed by unit: bytes as MB by default, or e.g. ("prompts", 1).
  ProgressBar(std::string label, bool quiet, std::string unit = "MB", double scale = 1e6)
      : label_(text::EscapeForTerminal(label)), unit_(std::move(unit)), scale_(scale), enabled_(!quiet && ::isatty(2)) {}
  ~ProgressBar() {
    if (drawn_) std::fprintf(stderr, "\n");
  }

  void Update(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (!started_) {  // work already done when the bar starts (a resumed run) does not count toward the rate
      started_ = true;
      first_done_ = done;
    }
    const double rate = seconds > 0 ? static_cast<double>(done - first_done_) / seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
    const int width = 30, filled = static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total));
    std::string bar(static_cast<size_t>(filled), '=');
    bar.resize(width, ' ');
    std::fprintf(stderr, "\r%s [%s] %3d%% %.0f/%.0f %s %.1f %s/s ETA %.0fs ", label_.c_str(), bar.c_str(),
                 static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)), done / scale_,
                 total / scale_, unit_.c_str(), rate / scale_, unit_.c_str(), eta);
    drawn_ = true;
  }

 private:
  std::string label_, unit_;
  double scale_;
  bool enabled_;
  bool drawn_ = false;
  bool started_ = false;
  uint64_t first_done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace pot::cli
