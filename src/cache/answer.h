// The cached form of an answer: one assistant message, whatever shape it was received in, so that
// a plain answer can answer a streamed request and the other way round.
//
// Only complete, successful answers become one: a 200 chat.completion with exactly one choice
// whose message has string content and no tool calls and whose finish_reason is set; or an SSE
// stream of chat.completion.chunk events for choice 0 only, ending with `data: [DONE]`, with a
// finish_reason, no error event and no tool-call deltas. Anything else gives nullopt (not stored).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::cache {

struct Answer {
  std::string content;
  std::string finish_reason;
  std::string model;  // as the upstream named it
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0;  // what the answer cost when it was produced: saved by each hit
  // The configured model that answered a single-call plan ("" for a multi-call plan's answer, or
  // an entry stored before it was kept): a session the hit starts goes on with it.
  std::string routed_model;
  // A reasoning model's reasoning beside the content (`reasoning_content`, or `reasoning`, of the
  // message or the deltas); a hit gives it back as `reasoning_content`. "" when none.
  std::string reasoning;

  // A compact JSON object, for the Redis store.
  std::string serialise() const;
  static std::optional<Answer> deserialise(std::string_view text);
  std::size_t bytes() const {
    return content.size() + reasoning.size() + finish_reason.size() + model.size() +
           routed_model.size() + 64;
  }
};

std::optional<Answer> answer_from_body(std::string_view body);
std::optional<Answer> answer_from_sse(std::string_view stream);

// A chat.completion body for a hit. `id` names the response ("chatcmpl-<entry id>"); `created` is
// the unix time of the hit.
std::string completion_body(const Answer& a, std::string_view id, std::int64_t created);
// The same answer as SSE chunks (role, reasoning then content in pieces of at most `piece` bytes cut at UTF-8
// boundaries, finish_reason, the usage chunk when `include_usage`), ending with `data: [DONE]`.
std::string completion_sse(const Answer& a, std::string_view id, std::int64_t created,
                           bool include_usage, std::size_t piece = 256);

}  // namespace switchboard::cache
