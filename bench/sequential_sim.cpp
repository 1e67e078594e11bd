// sequential_sim: the sequential test's bets compared on simulated score streams (docs/statistics.md,
// "Choosing the bets"). For each preset and stream shape it runs the same streams (fixed seeds) through
// the test with Bet::kPlugIn and with Bet::kGrapa and prints the median challenges used (an UNDECIDED
// stream counts its whole budget), the shares of DIFFERENT, SAME and UNDECIDED, and the all-zero minimum
// to SAME; then the cost of the reported bounds' grid and of the GRAPA bets per 1000 challenges.
//
//   build/bench/sequential_sim [STREAMS]      (default 10000)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "stats/sequential.h"

namespace {

using pot::stats::Bet;
using pot::stats::Decision;
using pot::stats::SequentialTest;
using pot::stats::TestParams;

// A stream shape: scores in [0, 1] with the given mean.
struct Shape {
  const char* name;
  double mean;
  double (*draw)(double mean, std::mt19937_64& rng);
};

double BetaDraw(double a, double b, std::mt19937_64& rng) {
  const double x = std::gamma_distribution<double>(a, 1)(rng), y = std::gamma_distribution<double>(b, 1)(rng);
  return x / (x + y);
}
// tests/stats/sequential_test.cpp's Beta(4 mean / (1 - mean), 4): wide (sd 0.17 at mean 0.24).
double Wide(double mean, std::mt19937_64& rng) { return BetaDraw(4 * mean / (1 - mean), 4, rng); }
// Beta with concentration k = a + b: k = 50 is as tight as the forge family's per-challenge TV (sd 0.06 at 0.24).
double Beta20(double mean, std::mt19937_64& rng) { return BetaDraw(20 * mean, 20 * (1 - mean), rng); }
double Beta50(double mean, std::mt19937_64& rng) { return BetaDraw(50 * mean, 50 * (1 - mean), rng); }
double Bernoulli(double mean, std::mt19937_64& rng) { return std::bernoulli_distribution(mean)(rng) ? 1 : 0; }
// Near-zero scores with rare spikes: 0.02 of the challenges score 1, the rest 0.01 (mean 0.0298).
double Spikes(double, std::mt19937_64& rng) { return std::bernoulli_distribution(0.02)(rng) ? 1 : 0.01; }

struct Summary {
  uint64_t median = 0;
  double different = 0, same = 0, undecided = 0;
};

Summary Run(TestParams p, Bet bet, const Shape& shape, int streams, uint64_t seed) {
  p.bet = bet;
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> used;
  int counts[3] = {0, 0, 0};
  for (int s = 0; s < streams; ++s) {
    SequentialTest test(p, /*with_bounds=*/false);
    Decision d = Decision::kUndecided;
    while (!test.done()) {
      if (!test.Add(shape.draw(shape.mean, rng), &d).ok()) std::abort();
    }
    used.push_back(test.cs().n());
    ++counts[static_cast<int>(d)];
  }
  std::nth_element(used.begin(), used.begin() + streams / 2, used.end());
  const double n = streams;
  return {used[streams / 2], counts[static_cast<int>(Decision::kDifferent)] / n,
          counts[static_cast<int>(Decision::kSame)] / n, counts[static_cast<int>(Decision::kUndecided)] / n};
}

// Seconds per 1000 challenges of Beta50(mean) scores, best of 5. The grid's cost grows with the mean: reading
// the bounds takes a logarithm per grid point below the lower bound and above the upper one.
double SecondsPer1000(double mean, bool with_bounds, Bet bet) {
  TestParams p;
  p.alpha = p.beta = 1e-12;  // with the mean at epsilon, never decides: all 1000 scores are read
  p.epsilon = mean;
  p.n_max = 1000;
  p.bet = bet;
  double best = 1e9;
  for (int rep = 0; rep < 5; ++rep) {
    std::mt19937_64 rng(99);
    const auto start = std::chrono::steady_clock::now();
    SequentialTest test(p, with_bounds);
    Decision d;
    while (!test.done()) {
      if (!test.Add(Beta50(mean, rng), &d).ok()) std::abort();
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int streams = argc > 1 ? std::atoi(argv[1]) : 10000;
  if (streams < 1) {
    std::fprintf(stderr, "usage: sequential_sim [STREAMS]\n");
    return 2;
  }
  const Shape shapes[] = {
      {"beta50", 0.24, Beta50},  {"beta20", 0.24, Beta20}, {"wide", 0.24, Wide},      {"bernoulli", 0.24, Bernoulli},
      {"beta50", 0.34, Beta50},  {"beta50", 0.46, Beta50}, {"wide", 0.30, Wide},      {"beta50", 0.20, Beta50},
      {"beta50", 0.03, Beta50},  {"beta50", 0.003, Beta50}, {"spikes", 0.0298, Spikes}};
  std::printf("%d streams per row; n = median challenges used (UNDECIDED counts n_max); D / S / U shares\n", streams);
  std::printf("%-7s %-10s %-6s | %-27s | %-27s\n", "mode", "shape", "mean", "plug-in: n  D / S / U", "grapa: n  D / S / U");
  for (const auto& name : pot::stats::PresetNames()) {
    TestParams p;
    if (!pot::stats::Preset(name, &p).ok()) return 1;
    uint64_t seed = 1;
    for (const auto& shape : shapes) {
      const Summary a = Run(p, Bet::kPlugIn, shape, streams, seed), b = Run(p, Bet::kGrapa, shape, streams, seed);
      ++seed;
      std::printf("%-7s %-10s %-6.4g | %4llu  %.4f %.4f %.4f | %4llu  %.4f %.4f %.4f\n", name.c_str(), shape.name,
                  shape.mean, static_cast<unsigned long long>(a.median), a.different, a.same, a.undecided,
                  static_cast<unsigned long long>(b.median), b.different, b.same, b.undecided);
    }
    TestParams plug = p, grapa = p;
    plug.bet = Bet::kPlugIn;
    grapa.bet = Bet::kGrapa;
    std::printf("%-7s zeros to SAME: plug-in %llu, grapa %llu, floor ln(1/beta) / -ln(1 - epsilon) = %.3f\n",
                name.c_str(), static_cast<unsigned long long>(pot::stats::MinimumToSame(plug)),
                static_cast<unsigned long long>(pot::stats::MinimumToSame(grapa)),
                std::log(1 / p.beta) / -std::log(1 - p.epsilon));
  }
  for (double mean : {0.03, 0.24, 0.5, 0.9}) {
    const double plain = SecondsPer1000(mean, false, Bet::kPlugIn), grid = SecondsPer1000(mean, true, Bet::kPlugIn),
                 grapa = SecondsPer1000(mean, false, Bet::kGrapa);
    std::printf("per 1000 challenges, beta50 scores, mean %.2f: decision alone (plug-in) %.2f ms, the bounds' grid "
                "%.2f ms more, GRAPA's bets %.2f ms more\n",
                mean, plain * 1e3, (grid - plain) * 1e3, (grapa - plain) * 1e3);
  }
  return 0;
}
