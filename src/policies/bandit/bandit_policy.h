// `bandit`: a contextual bandit over the prompt's embedding (the `embedding` signal, GloVe by
// default) or its task label (the `task` signal) that learns from feedback while it serves
// (switchboard/learning.h).
//
// Per model, a LinearArm (policies/bandit/linear_arm.h) on x predicts quality, where
//   context: embedding  x = [w·embedding, 1]
//   context: task       x = [one-hot(task label hashed into `task_buckets` slots), 1]: with a few
//                       labels (one slot each) this is a per-model, per-task mean — few parameters
//                       per arm, so it learns from far fewer feedback events than 101 weights do;
// a per-model ridge line in the prompt's tokens predicts cost, learned from the billed costs of its
// feedback. Before a model's first billed answer its cost is its list price (`price:` in the
// config: input price × prompt tokens + output price × kAssumedCompletionTokens) times the route's
// billed/listed ratio so far (Σ billed ÷ Σ the same list-price estimate, over the feedback of priced
// models; 1 before any), so that an untried expensive model does not look free, and an untried
// model is compared on the answer lengths the route really sees; 0 for a model without a price.
// The decision is the shared
// Objective's (policies/objective.h): argmax q − λ·cost, i.e. the reward score − λ·cost, with q
//   linucb:   θᵀx + α·width(x)
//   thompson: θᵀx + α·width(x)·N(0,1), drawn from a generator seeded by (seed, observations,
//             prompt text): the same state and prompt give the same choice.
// Warm start (`warm_start: MODEL_DIR` of a trained knn / classifier / mf policy): that offline
// policy predicts quality and cost and the arms learn the residual score − offline quality, so with
// no feedback the bandit decides exactly as the offline policy (the width term is equal for every
// arm until feedback arrives) and adapts from there.
//
// Change detection (`change_detection: {delta, threshold}`, on by default with a warm start): each
// model's residuals (score − predicted quality) feed a Page–Hinkley test
// (policies/bandit/change_detector.h); a model's arm stays as it is — with a warm start: no
// correction at all, exactly the offline policy — until its test raises an alarm, and then restarts
// from its prior and learns (with the discount) until the next alarm. A stationary stream thus
// costs nothing against the offline policy, and a drifted model is found after a few dozen of its
// answers. `change_detection: off` learns from every event (the behaviour without a warm start).
//
// Pairwise preferences (Feedback::outcome with no score: POST /v1/feedback's {decision_a,
// decision_b, winner}) rate both answers, each at its own request's context: the winner 1, the
// loser 0, a tie 0.5 each; both arms (and cost lines) learn from the one event. Why these values:
// for 0/1 scores (RouterBench's, a judge's pass/fail) a strict preference says exactly that the
// winner scored 1 and the loser 0, and a tie says "both 1 or both 0", whose mean with no other
// knowledge is 0.5. A feedback with both a score and an outcome (eval --online's) learns the score
// only.
//
// Defaults (tuned by cross-validation inside RouterBench TRAIN, docs/online.md): linucb α = 1,
// thompson α = 0.2, cold discount 1; warm start α = 0, prior 20, discount 0.98, embedding_weight 0
// (the residual over the offline policy is a per-model bias that forgets with γ), change detection
// δ = 0.1, h = 8.
// YAML: {type: bandit, algorithm: linucb|thompson (linucb), alpha: X,
//        prior: X (ridge, 1 cold, 20 warm), bias_prior: X (the bias term's; default: prior),
//        discount: γ in (0,1] (1: stationary), embedding_weight: w (1; 0 = learn a per-model bias
//        only), context: embedding|task (embedding), task_buckets: N (16), seed: N,
//        change_detection: off | {delta: δ (0.1), threshold: h (8)},
//        warm_start: MODEL_DIR, <objective keys>}
// In `switchboard train`/`eval`, `warm_start: TYPE` (a policy type with a trainer) trains TYPE on
// TRAIN first and uses its directory.
//
// Contract: choose() reads one immutable snapshot (std::atomic<std::shared_ptr<const State>>) and
// never blocks on observe(); observe() serialises writers with a mutex, copies only the arm it
// changes, and publishes the new snapshot atomically.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "policies/bandit/change_detector.h"
#include "policies/bandit/linear_arm.h"
#include "policies/learned.h"
#include "policies/list_price.h"
#include "switchboard/learning.h"

