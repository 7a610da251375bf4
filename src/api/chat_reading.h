// Reading what an OpenAI chat-completions upstream answers — a whole `chat.completion` body and the
// `chat.completion.chunk` events of a stream — for the API translators (responses.h, messages.h,
// completions.h). Pure; never throws on any input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::api {

struct ToolCallPart {
  std::size_t index = 0;  // position in the choice's tool_calls
  std::string id;         // "" in a stream's later deltas
  std::string name;       // "" in a stream's later deltas
  std::string arguments;  // JSON text (whole, or a stream's piece); an object sent as JSON is
                          // its text (some servers send arguments unquoted)
  bool indexed = true;    // the part named its index (else `index` is its position in the list)
};

struct TokenCounts {
  std::int64_t prompt = 0, completion = 0;
  std::int64_t cached = 0;     // usage.prompt_tokens_details.cached_tokens
  std::int64_t reasoning = 0;  // usage.completion_tokens_details.reasoning_tokens
  std::int64_t written = 0;    // usage.cache_creation_input_tokens (Anthropic-backed chat servers:
                               // prompt tokens written to the prompt cache)
};

// A reasoning model's reasoning as chat-completions servers send it beside the answer: the
// message's (or delta's) `reasoning_content` (vLLM's reasoning parsers, DeepSeek, SGLang), else
// its `reasoning` (vLLM's newer name, Ollama, OpenRouter); "" when neither is a string.
// Its signature, when the reasoning is an Anthropic model's extended thinking: the `signature` of
// the message's (or delta's) `thinking_blocks` (LiteLLM's field for Claude models; the response
// cache writes it too), which a Messages client must send back with the thinking.

struct ChatAnswer {
  std::string id, model;
  std::int64_t created = 0;
  std::string content;        // choices[0].message.content ("" when null)
  std::string refusal;        // choices[0].message.refusal ("" when null)
  std::string reasoning;      // choices[0].message's reasoning ("" when none)
  std::string reasoning_signature;  // its thinking_blocks' signature ("" when none)
  std::string finish_reason;  // "" when absent
  std::string matched_stop;   // the stop string that ended it (chat_matched_stop_of; "" when none)
  std::vector<ToolCallPart> tool_calls;
  std::optional<TokenCounts> usage;
  // choices[0].logprobs.content (the content's token logprobs) as JSON array text; "" when none.
  std::string logprobs;
};

// Errors (kUpstreamError, "upstream_bad_answer"): not JSON, not an object, no choices[0].message.
Result<ChatAnswer> read_chat_completion(std::string_view body);

struct ChatChunk {
  std::string id, model;
  std::int64_t created = 0;
  std::string content;                   // the delta's content ("" when none)
  std::string refusal;                   // the delta's refusal ("" when none)
  std::string reasoning;                 // the delta's reasoning ("" when none)
  std::string reasoning_signature;       // the delta's thinking_blocks' signature ("" when none)
  std::vector<ToolCallPart> tool_calls;  // the delta's tool-call pieces
  std::string finish_reason;             // "" when none
  std::string matched_stop;              // beside finish_reason: chat_matched_stop_of ("" when none)
  std::string logprobs;  // the choice's logprobs.content as JSON array text ("" when none)
  std::optional<TokenCounts> usage;
  std::optional<std::string> error;  // an error event's message ({"error":...})
  bool done = false;                 // "[DONE]"
};

// One event's data. nullopt: not JSON or not an object (ignored by translators).
std::optional<ChatChunk> read_chat_chunk(std::string_view data);

// "event: NAME\ndata: JSON\n\n".
std::string named_event(std::string_view name, std::string_view json);

}  // namespace switchboard::api
