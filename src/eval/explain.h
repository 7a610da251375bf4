// A routing decision explained, for `switchboard route`: pipeline::decision_json (the one
// serialisation of a Decision) plus what the decision was made for, in the shape of the gateway's
// POST /v1/route answer:
//
//   {"route": "auto", "model": "...", "policy": "static", "reason": "...", "fallbacks": ["..."],
//    "candidates": [{"model", "predicted_quality" | null, "predicted_cost" | null, "eligible",
//                    "note"}],
//    "signals": {"prompt_tokens": 12, "message_count": 1}, "lambda": 20.0 | null}
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "switchboard/policy.h"

namespace switchboard::eval {

nlohmann::json explain_decision(const Decision& decision, const RouteRequest& request,
                                const Signals& signals);

// The same explanation for people: a few aligned lines ending in a newline.
std::string explain_decision_text(const Decision& decision, const RouteRequest& request,
                                  const Signals& signals);

}  // namespace switchboard::eval
