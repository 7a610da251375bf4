// A Messages request's output settings over chat completions (api/messages.h): structured outputs
// and effort.
//
// Structured outputs: `output_config.format` (the current API), or the beta's top-level
// `output_format` (still accepted by Anthropic for a transition), `{"type": "json_schema",
// "schema": {...}}` → chat `response_format: {"type": "json_schema", "json_schema": {"name":
// kMessagesOutputSchemaName, "schema": {...}, "strict": true}}` (Anthropic's constrained decoding
// is strict: the answer is JSON of that schema, as the first text block). Anthropic has no other
// format type.
// `output_config.effort` (low, medium, high, xhigh, max) → chat `reasoning_effort` (xhigh and max
// → high, chat's highest common level), sent only to models with `reasoning: on` as thinking's
// effort is. Other `output_config` members make the request native-only (`native_only` names the
// first): chat completions have no such setting.
//
// Errors (kBadRequest, "invalid_request"; the message names the field): output_config or a format
// that is not an object, a format type other than "json_schema", a json_schema format without an
// object `schema`, both output_config.format and output_format, an effort of another value.
// Pure; never throws.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "switchboard/result.h"

namespace switchboard::api {

inline constexpr const char* kMessagesOutputSchemaName = "output";

struct MessagesOutput {
  nlohmann::json response_format;  // chat's response_format; null when the request asks none
  std::string reasoning_effort;    // output_config.effort in chat's terms; "" when none
  std::string native_only;         // the first member chat cannot carry; "" when none
};

// Reads `request` (a Messages request object).
Result<MessagesOutput> messages_output(const nlohmann::json& request);

}  // namespace switchboard::api
