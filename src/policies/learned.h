// Shared plumbing of the learned policies (knn, classifier, mf): the training table built from
// recorded outcomes, the per-model cost and latency table, the common spec keys and factory steps,
// and the base class whose choose() is "predict, then Objective::decide".
//
// Contract: a LearnedPolicy is immutable after construction; predict() must be thread-safe and do
// no I/O. Trainers see prompts exactly as the gateway does: the record becomes the chat request a
// client would send (policies/route_input.h) and its prompt_text / estimated tokens are used.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policies/model_dir.h"
#include "policies/objective.h"
#include "policies/trainer.h"
#include "switchboard/policy.h"

namespace switchboard::policies {

// One training prompt: what the gateway would see, and every model's outcome.
struct TrainRow {
  std::string text;                // RouteRequest::prompt_text
  std::int64_t prompt_tokens = 0;  // the gateway's estimate
  std::string task;                // the record's label ("" = none)
  std::vector<float> score;        // per model (TrainTable::models order)
  std::vector<float> cost;
  std::vector<float> latency_ms;  // -1 = not recorded
};

struct TrainTable {
  std::vector<std::string> models;
  std::vector<TrainRow> rows;  // records with an outcome for every model, in file order
};

// The models a trainer fits: the user's spec's `models:` when given, else the context's.
std::vector<std::string> train_models(const TrainContext& ctx);

// Errors (kBadRequest): fewer than 2 usable records (with every model's outcome).
Result<TrainTable> make_train_table(const data::Outcomes& outcomes,
                                    const std::vector<std::string>& models);

// Per-model cost and latency, for policies that predict quality only: the mean cost of the
// request's task (when the task signal is set and was seen in training), else a least-squares line
// in the prompt's tokens (clamped to ≥ 0), fitted on all training prompts.
class CostTable {
 public:
  static CostTable fit(const TrainTable& table);
  static Result<CostTable> from_json(const nlohmann::json& j, std::size_t n_models);
  nlohmann::json to_json() const;
  double cost(std::size_t model, const std::string& task, std::int64_t prompt_tokens) const;
  double latency_ms(std::size_t model) const { return latency_[model]; }  // -1 = unknown
  // The tasks seen in training (sorted) and the expected cost given task probabilities `p` (one
  // per task, need not sum to 1); the token line when they are all 0.
  std::vector<std::string> tasks() const;
  double expected_cost(std::size_t model, const std::vector<double>& p,
                       std::int64_t prompt_tokens) const;

 private:
  std::vector<double> a_, b_, latency_;  // per model: cost = a + b·tokens
  std::vector<std::pair<std::string, std::vector<double>>> task_cost_;  // sorted by task
};

class QualityCalibration;  // policies/calibration.h

// The predictions of a policy that scores quality itself and prices by task: model m's quality is
// calibration.apply(m, raw[m]); its cost is the task signal's mean cost when the signal is set,
// else the cost expected over `task_p` (the policy's own task probabilities). m < n_models.
std::vector<ModelPrediction> predictions_by_task(const std::vector<double>& raw, const std::vector<double>& task_p,
                                                 std::size_t n_models, const QualityCalibration& calibration,
                                                 const CostTable& costs, const Signals& signals);

// The spec's `model_dir` resolved, the manifest checked against the allowed models and the
// objective built. `extra_keys` are the policy's own spec keys (beyond type, model_dir and the
// objective's keys); any other key is an error.
struct LearnedSetup {
  std::string dir;
  Manifest manifest;
  std::shared_ptr<const Objective> objective;  // models in the manifest's order
};
Result<LearnedSetup> setup_learned(const PolicyContext& ctx, const std::string& policy,
                                   const std::vector<std::string>& extra_keys);

// Base of the learned policies: choose() = predict() → Objective::decide().
class LearnedPolicy : public Policy {
 public:
  LearnedPolicy(std::string name, std::shared_ptr<const Objective> objective)
      : name_(std::move(name)), objective_(std::move(objective)) {}
  Result<Decision> choose(const RouteRequest& request, const Signals& signals) const override;
  // One prediction per model of the manifest, in its order.
  virtual Result<std::vector<ModelPrediction>> predict(const RouteRequest& request,
                                                       const Signals& signals) const = 0;
  const Objective& objective() const { return *objective_; }
  std::vector<std::string> models() const override { return objective_->models(); }
  bool weighs_cost() const override { return true; }

 private:
  std::string name_;
  std::shared_ptr<const Objective> objective_;
};

// The signals of every training row, from the extractor the gateway loads (ctx.signal_options),
// so that a policy trains on the very features it is routed with. Embeddings are unit length (a
// prompt without known words gets zeros).
struct RowSignals {
  std::vector<std::vector<float>> embeddings;  // empty unless needs.embedding
  std::vector<std::string> tasks;              // per row; "" without a task signal
  std::size_t dim = 0;
  std::string provider;  // "glove-100d" when embeddings were computed
};
Result<RowSignals> extract_row_signals(const TrainContext& ctx, const TrainTable& table,
                                       const SignalNeeds& needs);

// Trainer helpers. The manifest gets the context's data summary and the current time; the output
// spec is `{type, model_dir}` plus the objective keys of the user's spec; `train_only` keys of the
// user's spec are hyper-parameters the trainer consumed (not copied).
Manifest base_manifest(const TrainContext& ctx, const std::string& policy, const TrainTable& table);
YAML::Node output_spec(const TrainContext& ctx, const std::string& policy,
                       const std::vector<std::string>& runtime_keys);
// Throws std::invalid_argument when the user's spec has a key that is neither `type`, `model_dir`
// (replaced by the trainer's), an objective key (objective_spec_keys) nor one of `own` (the
// trainer's hyper-parameters and runtime keys): a misspelt hyper-parameter (`epochs` for the
// classifier's `epoch`) is refused, not trained with its default. run_trainer() turns it into the
// trainer's error.
void check_spec_keys(const TrainContext& ctx, const std::string& policy,
                     const std::vector<std::string>& own);
// A hyper-parameter from the user's spec, or `fallback`. Throws std::invalid_argument naming the
// key when it is not a finite number (spec_int: not an integer within [min, max]); run_trainer()
// turns that into the trainer's error.
double spec_number(const TrainContext& ctx, const std::string& key, double fallback);
std::int64_t spec_int(const TrainContext& ctx, const std::string& key, std::int64_t fallback,
                      std::int64_t min, std::int64_t max);
// `folds` for cross-fitting the calibration: 0 (none) or 2-100 (default 5).
std::size_t spec_folds(const TrainContext& ctx);
void report_progress(const TrainContext& ctx, std::string_view stage, std::size_t done,
                     std::size_t total);

}  // namespace switchboard::policies
