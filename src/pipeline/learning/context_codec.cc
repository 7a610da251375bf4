#include "pipeline/learning/context_codec.h"

namespace switchboard::pipeline::learning {

void put_signals(nlohmann::json& j, const Signals& s) {
  j["embedding"] = s.embedding;
  j["task"] = s.task;
  j["task_confidence"] = s.task_confidence;
  j["language"] = s.language;
  j["has_code"] = s.has_code;
  j["signal_tokens"] = s.prompt_tokens;
  j["messages"] = s.message_count;
}

Signals get_signals(const nlohmann::json& j) {
  Signals s;
  s.embedding = j.value("embedding", std::vector<float>{});
  s.task = j.value("task", "");
  s.task_confidence = j.value("task_confidence", 0.0f);
  s.language = j.value("language", "");
  s.has_code = j.value("has_code", false);
  s.prompt_tokens = j.value("signal_tokens", std::int64_t{0});
  s.message_count = j.value("messages", std::size_t{0});
  return s;
}

std::string encode_context(const DecisionContext& c, std::size_t max_prompt_bytes) {
  nlohmann::json j;
  j["route"] = c.route;
  j["model"] = c.model;
  put_signals(j, c.signals);
  j["prompt_text"] = std::string_view(c.prompt_text).substr(0, max_prompt_bytes);
  j["prompt_tokens"] = c.prompt_tokens;
  j["cost"] = c.cost;
  if (c.lambda) j["lambda"] = *c.lambda;
  j["time_ms"] = c.time_ms;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<DecisionContext> decode_context(std::string_view text) {
  try {
    const auto j = nlohmann::json::parse(text);
    DecisionContext c;
    c.route = j.at("route").get<std::string>();
    c.model = j.at("model").get<std::string>();
    c.signals = get_signals(j);
    c.prompt_text = j.value("prompt_text", "");
    c.prompt_tokens = j.value("prompt_tokens", std::int64_t{0});
    c.cost = j.value("cost", 0.0);
    if (j.contains("lambda")) c.lambda = j["lambda"].get<double>();
    c.time_ms = j.value("time_ms", std::int64_t{0});
    return c;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace switchboard::pipeline::learning
