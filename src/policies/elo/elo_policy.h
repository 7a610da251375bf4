// `elo`: Bradley–Terry / Elo ratings of the models from pairwise preferences
// (switchboard/learning.h Feedback with `other` and `outcome`), per task when the task signal is
// on, with the objective's cost term.
//
// Ratings start at 1500. A comparison of a and b with outcome S (1 = a won, 0.5 = tie) moves
//     E = 1 / (1 + 10^((R_b − R_a)/400)),   R_a += K·(S − E),   R_b −= K·(S − E)
// in the task's table and in the global one. A model's predicted quality is its expected score
// against a uniformly drawn other model, mean_j 1/(1 + 10^((R_j − R_m)/400)) — on the preference
// scale, not the recorded-score scale, so λ trades cost against win probability. Its predicted cost
// is the mean billed cost seen in feedback for it (0 before any, so untried models look cheap).
// The task table is used once it has `min_games` comparisons, else the global one.
//
// YAML: {type: elo, k: K (16), per_task: bool (false; needs the task signal's weights),
//        min_games: N (20), <objective keys>}
//
// Contract: as for every LearningPolicy: choose() reads an immutable snapshot, observe() swaps a
// new one.
#pragma once

#include <array>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "policies/objective.h"
#include "switchboard/learning.h"

namespace switchboard::policies::elo {

struct Ratings {
  std::vector<double> rating;  // per model
  std::uint64_t games = 0;
};

// The Elo step for a comparison of a and b with outcome s (1 = a won).
void elo_update(Ratings& r, std::size_t a, std::size_t b, double s, double k);
// Expected score of each model against a uniformly drawn other one.
std::vector<double> expected_scores(const Ratings& r);

struct EloState {
  Ratings global;
  std::map<std::string, Ratings, std::less<>> by_task;
  std::vector<double> cost_sum;
  std::vector<std::uint64_t> cost_n;
  std::uint64_t observations = 0;
};

class EloPolicy final : public LearningPolicy {
 public:
  // `list_prices`: per model of the objective, {input, output} USD per million tokens (empty or
  // zeros: unknown), the cost of a model before its first answer was billed.
  EloPolicy(std::shared_ptr<const Objective> objective, double k, bool per_task,
            std::uint64_t min_games, std::vector<std::array<double, 2>> list_prices = {});
  Result<Decision> choose(const RouteRequest& request, const Signals& signals) const override;
  std::vector<std::string> models() const override { return objective_->models(); }
  bool weighs_cost() const override { return true; }
  SignalNeeds needs() const override;
  std::optional<Error> observe(const Feedback& feedback) override;
  std::optional<std::string> cannot_learn(const Feedback& feedback) const override;
  std::uint64_t observations() const override { return state_.load()->observations; }
  nlohmann::json summary() const override;
  // {"models":[...], "observations", "global":{"rating":[...],"games"}, "by_task":{task:{...}},
  //  "cost_sum":[...], "cost_n":[...]}
  nlohmann::json save() const override;
  std::optional<Error> restore(const nlohmann::json& state) override;
  std::shared_ptr<const EloState> state() const { return state_.load(); }

 private:
  std::shared_ptr<const Objective> objective_;
  double k_;
  bool per_task_;
  std::uint64_t min_games_;
  std::vector<std::array<double, 2>> list_prices_;
  std::atomic<std::shared_ptr<const EloState>> state_;
  std::mutex write_;
};

}  // namespace switchboard::policies::elo
