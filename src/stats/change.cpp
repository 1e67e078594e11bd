#include "stats/change.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace pot::stats {

const std::array<double, ChangeDetector::kBets> ChangeDetector::kBetFractions = {
    0.9, 0.5, 0.25, 0.125, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128};

Status CheckChangeParams(const ChangeParams& p) {
  if (!(p.alpha > 0 && p.alpha < 1)) return Status::InvalidArgument("the alarm level alpha must be in (0, 1)");
  // A bet's factor lies in [1 - 0.9, 1 + 0.9 / e]: within [2^-31, 2^31], as Capital needs, for e >= 1e-6.
  if (!(p.epsilon >= 1e-6 && p.epsilon <= 1 - 1e-6)) {
    return Status::InvalidArgument("the change detector's epsilon must be in [1e-6, 1 - 1e-6]");
  }
  if (p.two_sided && !(p.lower >= 1e-6 && p.lower <= p.epsilon)) {
    return Status::InvalidArgument("the change detector's lower bound must be in [1e-6, epsilon]");
  }
  return Status::OK();
}

ChangeDetector::ChangeDetector(const ChangeParams& params) : params_(params) {
  const int sides = params.two_sided ? 2 : 1;
  for (int side = 0; side < sides; ++side) {
    const bool flipped = side == 1;
    const double e = flipped ? 1 - params.lower : params.epsilon;
    for (double f : kBetFractions) bets_.push_back({f / e, e, flipped, 1.0 / (kBets * sides), Capital::Zero(), 0});
  }
}

void ChangeDetector::Bet::Rescale() {
  scale = std::ldexp(weight, static_cast<int>(std::clamp<int64_t>(sum.exponent(), -2100, 2100)));
}

void ChangeDetector::StartRound() {
  ++round_;
  const double r = static_cast<double>(round_);
  const double w = 1 / (r * (r + 1));
  for (Bet& b : bets_) {
    b.sum.Add(w);
    b.Rescale();
  }
}

Status ChangeDetector::Add(double x, bool* alarm) {
  if (!(x >= 0 && x <= 1)) return Status::InvalidArgument("a change detector score must be in [0, 1]");
  if (round_ == 0) return Status::Internal("a change detector score before its first round");
  if (alarmed()) return Status::Internal("a change detector score after its alarm");
  ++tokens_;
  for (Bet& b : bets_) b.sum.Multiply(1 + b.lambda * ((b.flipped ? 1 - x : x) - b.e));
  if (tokens_ % Capital::kRenormalizeEvery == 0) {
    for (Bet& b : bets_) {
      b.sum.Renormalize();
      b.Rescale();
    }
  }
  // M_t can only rise on a token some side bets on (Y > e: a factor above 1); elsewhere it falls, so the
  // comparison (the costly part of a token) is skipped without missing a crossing.
  const bool rises = x > params_.epsilon || (params_.two_sided && x < params_.lower);
  if (rises && Statistic() >= 1 / params_.alpha) alarm_token_ = tokens_;
  *alarm = alarmed();
  return Status::OK();
}

double ChangeDetector::Statistic() const {
  double m = 1 / (static_cast<double>(round_) + 1);
  // Saturates to infinity (an alarm) or 0 (a negligible term) outside double's range.
  for (const Bet& b : bets_) m += b.sum.mantissa() * b.scale;
  return m;
}

double ChangeDetector::LogStatistic() const {
  // log-sum-exp over the unstarted weight and every bet's weighted capital.
  std::vector<double> logs = {-std::log(static_cast<double>(round_) + 1)};
  for (const Bet& b : bets_) logs.push_back(std::log(b.weight) + b.sum.Log());
  double top = -INFINITY;
  for (double l : logs) top = std::max(top, l);
  double sum = 0;
  for (double l : logs) sum += std::exp(l - top);
  return top + std::log(sum);
}

double ChangeDetector::LogThreshold() const { return -std::log(params_.alpha); }

std::string ChangeDetector::StateText() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "r%" PRIu64 " t%" PRIu64 " a%" PRIu64, round_, tokens_, alarm_token_);
  std::string text = buf;
  for (const Bet& b : bets_) {
    std::snprintf(buf, sizeof buf, " %a*2^%" PRId64, b.sum.mantissa(), b.sum.exponent());
    text += buf;
  }
  return text;
}

}  // namespace pot::stats
