// `corrected`: any learned policy (knn, classifier, mf: a trained model directory) with an online
// correction learned from feedback (switchboard/learning.h, docs/online.md): per model and per task
// (the task signal's label; the global table when the prompt has none or its task has fewer than
// `min_n` feedback events for that model), a bias
//
//     bias[task][m] = Σ_k γ^(n−k) (score_k − q_k) / (prior + Σ_k γ^(n−k))
//
// over the feedback on model m, where q_k is the base policy's predicted quality of the answered
// prompt (re-predicted from its text and signals when the feedback arrives). It is added to the
// base policy's predicted quality before the shared Objective decides; costs stay the base's. With
// no feedback the route decides exactly as the base policy. `prior` shrinks the first few
// corrections toward 0; `discount` γ < 1 forgets old feedback (a drifting model). A pairwise
// preference without a score rates both answers like the bandit does (policies/bandit/
// bandit_policy.h): the winner 1, the loser 0, a tie 0.5 each, each at its own request.
//
// YAML: {type: corrected, model_dir: DIR, prior: X (10), discount: γ (1), per_task: bool (true),
//        min_n: N (5), <the base policy's keys and the objective's>}
//
// Contract: choose() reads one immutable snapshot of the biases and never waits for observe();
// observe() serialises writers and swaps a new snapshot in atomically.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "policies/learned.h"
#include "switchboard/learning.h"

namespace switchboard::policies::correction {

struct CorrectionOptions {
  double prior = 10;
  double discount = 1;
  bool per_task = true;
  std::uint64_t min_n = 5;
};

// Per model: the discounted sum of residuals and of weights, and the raw count.
struct BiasTable {
  std::vector<double> sum, weight;
  std::vector<std::uint64_t> n;
};

struct CorrectionState {
  BiasTable global;
  std::map<std::string, BiasTable, std::less<>> by_task;
  std::uint64_t observations = 0;
};

class CorrectionPolicy final : public LearningPolicy {
 public:
  // `base` must be a LearnedPolicy (it predicts per-model quality).
  CorrectionPolicy(std::unique_ptr<Policy> base, CorrectionOptions options);

  Result<Decision> choose(const RouteRequest& request, const Signals& signals) const override;
  std::vector<std::string> models() const override { return base_->models(); }
  bool weighs_cost() const override { return true; }  // through the base's objective
  SignalNeeds needs() const override;
  std::optional<Error> observe(const Feedback& feedback) override;
  std::uint64_t observations() const override { return state_.load()->observations; }
  nlohmann::json summary() const override;
  nlohmann::json save() const override;
  std::optional<Error> restore(const nlohmann::json& state) override;

  // The bias added to model m's quality for a prompt with this task label.
  double bias(std::size_t m, std::string_view task) const;

 private:
  double bias(const CorrectionState& s, std::size_t m, std::string_view task) const;

  std::unique_ptr<Policy> base_;
  const LearnedPolicy* learned_ = nullptr;
  CorrectionOptions options_;
  std::atomic<std::shared_ptr<const CorrectionState>> state_;
  std::mutex write_;
};

}  // namespace switchboard::policies::correction
