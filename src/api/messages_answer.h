// The finished text answer of an Anthropic Messages reply (api/text_answer.h), for answers a
// replica with `api: anthropic` sent natively: a whole `message` body, or its stream's events.
//
// Taken only when complete: every content block is `text`, `tool_use` (a call: id, name, its
// `input` as JSON text, streamed as input_json_delta pieces) or one `thinking` block (its text and
// signature, streamed as thinking_delta and signature_delta; a second one, redacted_thinking or
// any other block gives nullopt), stop_reason is end_turn or stop_sequence ("stop"), max_tokens ("length") or tool_use
// ("tool_calls", with at least one call) — pause_turn, refusal or none give nullopt; a
// stop_sequence's string is kept (TextAnswer::matched_stop); a stream must
// end with message_stop and carry no error event. Tokens from usage.input_tokens / output_tokens.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "api/text_answer.h"

namespace switchboard::api {

std::optional<TextAnswer> anthropic_answer(std::string_view message_json);
std::unique_ptr<TextAnswerReader> anthropic_answer_reader();

}  // namespace switchboard::api
