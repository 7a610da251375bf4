#include "pipeline/explain.h"

#include "pipeline/request_context.h"
#include "signals/signals_json.h"
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

nlohmann::json route_explanation(const RequestContext& ctx) {
  Decision decision = *ctx.decision;
  decision.reason = ctx.rec.reason;
  nlohmann::json body = decision_json(decision);
  body["route"] = ctx.req.model;
  body["signals"] = signals::signals_json(ctx.signals);
  body["stages"] = store::stages_json(ctx.rec.stages);
  body["lambda"] = ctx.route_request.lambda ? nlohmann::json(*ctx.route_request.lambda)
                                            : nlohmann::json(nullptr);
  if (!ctx.rec.guard.empty()) body["guard"] = store::guard_json(ctx.rec.guard);
  return body;
}

}  // namespace switchboard::pipeline
