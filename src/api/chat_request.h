// The parts of an OpenAI chat-completions request that the gateway needs. The body itself is
// forwarded unchanged (except for an optional model rename), so unknown fields pass through.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::api {

// Where one message's text lies in ChatRequest::prompt_text.
struct MessageSpan {
  std::string role;
  std::size_t offset = 0;
  std::size_t length = 0;
};

struct ChatRequest {
  std::string model;
  bool stream = false;
  bool include_usage = false;           // stream_options.include_usage
  std::optional<std::int64_t> max_tokens;  // max_tokens or max_completion_tokens
  std::size_t message_count = 0;
  // Text of all messages joined by '\n'. A message's content is a string, or an array of parts
  // whose {"type":"text"} parts are joined by '\n'.
  std::string prompt_text;
  std::vector<MessageSpan> messages;    // one per message, in order
  std::int64_t estimated_prompt_tokens = 0;

  std::string_view text_of(const MessageSpan& m) const {
    return std::string_view(prompt_text).substr(m.offset, m.length);
  }
  // The user messages' texts joined by '\n' (how recorded prompts are keyed, see data::PromptRecord).
  std::string user_text() const;
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
