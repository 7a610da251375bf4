// Two-sided Page–Hinkley test (Page 1954; Hinkley 1971) on a stream of residuals r = observed −
// predicted: it raises an alarm when their mean shifts by more than `delta` in either direction,
// once the accumulated evidence exceeds `threshold`.
//
//     down:  g⁻ = max(0, g⁻ − (r − μ) − δ),   up:  g⁺ = max(0, g⁺ + (r − μ) − δ),   alarm: g > h
//
// μ is the residuals' running mean since the last reset (0 for a calibrated predictor). Under no
// change each statistic is a random walk with drift −δ reflected at 0, so for residuals of
// standard deviation σ an excursion reaches h with probability about exp(−2δh/σ²): δ = 0.1, h = 8
// and σ ≤ 0.5 (0/1 scores) give ≤ 2e-3 per excursion; a shift of s > δ is found after about
// h / (s − δ) observations (≈ 23 for a quality that halves from 0.9).
//
// The bandit's warm start (policies/bandit/bandit_policy.h) uses it so that it follows the offline
// policy exactly until feedback shows that a model has changed, instead of forgetting all the
// time. Contract: a value type; add() returns true on an alarm and then restarts from zero.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace switchboard::policies::bandit {

struct ChangeDetector {
  double delta = 0.1;
  double threshold = 8;
  double mean = 0;  // of the residuals since the last reset
  double up = 0, down = 0;
  std::uint64_t n = 0;
  std::uint64_t alarms = 0;

  bool add(double residual);
  nlohmann::json to_json() const;
  // Fills the statistics from to_json()'s output (delta and threshold stay the configured ones);
  // false on a malformed value.
  bool from_json(const nlohmann::json& j);
};

}  // namespace switchboard::policies::bandit
