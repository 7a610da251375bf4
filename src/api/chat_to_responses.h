// OpenAI chat completions over an OpenAI Responses upstream (a replica with `api: responses`
// serving a client that is not itself a Responses client; docs/apis.md). Some models are served
// only on the Responses API; this lets chat-completions clients (and Messages, completions) reach
// them.
//
// Request mapping: messages → `input` items (system → role system, developer → developer; user
// content a string, or parts: text → input_text, image_url → input_image with its detail, file →
// input_file (file_data or file_id, and filename);
// assistant text → an assistant message with an output_text part, `tool_calls` → function_call
// items; `tool` messages → function_call_output items); max_tokens / max_completion_tokens →
// max_output_tokens; temperature, top_p, parallel_tool_calls, user, stream; reasoning_effort →
// `reasoning.effort`; function `tools` →
// Responses function tools ({type, name, description, parameters, strict}); `tool_choice` (auto,
// required, none, a named function → {type: function, name}); `response_format` json_object /
// json_schema → `text.format`; `logprobs` (with `top_logprobs`) → `include`
// message.output_text.logprobs (and `top_logprobs`); `store: false` (the gateway keeps
// conversations itself, docs/apis.md).
// Refused (kBadRequest "unsupported_for_responses"): n > 1, stop (the Responses API has no stop
// sequences), audio parts, non-function tools, a malformed message.
//
// Answers: a `response` becomes a chat.completion (the message items' output_text joined, refusal
// parts as the content when there is no text, function_call items → tool_calls; finish_reason
// tool_calls when there is a call, length when incomplete for max_output_tokens, content_filter
// when incomplete for content_filter, else stop; usage from input/output tokens; reasoning items'
// reasoning_text, else their summary text, as `reasoning_content`; the output_text parts' token
// `logprobs` as the choice's logprobs.content). A stream's events become
// chat.completion.chunk events: the role on response.created, output_text deltas (with their
// logprobs), reasoning_text
// and reasoning_summary_text deltas as reasoning_content, a tool call's start on its output_item.added and its argument deltas by
// output index, then on response.completed / response.incomplete the finishing chunk with the usage
// (or a choice-less usage chunk when the client asked stream_options.include_usage) and [DONE];
// response.failed and error events become a chunk carrying `error`. Pure, no I/O; never throws.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/upstream_to_chat.h"
#include "switchboard/result.h"

namespace switchboard::api {

// The Responses request for chat-completions `chat_body`, naming `model`.
Result<std::string> chat_to_responses_request(std::string_view chat_body, std::string_view model);

// A Responses upstream's answers read as chat completions (errors: already OpenAI's shape, kept;
// another body becomes an OpenAI error carrying its first 512 bytes).
std::unique_ptr<UpstreamToChat> responses_to_chat(bool include_usage);

}  // namespace switchboard::api
