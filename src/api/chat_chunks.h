// Writing a chat.completion.chunk stream (server-sent events in OpenAI's shape) from another
// API's events (api/chat_to_messages.h, api/chat_to_responses.h): the chunks of one answer share
// its id, model and creation time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace switchboard::api {

struct ChatUsage {
  std::int64_t prompt = 0, completion = 0;
  std::int64_t cached = 0;   // of `prompt`, read from the provider's prompt cache
  std::int64_t written = 0;  // of `prompt`, written into it
};
// {"prompt_tokens","completion_tokens","total_tokens","prompt_tokens_details":{"cached_tokens"}},
// and "cache_creation_input_tokens" when some were written (chat has no field of its own for
// them; OpenAI-compatible proxies of Anthropic models use this name).
// Token counts clients are given are clamped to [0, kMaxTokens].
inline constexpr std::int64_t kMaxTokens = std::int64_t{1} << 40;
nlohmann::json chat_usage_json(const ChatUsage& u);

class ChatChunkWriter {
 public:
  std::string id = "chatcmpl-translated", model;
  std::int64_t created = 0;  // unix seconds (set by start())
  static constexpr std::size_t kMaxNameBytes = 256;
  // Sets the answer's id and model (each cut to kMaxNameBytes), the time now.
  void start(std::string answer_id, std::string answer_model);
  // "data: {chunk}\n\n" with one choice carrying `delta` (and `finish`, unless null; and the
  // token logprobs entries of the delta's content as the choice's logprobs.content, unless null;
  // and the stop string that ended the answer as the choice's `stop_reason`, as vLLM reports it,
  // unless empty).
  std::string delta(const nlohmann::json& delta, const char* finish = nullptr,
                    const ChatUsage* usage = nullptr, const nlohmann::json* logprobs = nullptr,
                    const std::string& matched_stop = {}) const;
  // A choice-less chunk with the usage (stream_options.include_usage).
  std::string usage_chunk(const ChatUsage& u) const;
  // An error as OpenAI-compatible servers send it mid-stream: {"error":{message,type,code}}.
  static std::string error(const std::string& type, const std::string& message);
  static std::string done() { return "data: [DONE]\n\n"; }
};

}  // namespace switchboard::api
