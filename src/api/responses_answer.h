// The finished text answer of an OpenAI Responses reply (api/text_answer.h), for answers a replica
// with `api: responses` sent natively: a whole `response` body, or the `response` of its stream's
// terminal event (response.completed, or response.incomplete for max_output_tokens).
//
// Taken only when the output is text and function calls: `message` items whose parts are all
// `output_text`, and `function_call` items (call_id, name, arguments); reasoning items are
// skipped; a refusal part, a built-in tool's call or any other item gives nullopt. status
// completed is "stop" ("tool_calls" with calls); incomplete because of max_output_tokens is
// "length" (not with calls: they may be cut); anything else (failed,
// in_progress, cancelled, another incomplete reason) gives nullopt, as does a stream's error or
// response.failed event or a stream without a terminal event.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "api/text_answer.h"

namespace switchboard::api {

std::optional<TextAnswer> responses_answer(std::string_view response_json);
std::unique_ptr<TextAnswerReader> responses_answer_reader();

}  // namespace switchboard::api
