// The offline evaluator: how good and how costly each routing policy would have been on a set of
// recorded outcomes (data/outcomes.h), compared with reference baselines.
//
// Policies are built exactly as the gateway builds them (pipeline::build_runtime over a Config
// whose models are the dataset's models, each with one replica, and the `signals:` section of a
// gateway config given as --policy-config), trained first on TRAIN when a trainer is registered
// for their type (policies/trainer.h), and every TEST prompt is sent as a client would send it through
// the gateway's own stages and executor (eval/offline_runner.h) on an upstream answering from the
// TEST outcomes (replay/recorded_upstream.h). A point's cost is what the calls made were billed
// (the recorded costs), its quality the recorded score of the model that answered. Baselines (single models, random mixing, oracle, task-best) are
// computed from the outcomes directly; they are references, not production policies.
//
// Deterministic: no clock, no unordered iteration, no sampling; the same inputs give the same
// result, bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/outcomes.h"
#include "eval/metrics.h"
#include "policies/route_input.h"
#include "policies/trainer.h"
#include "switchboard/result.h"

namespace switchboard::eval {

// The training interface and the recorded-prompt request live below eval (policies may not
// depend on eval); the evaluator uses them under these names.
using policies::chat_request_for;
using policies::default_lambda_sweep;
using policies::PolicyTrainer;
using policies::Sweep;
using policies::TrainContext;
using policies::TrainedPolicy;
using policies::TrainerRegistrar;
using policies::TrainerRegistry;

struct EvalOptions {
  // Policy labels to evaluate. A label is looked up in the policy config (below) for its spec;
  // otherwise it is a policy type, built from `{type: LABEL}` (after training, if it has a
  // trainer).
  std::vector<std::string> policies;
  // Optional YAML file: either a gateway config (its `routes[]` give label = route name and spec =
  // `policy`) or a mapping from label to a `policy:` spec. Empty = none.
  std::string policy_config;
  std::optional<std::string> strong, weak;           // for APGR and CPT
  std::vector<double> budgets = {0.10, 0.25, 0.50};  // shares of the most expensive model's cost
  // Trainers write under DIR/<label>/; empty = a temporary directory removed at the end.
  std::string artifacts_dir;
  std::uint64_t seed = 1;
  // Called now and then with the work done and the total (both in routed prompts).
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct EvalPoint : CurvePoint {
  std::optional<double> knob;            // the sweep value that produced this point
  std::map<std::string, double> shares;  // share of prompts sent to each model (zeros omitted)
  // A grid sweep (a spec key paired with λ, Sweep::lambdas): the λ of the requests; else unset.
  std::optional<double> lambda;
  // Multi-call plans: the share of prompts whose plan stopped at tier i (the last tier that made a
  // call: cascade tiers; an ensemble's members are tier 0, its synthesizer tier 1), and the mean
  // number of model calls per prompt. Single-call policies (and baselines): {} and 1.
  std::vector<double> tier_shares;
  double mean_calls = 1;
};

struct CurveMetrics {
  std::optional<double> aiq;
  std::optional<double> apgr, cpt50, cpt80;  // only with strong and weak models
  std::vector<std::pair<double, std::optional<double>>> quality_at_budget;  // (share, quality)
};

struct Curve {
  std::string name;         // the policy label, or the baseline's name
  std::string kind;         // "policy", "single", "random", "oracle", "task-best"
  std::string type;         // a policy's type; empty for baselines
  std::string knob;         // what was swept: "lambda", a spec key, "share"; empty for one point
  std::string description;  // one line for people
  std::vector<EvalPoint> points;  // distinct (cost, quality), sorted by cost then quality
  CurveMetrics metrics;
};

struct ModelSummary {
  std::string name;
  double cost = 0;     // total USD on TEST
  double quality = 0;  // mean score on TEST
};

struct EvalResult {
  std::string train_path, test_path;
  std::size_t train_records = 0;
  std::size_t test_records = 0;      // evaluated: those with an outcome for every model
  std::size_t test_skipped = 0;      // TEST records lacking some model's outcome
  std::size_t test_duplicates = 0;   // TEST records repeating an earlier one's conversation (left out)
  // Evaluated TEST records whose whole conversation is also in TRAIN (kept; a learned policy has
  // seen their outcomes, so its figures are not held-out on them: said in `notes`).
  std::size_t test_in_train = 0;
  // What the figures leave out, one sentence each (a route's cache or guard, which eval does not
  // run: policy_plan.h SpecSource::not_applied).
  std::vector<std::string> notes;
  std::vector<std::string> tasks;    // the distinct TEST task labels, sorted
  std::vector<ModelSummary> models;  // by name
  std::string max_cost_model;
  double max_cost = 0;  // the most expensive single model's total TEST cost (AIQ's unit)
  std::optional<std::string> strong, weak;
  std::vector<double> budgets;
  std::uint64_t seed = 1;
  std::vector<Curve> policies;   // in the order asked
  std::vector<Curve> baselines;  // single models (by name), random, oracle, task-best
};

// Runs the evaluation. Errors (kBadRequest): no TEST record has every model's outcome; --strong or
// --weak is not a model; a policy label cannot be built (the message is the factory's, prefixed by
// the spec's location); a trainer fails; a policy returns an error or an unknown model for a prompt
// (the message names the prompt id).
Result<EvalResult> evaluate(const data::Outcomes& train, const data::Outcomes& test,
                            const EvalOptions& options);

}  // namespace switchboard::eval
