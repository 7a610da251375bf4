#include "api/chat_chunks.h"

#include <algorithm>
#include <chrono>

#include "api/json_util.h"
#include "core/wall_clock.h"

namespace switchboard::api {

using json = nlohmann::json;

json chat_usage_json(const ChatUsage& u) {
  // Clients are given counts within [0, 2^40] (an upstream's absurd ones cannot overflow the sum).
  const auto count = [](std::int64_t n) { return std::clamp<std::int64_t>(n, 0, kMaxTokens); };
  json out = {{"prompt_tokens", count(u.prompt)},
              {"completion_tokens", count(u.completion)},
              {"total_tokens", count(u.prompt) + count(u.completion)},
              {"prompt_tokens_details", {{"cached_tokens", count(u.cached)}}}};
  if (u.written > 0) out["cache_creation_input_tokens"] = count(u.written);
  return out;
}

void ChatChunkWriter::start(std::string answer_id, std::string answer_model) {
  // Repeated in every chunk: an upstream's oversized id or model must not multiply the stream.
  if (answer_id.size() > kMaxNameBytes) answer_id.resize(kMaxNameBytes);
  if (answer_model.size() > kMaxNameBytes) answer_model.resize(kMaxNameBytes);
  if (!answer_id.empty()) id = std::move(answer_id);
  model = std::move(answer_model);
  created = unix_seconds();
}

std::string ChatChunkWriter::delta(const json& d, const char* finish, const ChatUsage* usage,
                                   const json* logprobs, const std::string& matched_stop) const {
  json chunk{{"id", id},
             {"object", "chat.completion.chunk"},
             {"created", created},
             {"model", model},
             {"choices",
              json::array({{{"index", 0},
                            {"delta", d},
                            {"finish_reason", finish ? json(finish) : json(nullptr)}}})}};
  if (usage) chunk["usage"] = chat_usage_json(*usage);
  if (logprobs) chunk["choices"][0]["logprobs"] = {{"content", *logprobs}};
  if (!matched_stop.empty()) chunk["choices"][0]["stop_reason"] = matched_stop;
  return "data: " + dump_json(chunk) + "\n\n";
}

std::string ChatChunkWriter::usage_chunk(const ChatUsage& u) const {
  const json chunk{{"id", id},
                   {"object", "chat.completion.chunk"},
                   {"created", created},
                   {"model", model},
                   {"choices", json::array()},
                   {"usage", chat_usage_json(u)}};
  return "data: " + dump_json(chunk) + "\n\n";
}

std::string ChatChunkWriter::error(const std::string& type, const std::string& message) {
  return "data: " +
         dump_json({{"error",
                     {{"message", message},
                      {"type", type.empty() ? std::string("upstream_error") : type},
                      {"code", nullptr}}}}) +
         "\n\n";
}

}  // namespace switchboard::api
