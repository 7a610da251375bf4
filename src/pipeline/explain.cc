#include "pipeline/explain.h"

#include "store/decision_store.h"

namespace switchboard::pipeline {

nlohmann::json decision_json(const Decision& decision) {
  return {{"model", decision.plan.model},
          {"policy", decision.policy},
          {"reason", decision.reason},
          {"plan", decision.plan.kind},
          {"fallbacks", decision.plan.fallbacks},
          {"candidates", store::candidates_json(decision.candidates)}};
}

}  // namespace switchboard::pipeline
