#include "pipeline/explain.h"

namespace switchboard::pipeline {

namespace {
nlohmann::json prediction(double v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); }
}  // namespace

nlohmann::json candidates_json(const std::vector<Candidate>& candidates) {
  auto out = nlohmann::json::array();
  for (const auto& c : candidates) {
    out.push_back({{"model", c.model},
                   {"predicted_quality", prediction(c.predicted_quality)},
                   {"predicted_cost", prediction(c.predicted_cost)},
                   {"utility", c.utility ? nlohmann::json(*c.utility) : nlohmann::json(nullptr)},
                   {"eligible", c.eligible},
                   {"note", c.note}});
  }
  return out;
}

nlohmann::json decision_json(const Decision& decision) {
  return {{"model", decision.plan.model},
          {"policy", decision.policy},
          {"reason", decision.reason},
          {"plan", decision.plan.kind},
          {"fallbacks", decision.plan.fallbacks},
          {"candidates", candidates_json(decision.candidates)}};
}

}  // namespace switchboard::pipeline
