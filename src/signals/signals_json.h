// Signals as JSON for humans and tools (POST /v1/route, `switchboard route`): the always-present
// ones, and each optional one only when it was computed. The embedding is shown by its length only.
#pragma once

#include <nlohmann/json.hpp>

#include "switchboard/policy.h"

namespace switchboard::signals {

nlohmann::json signals_json(const Signals& signals);

// One line, e.g. "~2000 tokens in 1 message(s), language fr (0.98), code, task math (0.71)".
std::string signals_text(const Signals& signals);

}  // namespace switchboard::signals
