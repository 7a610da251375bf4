// A Decision as JSON: the one serialisation used by decision records, POST /v1/route and
// `switchboard route`, so every place that explains a choice says the same thing.
#pragma once

#include <nlohmann/json.hpp>

#include "switchboard/policy.h"

namespace switchboard::pipeline {

// {"model","policy","reason","fallbacks":[...],"candidates":[{"model","predicted_quality",
//  "predicted_cost","utility","eligible","note"}]}; predictions a policy does not make are null.
nlohmann::json decision_json(const Decision& decision);

}  // namespace switchboard::pipeline
