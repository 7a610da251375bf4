// A Decision as JSON: the one serialisation used by decision records, POST /v1/route and
// `switchboard route`, so every place that explains a choice says the same thing; and the whole
// explanation both of the latter answer, from one explain-only run of the stages.
#pragma once

#include <nlohmann/json.hpp>

#include "switchboard/policy.h"

namespace switchboard::pipeline {

// {"model","policy","reason","fallbacks":[...],"candidates":[{"model","predicted_quality",
//  "predicted_cost","utility","eligible","note"}]}; predictions a policy does not make are null.
nlohmann::json decision_json(const Decision& decision);

struct RequestContext;

// What POST /v1/route and `switchboard route --json` answer after an explain-only run of the stages
// (RequestContext::explain_only) that reached a decision: decision_json(*ctx.decision) with the
// record's reason, plus {"route", "signals", "stages": [{"name","us","outcome"}], "lambda" (the
// request's, null when the policy's own is used), "guard" (only when a guard check ran)}.
nlohmann::json route_explanation(const RequestContext& ctx);

}  // namespace switchboard::pipeline
