// Calibration of a λ-driven policy (`switchboard calibrate`): finds the λ at which the policy's
// decisions on held data meet a target: a scan of 101 log-spaced λ from 1e-3 to 1e7 finds the
// first crossing (a larger λ should make the policy pay less, but the curve is only roughly
// monotone), then bisection over log λ refines it.
//
// Targets:
//   share:MODEL=X     the share of calls sent to MODEL is at most X (RouteLLM-style threshold):
//                     the smallest λ with share ≤ X
//   cost-per-1k:C     the mean cost per 1,000 requests is at most C dollars: the smallest such λ
//   min-score:S       the mean score is at least S: the largest such λ (the cheapest way to get S).
//                     A floor should hold on new prompts, so it must hold one standard error of
//                     the mean above S on the held data: learned policies move whole groups of
//                     similar prompts at once, and right at such a cliff the other half of a
//                     split can be 0.04 lower (tests/unit/calibrate_test.cc).
//
// Contract: calibrate() calls `at` a bounded number of times (≤ 135) and is deterministic. It
// returns kBadRequest when no λ in [0, 1e7] meets the target (the message gives the closest value
// reached).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/outcomes.h"
#include "switchboard/result.h"

namespace switchboard::pipeline {
struct Runtime;
}

namespace switchboard::eval {

struct CalibrationTarget {
  enum class Kind { kShare, kCostPer1k, kMinScore };
  Kind kind = Kind::kMinScore;
  std::string model;  // for kShare
  double value = 0;
  std::string to_string() const;
};

// Parses "share:MODEL=X", "cost-per-1k:C", "min-score:S". Errors (kBadRequest) say the syntax.
Result<CalibrationTarget> parse_target(const std::string& text);

// The policy's operating point at one λ on the held data.
struct OperatingPoint {
  double mean_score = 0;
  double score_se = 0;                   // standard error of mean_score
  double cost_per_1k = 0;                // USD per 1,000 requests
  std::map<std::string, double> shares;  // model → share of calls
  double value(const CalibrationTarget& t) const;
};

struct CalibrationResult {
  double lambda = 0;
  OperatingPoint point;
  double achieved = 0;  // the target's metric at `lambda`
};

// The operating point of `route` in `runtime` on `records` (each needs an outcome for every model
// the route may choose) at a given λ, routed as the gateway routes (signals computed once per
// prompt). The first policy error is kept in *error and later calls return zeros.
// `runtime` and `records` must outlive the returned function.
Result<std::function<OperatingPoint(double)>> operating_points(
    const pipeline::Runtime& runtime, const std::string& route,
    const std::vector<const data::PromptRecord*>& records, std::shared_ptr<std::string> error);

Result<CalibrationResult> calibrate(const std::function<OperatingPoint(double lambda)>& at,
                                    const CalibrationTarget& target);

}  // namespace switchboard::eval
