// membw: the machine figures bench/calibrate.sh puts into this machine's estimate profile (pot.profile/1),
// each measured the way the pot code it stands for runs:
//   bandwidth  one thread summing a buffer far larger than the caches (llama.cpp generation with --threads 1
//              is bound by it);
//   flops      one thread of independent fused multiply-adds on 8-wide float vectors (AVX2 and FMA where the
//              CPU has them: the peak the prompt-processing efficiency is reported against);
//   sha256     pot's SHA-256 (OpenSSL) over every core, one stream per thread, as pot hash runs;
//   dequant    pot diff's inner loop on one core: two Q8_0 rows dequantized with ggml's type traits and
//              reduced to the four sums and the max |delta| (src/diff);
//   vocab      one core turning two rows of 32,000 logits into log-probabilities and comparing them (total
//              variation and KL), as pot's scoring and llama-perplexity's KL do at every scored position;
//   read       reading FILE front to back (the page cache when it is warm, as the check runs).
// Prints one JSON object: {"bandwidth": B/s, "flops": FLOP/s, "sha256": B/s, "dequant": elements/s,
// "vocab": entries/s, "read": B/s}.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "crypto/sha256.h"
#include "env/env.h"
#include "ggml.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs f (units of work each time) until at least min_s have passed; returns the mean rate, units/s. The
// mean, not the best repetition: on a shared machine it includes the time other processes had the core,
// as llama-bench's average does and as the measured runs the profile is checked against do.
template <typename F>
double MeanRate(double units, double min_s, F f) {
  long reps = 0;
  const double start = Now();
  do {
    f();
    ++reps;
  } while (Now() - start < min_s);
  return units * static_cast<double>(reps) / (Now() - start);
}

volatile double g_sink;  // keeps the measured loops from being optimized away

double Bandwidth() {
  const size_t n = (256u << 20) / sizeof(double);
  std::vector<double> buf(n, 1.0);
  return MeanRate(static_cast<double>(n * sizeof(double)), 1.0, [&] {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < n; i += 4) {
      s0 += buf[i];
      s1 += buf[i + 1];
      s2 += buf[i + 2];
      s3 += buf[i + 3];
    }
    g_sink = s0 + s1 + s2 + s3;
  });
}

typedef float V8 __attribute__((vector_size(32)));

// The rest of the file is built as pot is (no -march): this one loop may use AVX2 and FMA, as ggml's CPU
// backend picks them at run time, when the CPU has them. 10 independent chains hide the FMA latency.
volatile float g_factor = 1.0000001f;  // read at each call, so no call can be folded into another

__attribute__((target("avx2,fma"))) double FmaLoop(long iters) {
  const float f = g_factor;
  V8 a[10], m = {f, f, f, f, f, f, f, f};
  V8 c = {1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f};
  for (int k = 0; k < 10; ++k) a[k] = c * static_cast<float>(k + 1);
  for (long i = 0; i < iters; ++i) {
    for (int k = 0; k < 10; ++k) a[k] = a[k] * m + c;
  }
  double s = 0;
  for (int k = 0; k < 10; ++k) s += a[k][0];
  return s;
}

double Flops() {
  const long iters = 20000000;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return MeanRate(static_cast<double>(iters) * 10 * 8 * 2, 1.0, [&] { g_sink = FmaLoop(iters); });
  }
#endif
  return MeanRate(static_cast<double>(iters) * 4 * 2, 1.0, [&] {
    const float f = g_factor;
    float a[4] = {1e-7f, 2e-7f, 3e-7f, 4e-7f};
    for (long i = 0; i < iters; ++i) {
      for (float& x : a) x = x * f + 1e-7f;
    }
    g_sink = a[0] + a[1] + a[2] + a[3];
  });
}

double Sha256AllCores() {
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const size_t n = 64u << 20;
  std::vector<std::vector<char>> bufs(static_cast<size_t>(threads), std::vector<char>(n, 'x'));
  return MeanRate(static_cast<double>(n) * threads, 2.0, [&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&bufs, t, n] {
        pot::Sha256 h;
        h.Update(bufs[static_cast<size_t>(t)].data(), n);
        g_sink = h.Final()[0];
      });
    }
    for (auto& th : pool) th.join();
  });
}

