// A routing decision explained for people, for `switchboard route` (its --json form, like POST
// /v1/route, is pipeline::route_explanation): a few aligned lines ending in a newline — route,
// policy, model, reason, λ when the request set one, the prompt's signals, fallbacks, and one line
// per candidate (predicted quality, cost, utility, note; the chosen one starred).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "switchboard/policy.h"

namespace switchboard::eval {

std::string explain_decision_text(const Decision& decision, std::string_view route,
                                  std::optional<double> lambda, const Signals& signals);

}  // namespace switchboard::eval
