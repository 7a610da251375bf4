// What the executor runs for one request: the plan inside a policy's Decision.
//
// A plan names the runner that executes it (`kind`, a PlanRunner registered by name in
// src/pipeline/plans/) and the models it may call. Today's policies return single-call plans: one
// model, then each fallback in order when it fails before answering. Multi-call plans (a cascade of
// tiers judged between calls, an ensemble fanned out and aggregated) use `tiers` and `aggregator`
// and are run by their own runners; the executor's callers never change when one is added.
#pragma once

#include <string>
#include <vector>

namespace switchboard {

// One tier of a multi-call plan: its models are called in parallel.
struct PlanTier {
  std::vector<std::string> models;
  std::string judge;     // registered judge scoring the tier's answers; empty = final tier
  double threshold = 0;  // escalate to the next tier when the judge's confidence is below it
};

struct Plan {
  std::string kind = "single";  // the PlanRunner that executes it
  // "single": `model` answers; if it fails before answering (every retry spent, or no healthy
  // replica), each of `fallbacks` in order.
  std::string model;
  std::vector<std::string> fallbacks;
  // Multi-call plans only (read by their runners).
  std::vector<PlanTier> tiers;
  std::string aggregator;  // ensembles: registered aggregator of the answers

  static Plan single(std::string model, std::vector<std::string> fallbacks = {}) {
    Plan p;
    p.model = std::move(model);
    p.fallbacks = std::move(fallbacks);
    return p;
  }
  // Every model the plan may call, first use order, without repeats.
  std::vector<std::string> models() const {
    std::vector<std::string> out;
    auto add = [&out](const std::string& m) {
      for (const auto& o : out)
        if (o == m) return;
      out.push_back(m);
    };
    if (!model.empty()) add(model);
    for (const auto& m : fallbacks) add(m);
    for (const auto& t : tiers)
      for (const auto& m : t.models) add(m);
    return out;
  }
};

}  // namespace switchboard
