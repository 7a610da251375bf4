// The parts of an OpenAI chat-completions request that the gateway needs. The body itself is
// forwarded unchanged (except for an optional model rename), so unknown fields pass through.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace switchboard::api {

struct ChatRequest {
  std::string model;
  bool stream = false;
  bool include_usage = false;           // stream_options.include_usage
  std::optional<std::int64_t> max_tokens;  // max_tokens or max_completion_tokens
  std::size_t message_count = 0;
  std::string prompt_text;              // text contents of all messages, joined by '\n'
  std::int64_t estimated_prompt_tokens = 0;
};

// Validates `body` fully as JSON and extracts the fields above. Errors (kind kBadRequest):
// invalid_json, invalid_request (with the offending field named in the message).
Result<ChatRequest> parse_chat_request(std::string_view body);

// Returns `body` with the top-level "model" value replaced by `model` (JSON-escaped). The body
// must have passed parse_chat_request.
std::string rewrite_model(std::string_view body, std::string_view model);

// A rough token count for text (about four characters per token), used when the upstream
// reports no usage. Never less than 1 for non-empty text.
std::int64_t estimate_tokens(std::size_t chars);

}  // namespace switchboard::api
