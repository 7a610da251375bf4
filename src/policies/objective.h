// The one objective every learned policy (knn, classifier, mf) decides with: given per-model
// predictions of quality (P(answers well), in [0,1]) and cost (USD for this request), choose
//
//     argmax  quality − λ·cost − μ·latency_seconds − price(model)
//
// where, when the request carries live dual prices (RouteRequest::prices, docs/capacity.md), λ
// gains the route's budget λ and price(model) is the model's capacity price (else both are 0);
// over the models that pass the hard constraints: the route's allowed models, the context window
// (prompt_tokens + max_output_tokens ≤ context_window when both are known) and the request's
// max_cost ceiling (when no model fits under it, the cheapest context-eligible one is used).
//
// λ (quality points per US dollar) for one request, first that applies: RouteRequest::lambda;
// RouteRequest::objective ("quality", "balanced", "cost") mapped through `objectives`; the spec's
// `lambda:`; objectives[default_objective]. Objectives come from the spec's `objectives:`, else the
// model directory's manifest (where `switchboard calibrate` writes `balanced`), else the defaults.
//
// Contract: Objective is immutable after construction and decide() is thread-safe, does no I/O.
// decide() returns kBadRequest for an unknown objective name or when the prompt exceeds every
// allowed model's context window. Ties in utility go to the cheaper model, then the earlier one.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/policy.h"
#include "switchboard/result.h"

namespace switchboard::config {
struct Config;
}

namespace switchboard::policies {

struct Objectives {
  double quality = 0;    // quality only: the best predicted model whatever it costs
  double balanced = 20;  // default: 0.1 quality points are worth $0.005 (a GPT-4 call)
  double cost = 1e6;     // the cheapest model unless predictions are nearly equal in cost
  bool operator==(const Objectives&) const = default;
};

struct ModelPrediction {
  double quality = 0;      // in [0,1]
  double cost = 0;         // USD for this request
  double latency_ms = -1;  // -1 = unknown (μ ignores it)
};

struct ObjectiveSettings {
  std::vector<std::string> models;            // the models the policy may choose, in config order
  std::vector<std::int64_t> context_windows;  // per model; 0 = unknown
  Objectives objectives;
  std::string default_objective = "balanced";
  std::optional<double> lambda;  // the spec's fixed λ
  double mu = 0;                 // quality points per second of predicted latency
};

// Parses the keys shared by all learned policies from a route's `policy:` spec:
//   models: [NAME...]   the allowed models (default: every configured model)
//   lambda: X | objective: quality|balanced|cost | objectives: {quality: X, balanced: X, cost: X}
//   mu: X
// `manifest_objectives` (from the model directory) fills objectives the spec does not set.
// Errors (kBadRequest, message prefixed by `where`): unknown model, bad numbers, unknown objective.
Result<ObjectiveSettings> parse_objective_settings(
    const YAML::Node& spec, const config::Config& config, const std::string& where,
    const std::optional<Objectives>& manifest_objectives);

// The keys parse_objective_settings reads (so that a policy can reject unknown keys).
const std::vector<std::string>& objective_spec_keys();

class Objective {
 public:
  explicit Objective(ObjectiveSettings settings) : s_(std::move(settings)) {}

  const ObjectiveSettings& settings() const { return s_; }
  const std::vector<std::string>& models() const { return s_.models; }

  // λ for this request and where it came from ("request", "objective 'cost'", "spec", ...).
  Result<std::pair<double, std::string>> lambda_for(const RouteRequest& request) const;

  // `predictions[i]` is for models()[i]. The Decision lists every model as a candidate (with its
  // predictions, utility, eligibility and a note), the chosen one, and the other eligible models
  // as fallbacks by decreasing utility.
  Result<Decision> decide(std::string_view policy, const std::vector<ModelPrediction>& predictions,
                          const RouteRequest& request) const;

 private:
  ObjectiveSettings s_;
};

}  // namespace switchboard::policies
