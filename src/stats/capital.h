// stats: a betting capital, the running product of positive factors that every test here accumulates.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace pot::stats {

// Kept as mantissa * 2^exponent rather than as a sum of logarithms, so an update is one multiply (the audit
// of a 1000-challenge run replays millions of them). Renormalize is exact; callers call it at least every
// kRenormalizeEvery factors, which keeps the mantissa inside double's range as long as every factor lies in
// [2^-31, 2^31] (32 * 31 < 1021).
class Capital {
 public:
  static constexpr uint64_t kRenormalizeEvery = 32;

  // A capital of 0, for a sum of capitals that no bet has joined yet.
  static Capital Zero() {
    Capital c;
    c.mantissa_ = 0;
    return c;
  }

  void Multiply(double factor) { mantissa_ *= factor; }
  void Renormalize() {
    int e;
    mantissa_ = std::frexp(mantissa_, &e);
    exponent_ += e;
  }
  // Adds x >= 0 (finite), as a prior weight joining a sum of capitals (stats/change.h). Exact up to one
  // rounding of the sum; a term below the other's precision is absorbed, never overflowing either.
  void Add(double x) {
    Renormalize();
    int e;
    const double m = std::frexp(x, &e);
    if (m == 0) return;
    if (mantissa_ == 0) {
      mantissa_ = m;
      exponent_ = e;
      return;
    }
    const int64_t gap = exponent_ - e;
    if (gap >= 0) {
      mantissa_ += std::ldexp(m, static_cast<int>(-std::min<int64_t>(gap, 2100)));
    } else {
      mantissa_ = m + std::ldexp(mantissa_, static_cast<int>(-std::min<int64_t>(-gap, 2100)));
      exponent_ = e;
    }
  }
  // The exact state, for journals that must show a replay reproduced it bit for bit.
  double mantissa() const { return mantissa_; }
  int64_t exponent() const { return exponent_; }
  double Log() const { return std::log(mantissa_) + static_cast<double>(exponent_) * std::log(2.0); }
  // The capital as a double, saturating to 0 or infinity outside double's range: enough to compare a
  // weighted sum of capitals with a threshold.
  double Value() const {
    return std::ldexp(mantissa_, static_cast<int>(std::clamp<int64_t>(exponent_, -2100, 2100)));
  }

 private:
  double mantissa_ = 1;
  int64_t exponent_ = 0;
};

}  // namespace pot::stats
