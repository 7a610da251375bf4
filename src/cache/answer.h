// The cached form of an answer: one assistant message, whatever shape it was received in, so that
// a plain answer can answer a streamed request and the other way round.
//
// Only complete, successful answers become one: a 200 chat.completion with exactly one choice
// whose message has string content (or null content beside tool calls) and whose finish_reason is
// set; or an SSE stream of chat.completion.chunk events for choice 0 only, ending with
// `data: [DONE]`, with a finish_reason and no error event. Tool calls (`tool_calls`, whole or as
// deltas by index) are kept when each has a function name and string arguments; the legacy
// `function_call` is not. Anything else gives nullopt (not stored).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/text_answer.h"

namespace switchboard::cache {

// One function call the model asked for (api/text_answer.h).
using ToolCall = api::ToolCall;

struct Answer {
  std::string content;  // "" beside tool calls sent with null content
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
  // The reasoning's signature when it is an Anthropic model's extended thinking (a Messages client
  // sends it back with the thinking); written as the message's `thinking_blocks`. "" when none.
  std::string reasoning_signature;
  std::vector<ToolCall> tool_calls;
  // The stop string that ended the answer (api::chat_matched_stop_of: vLLM's `stop_reason`,
  // SGLang's `matched_stop`, Anthropic's `stop_sequence`), written back as the choice's
  // `stop_reason`, so a Messages hit says stop_reason "stop_sequence" as the live answer did;
  // "" when none.
  std::string matched_stop;

  // Gives each tool call a new id, "<prefix><seed>_<i>": a hit must not repeat the ids of another
  // conversation's calls (clients key tool results and UI state by them). The prefix is the
  // client API's form: "call_" (OpenAI's), "toolu_" for a Messages client (Anthropic's).
  void renew_tool_call_ids(std::string_view seed, std::string_view prefix = "call_");

  // A compact JSON object, for the Redis store.
  std::string serialise() const;
  static std::optional<Answer> deserialise(std::string_view text);
  std::size_t bytes() const {
    std::size_t n = content.size() + reasoning.size() + reasoning_signature.size() +
                    finish_reason.size() + matched_stop.size() + model.size() +
                    routed_model.size() + 64;
    for (const auto& t : tool_calls) n += t.id.size() + t.name.size() + t.arguments.size() + 32;
    return n;
  }
};

std::optional<Answer> answer_from_body(std::string_view body);
std::optional<Answer> answer_from_sse(std::string_view stream);

// A chat.completion body for a hit. `id` names the response ("chatcmpl-<entry id>"); `created` is
// the unix time of the hit.
std::string completion_body(const Answer& a, std::string_view id, std::int64_t created);
// The same answer as SSE chunks (role, reasoning and its signature, then content, then each tool
// call — its id and name, then its arguments — in pieces of at most `piece` bytes cut at UTF-8
// boundaries, finish_reason, the usage chunk when `include_usage`), ending with `data: [DONE]`.
std::string completion_sse(const Answer& a, std::string_view id, std::int64_t created,
                           bool include_usage, std::size_t piece = 256);

}  // namespace switchboard::cache