namespace switchboard::policies::bandit {

enum class Algorithm { kLinUcb, kThompson };
enum class Context { kEmbedding, kTask };

struct BanditOptions {
  Algorithm algorithm = Algorithm::kLinUcb;
  double alpha = 1;
  double prior = 1;
  double bias_prior = 0;        // the bias term's prior (≤ 0: `prior`)
  double discount = 1;          // γ: 1 = remember everything
  double embedding_weight = 1;  // x = [w·embedding, 1]; 0 = a per-model bias only
  Context context = Context::kEmbedding;
  bool detect_changes = false;  // arms learn only after their change detector's alarm
  double change_delta = 0.1, change_threshold = 8;
  std::uint64_t seed = 1;
  // x has dim + 1 entries: the embedding's dimension, or the number of task buckets.
  std::size_t dim = 100;
  // Per model of the objective (empty = none): the list-price cost line (list_price_line()).
  std::vector<Eigen::Vector2d> list_prices;
};

// The list-price line [USD at 0 prompt tokens, USD per 1,000 prompt tokens] of a model priced
// `input_per_mtok` / `output_per_mtok` USD per million tokens.
Eigen::Vector2d list_price_line(double input_per_mtok, double output_per_mtok);

// Per-model cost line: ridge regression of cost on [1, tokens/1000].
struct CostLine {
  Eigen::Matrix2d a = Eigen::Matrix2d::Identity() * 1e-3;
  Eigen::Vector2d b = Eigen::Vector2d::Zero();
  std::uint64_t n = 0;
  double predict(std::int64_t tokens) const;
  CostLine updated(std::int64_t tokens, double cost) const;
};

struct BanditState {
  std::vector<std::shared_ptr<const LinearArm>> arms;  // per model of the objective
  std::vector<CostLine> costs;
  std::vector<ChangeDetector> detectors;  // per model; used when options.detect_changes
  std::vector<bool> learning;             // per model: its detector has raised an alarm
  std::uint64_t observations = 0;
  double billed = 0, listed = 0;  // Σ billed cost, Σ list-price estimate (priced models' feedback)
};

class BanditPolicy final : public LearningPolicy {
 public:
  // `offline` (may be null) is the warm-start policy; its models must be `objective`'s, in order.
  BanditPolicy(std::shared_ptr<const Objective> objective, BanditOptions options,
               std::unique_ptr<Policy> offline);

  Result<Decision> choose(const RouteRequest& request, const Signals& signals) const override;
  std::vector<std::string> models() const override { return objective_->models(); }
  bool weighs_cost() const override { return true; }
  SignalNeeds needs() const override;
  std::optional<Error> observe(const Feedback& feedback) override;
  std::uint64_t observations() const override { return state_.load()->observations; }
  nlohmann::json summary() const override;
  // {"models":[...], "dim", "observations", "arms":[null | {"p","a","b","n"}],
  // "costs":[{"a","b","n"}], "cost_calibration":[billed, listed]} (matrices row-major; an arm
  // never updated is null; cost_calibration optional on restore). restore()
  // refactors A⁻¹ and θ.
  nlohmann::json save() const override;
  std::optional<Error> restore(const nlohmann::json& state) override;

  std::shared_ptr<const BanditState> state() const { return state_.load(); }
  const Objective& objective() const { return *objective_; }
  // x = [w·embedding, 1] (zeros when the embedding is missing or of another size), or
  // [one-hot(FNV-1a(task) mod dim), 1] (zeros when the prompt has no task label).
  Eigen::VectorXd context(const Signals& signals) const;

 private:
  // Model m's list-price estimate for a prompt of `tokens` (0 without a price), and its predicted
  // cost: its learned line once billed, else the list price times the billed/listed ratio.
  double list_price(std::size_t m, std::int64_t tokens) const;
  double cost_of(const BanditState& s, std::size_t m, std::int64_t tokens) const;
  Result<std::vector<ModelPrediction>> offline_predictions(const RouteRequest& request,
                                                           const Signals& signals) const;

  std::shared_ptr<const Objective> objective_;
  BanditOptions options_;
  std::unique_ptr<Policy> offline_;         // owns the warm-start policy
  const LearnedPolicy* learned_ = nullptr;  // offline_ as a LearnedPolicy
  std::atomic<std::shared_ptr<const BanditState>> state_;
  std::mutex write_;
};

}  // namespace switchboard::policies::bandit
