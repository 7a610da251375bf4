// One finished answer — text, and the function calls the model asked for — read from whatever API
// shape it arrived in (chat completions, Anthropic Messages, OpenAI Responses), in
// chat-completions terms: what the response cache stores and the session stage hashes.
// finish_reason is chat's ("stop", "length", "tool_calls"), whichever API answered, so a stored
// answer can be replayed to a client of any API.
//
// TextAnswerReader is the stream side: fed each server-sent event's data of one API's stream, it
// gives the answer once the stream finished cleanly with one answer; nullopt otherwise (an error
// event, a block or item of another kind, no terminal event, an unknown shape). Pure, never
// throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::api {

// One function call the model asked for, as the upstream gave it.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the model wrote it (Anthropic's `input`, serialised)
  bool operator==(const ToolCall&) const = default;
};

struct TextAnswer {
  std::string content;
  // Extended thinking beside the answer (one Anthropic thinking block) and its signature, which a
  // Messages client sends back with it; "" when none.
  std::string reasoning, reasoning_signature;
  std::string finish_reason;  // "stop", "length" or "tool_calls"
  std::vector<ToolCall> tool_calls;
  std::string model;          // as the upstream named it
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  // The stop sequence that ended a "stop" answer (Anthropic's stop_sequence), which a hit gives
  // back as chat's matched stop string (api::chat_matched_stop_of); "" when none.
  std::string matched_stop;
};

class TextAnswerReader {
 public:
  virtual ~TextAnswerReader() = default;
  virtual void on_event(std::string_view data) = 0;
  virtual std::optional<TextAnswer> result() const = 0;
};

// Every SSE event's data in `stream` (a whole captured stream's bytes) fed to `reader`; its
// result. nullopt when the stream overflowed the SSE parser's bounds.
std::optional<TextAnswer> read_stream(std::string_view stream, TextAnswerReader& reader);

}  // namespace switchboard::api