double Dequant() {
  const int64_t n = 1 << 20;
  std::vector<float> src(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) src[static_cast<size_t>(i)] = std::sin(static_cast<float>(i)) * 0.02f;
  const size_t row = ggml_row_size(GGML_TYPE_Q8_0, n);
  std::vector<char> qa(row), qb(row);
  ggml_quantize_chunk(GGML_TYPE_Q8_0, src.data(), qa.data(), 0, 1, n, nullptr);
  for (auto& v : src) v *= 1.01f;
  ggml_quantize_chunk(GGML_TYPE_Q8_0, src.data(), qb.data(), 0, 1, n, nullptr);
  const ggml_type_traits* traits = ggml_get_type_traits(GGML_TYPE_Q8_0);
  std::vector<float> fa(static_cast<size_t>(n)), fb(static_cast<size_t>(n));
  return MeanRate(2.0 * static_cast<double>(n), 1.0, [&] {
    traits->to_float(qa.data(), fa.data(), n);
    traits->to_float(qb.data(), fb.data(), n);
    double diff2 = 0, a2 = 0, b2 = 0, ab = 0, max_abs = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double x = fa[static_cast<size_t>(i)], y = fb[static_cast<size_t>(i)], delta = x - y;
      diff2 += delta * delta;
      a2 += x * x;
      b2 += y * y;
      ab += x * y;
      max_abs = std::max(max_abs, std::fabs(delta));
    }
    g_sink = diff2 + a2 + b2 + ab + max_abs;
  });
}

void LogSoftmax(const std::vector<float>& x, std::vector<float>* out) {
  const float m = *std::max_element(x.begin(), x.end());
  float sum = 0;
  for (float v : x) sum += std::exp(v - m);
  const float lse = m + std::log(sum);
  for (size_t i = 0; i < x.size(); ++i) (*out)[i] = x[i] - lse;
}

double Vocab() {
  const size_t n = 32000;
  std::vector<float> a(n), b(n), la(n), lb(n);
  for (size_t i = 0; i < n; ++i) {
    a[i] = 5 * std::sin(static_cast<float>(i));
    b[i] = a[i] + 0.1f * std::cos(static_cast<float>(i));
  }
  return MeanRate(static_cast<double>(n), 1.0, [&] {
    LogSoftmax(a, &la);
    LogSoftmax(b, &lb);
    float tv = 0, kl = 0;
    for (size_t i = 0; i < n; ++i) {
      const float p = std::exp(la[i]), q = std::exp(lb[i]);
      tv += std::fabs(p - q);
      kl += p * (la[i] - lb[i]);
    }
    g_sink = tv + kl;
  });
}

double Read(const std::string& path) {
  std::unique_ptr<pot::RandomAccessFile> f;
  pot::Status s = pot::Env::Default()->NewRandomAccessFile(path, &f);
  if (!s.ok()) {
    std::fprintf(stderr, "membw: %s\n", s.message().c_str());
    std::exit(3);
  }
  std::vector<char> buf(8u << 20);
  return MeanRate(static_cast<double>(f->Size()), 1.0, [&] {
    for (uint64_t pos = 0; pos < f->Size(); pos += buf.size()) {
      size_t got = 0;
      if (!f->Read(pos, buf.size(), buf.data(), &got).ok()) std::exit(4);
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: membw FILE   (FILE: a model, read to measure the file read rate)\n");
    return 2;
  }
  const double read = Read(argv[1]);
  const double bandwidth = Bandwidth();
  const double flops = Flops();
  const double sha = Sha256AllCores();
  const double dequant = Dequant();
  const double vocab = Vocab();
  std::printf("{\"bandwidth\": %.6g, \"flops\": %.6g, \"sha256\": %.6g, \"dequant\": %.6g, \"vocab\": %.6g, \"read\": %.6g}\n",
              bandwidth, flops, sha, dequant, vocab, read);
  return 0;
}
