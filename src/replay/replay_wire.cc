#include "replay/replay_wire.h"

#include <nlohmann/json.hpp>

namespace switchboard::replay {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json usage_json(const TokenUsage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens}};
}

json chunk(const CompletionHead& head, json choices) {
  return {
      {"id", head.id},       {"object", "chat.completion.chunk"}, {"created", head.created},
      {"model", head.model}, {"system_fingerprint", nullptr},     {"choices", std::move(choices)}};
}

json one_choice(json delta, json finish_reason) {
  return json::array({{{"index", 0},
                       {"delta", std::move(delta)},
                       {"logprobs", nullptr},
                       {"finish_reason", std::move(finish_reason)}}});
}

}  // namespace

std::string completion_json(const CompletionHead& head, std::string_view text,
                            const TokenUsage& usage) {
  json message = {{"role", "assistant"}, {"content", std::string(text)}, {"refusal", nullptr}};
  json choice = {{"index", 0},
                 {"message", std::move(message)},
                 {"logprobs", nullptr},
                 {"finish_reason", "stop"}};
  return dump({{"id", head.id},
               {"object", "chat.completion"},
               {"created", head.created},
               {"model", head.model},
               {"system_fingerprint", nullptr},
               {"choices", json::array({std::move(choice)})},
               {"usage", usage_json(usage)}});
}

std::string role_chunk_json(const CompletionHead& head) {
  return dump(chunk(head, one_choice({{"role", "assistant"}, {"content", ""}}, nullptr)));
}

std::string content_chunk_json(const CompletionHead& head, std::string_view piece) {
  return dump(chunk(head, one_choice({{"content", std::string(piece)}}, nullptr)));
}

std::string stop_chunk_json(const CompletionHead& head) {
  return dump(chunk(head, one_choice(json::object(), "stop")));
}

std::string usage_chunk_json(const CompletionHead& head, const TokenUsage& usage) {
  json j = chunk(head, json::array());
  j["usage"] = usage_json(usage);
  return dump(j);
}

std::string models_json(std::string_view model) {
  json entry = {
      {"id", std::string(model)}, {"object", "model"}, {"created", 0}, {"owned_by", "replay"}};
  return dump({{"object", "list"}, {"data", json::array({std::move(entry)})}});
}

std::string sse_event(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size() + 8);
  out.append("data: ").append(json_text).append("\n\n");
  return out;
}

}  // namespace switchboard::replay
