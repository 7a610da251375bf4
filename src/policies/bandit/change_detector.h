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
// That test is blind to a predictor wrong from the first observation: a constant residual is its
// own running mean (a warm arm predicting 1.0 for a model that always scores 0 never alarmed, so
// never learned). A second pair tests the residuals against 0 — the prediction itself — with a
// wider margin `bias_delta` (0.25: for a calibrated predictor, σ ≤ 0.5, a false alarm needs an
// excursion of probability ≈ exp(−2·0.25·8/0.25) ≈ 1e-7; a bias of b > 0.25 alarms after about
// h / (b − 0.25) observations, 11 for the example).
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
  double bias_delta = 0.25;
  double threshold = 8;
  double mean = 0;  // of the residuals since the last reset
  double up = 0, down = 0;            // the shift of the mean
  double bias_up = 0, bias_down = 0;  // the residuals against 0
  std::uint64_t n = 0;
  std::uint64_t alarms = 0;

  bool add(double residual);
  nlohmann::json to_json() const;
  // Fills the statistics from to_json()'s output (delta and threshold stay the configured ones;
  // a state saved before the bias test starts it at 0); false on a malformed value.
  bool from_json(const nlohmann::json& j);
};

}  // namespace switchboard::policies::bandit
