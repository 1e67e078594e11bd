// A one-line progress bar on stderr, drawn only when stderr is a terminal (and not --quiet).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace pot::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, bool quiet) : label_(std::move(label)), enabled_(!quiet && ::isatty(2)) {}
  ~ProgressBar() {
    if (drawn_) std::fprintf(stderr, "\n");
  }

  void Update(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
    const int width = 30, filled = static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total));
    std::string bar(static_cast<size_t>(filled), '=');
    bar.resize(width, ' ');
    std::fprintf(stderr, "\r%s [%s] %3d%% %.0f/%.0f MB %.0f MB/s ETA %.0fs ", label_.c_str(), bar.c_str(),
                 static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)), done / 1e6,
                 total / 1e6, rate / 1e6, eta);
    drawn_ = true;
  }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace pot::cli
