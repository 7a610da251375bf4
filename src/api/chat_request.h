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
  bool include_usage = false;  // stream_options.include_usage
  // response_format.type is json_object or json_schema: the answer's content is JSON text (the
  // guard restores values into it escaped as JSON string contents, guard/redact.h).
  bool json_output = false;
  // max_tokens, else max_completion_tokens; within [0, kMaxOutputTokens] when present.
  std::optional<std::int64_t> max_tokens;
  // `n`: how many choices the model writes, each up to max_tokens (1 when absent or null; within
  // [1, kMaxChoices]). Limits and budgets reserve for all of them.
  std::int64_t choices = 1;
  std::size_t message_count = 0;
  // Text of all messages joined by '\n'. A message's content is a string, or an array of parts
  // whose {"type":"text"} parts are joined by '\n'.
  std::string prompt_text;
  std::vector<MessageSpan> messages;  // one per message, in order
  // A message has a {"type":"file"} part (a PDF, ...): content the text above does not hold.
  bool has_files = false;
  // About four characters per token over the messages' text, plus what the model reads beside
  // it: the JSON of `tools` (and legacy `functions`, about its minified length), the names and
  // arguments of earlier assistant tool calls, and kImageTokens per image part
  // (kLowDetailImageTokens at detail "low"). A file part (a PDF) adds nothing
  // (has_files says it is there).
  std::int64_t estimated_prompt_tokens = 0;
  // The values of the body's arrays and objects (api/json_util.h json_values): what its parsed
  // and translated forms cost in memory, held against the server's body budget (parse stage).
  std::size_t json_values = 0;
  // The body's `user` field when it is a string ("" otherwise): an end-user id, which the session
  // stage uses to recognise a conversation (docs/sessions.md).
  std::string user;

  std::string_view text_of(const MessageSpan& m) const {
    return std::string_view(prompt_text).substr(m.offset, m.length);
  }
  // The user messages' texts joined by '\n' (how recorded prompts are keyed, see
  // data::PromptRecord).
  std::string user_text() const;
  // estimated_prompt_tokens + max_tokens (0 when absent), saturating at INT64_MAX: the context a
  // replica must accept. Never overflows, whatever the two values.
  std::int64_t tokens_needed() const;
};

// Largest max_tokens / max_completion_tokens accepted (2^31).
inline constexpr std::int64_t kMaxOutputTokens = std::int64_t{1} << 31;
// Largest `n` accepted (OpenAI's own limit).
inline constexpr std::int64_t kMaxChoices = 128;
// Longest `model` accepted, in bytes.
inline constexpr std::size_t kMaxModelBytes = 256;

// a + b, clamped to [INT64_MIN, INT64_MAX] instead of overflowing.
std::int64_t saturating_add(std::int64_t a, std::int64_t b);

// Validates `body` fully as JSON and extracts the fields above. Errors (kind kBadRequest):
// invalid_json; invalid_request (the message names the offending field) when the body is not an
// object, a top-level key appears more than once (keys compared after unescaping; keys of nested
// objects are not checked), `model` is missing, not a string, empty or longer than
// kMaxModelBytes, `stream` is not a boolean, max_tokens / max_completion_tokens is present, not
// null and not an integer in [0, kMaxOutputTokens], `n` is present, not null and not an integer
// in [1, kMaxChoices], or `messages` is missing, empty or malformed.
Result<ChatRequest> parse_chat_request(std::string_view body);

// Returns `body` with the top-level "model" value replaced by `model` (JSON-escaped); the result
// holds exactly one top-level "model". The body must have passed parse_chat_request (so the key
// appears once, possibly spelled with escapes); otherwise it is returned unchanged.
std::string rewrite_model(std::string_view body, std::string_view model);

// Whether `body` (a JSON object) has a top-level "reasoning_effort" (the key matched unescaped).
bool has_reasoning_effort(std::string_view body);
// `body` (a JSON object) with "reasoning_effort": `effort` as its first member, unless it has one
// at its top level (then unchanged); unchanged when it is not an object.
std::string with_reasoning_effort(std::string_view body, std::string_view effort);
// `body` without its top-level "reasoning_effort", however spelled (cut out of the text: the rest
// is left byte for byte); unchanged when it has none or is not a JSON object. The body must be one
// parse_chat_request accepted (one object, nothing after it).
std::string without_reasoning_effort(std::string_view body);

// What an image part counts in estimated_prompt_tokens: OpenAI's count for a 1024×1024 image at
// high detail (85 + 4 tiles × 170; the size is not read), and for any image at detail "low".
inline constexpr std::int64_t kImageTokens = 765;
inline constexpr std::int64_t kLowDetailImageTokens = 85;

// A rough token count for text (about four characters per token, rounded up), used when the
// upstream reports no usage. Never less than 1 for non-empty text; never overflows.
std::int64_t estimate_tokens(std::size_t chars);

}  // namespace switchboard::api
