#include "pipeline/learning/context_codec.h"

#include <fmt/format.h>

#include <charconv>

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

namespace {

// An embedding as the shortest decimal forms that read back as the same floats, space-separated
// (about half the size of JSON numbers, which print each float as a 17-digit double).
std::string floats_text(const std::vector<float>& v) {
  return fmt::format("{}", fmt::join(v, " "));
}

std::optional<std::vector<float>> parse_floats(std::string_view text) {
  std::vector<float> out;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    float f = 0;
    auto [next, ec] = std::from_chars(p, end, f);
    if (ec != std::errc()) return std::nullopt;
    out.push_back(f);
    p = next;
  }
  return out;
}

}  // namespace

std::string encode_context(const DecisionContext& c, std::size_t max_prompt_bytes) {
  nlohmann::json j;
  j["route"] = c.route;
  j["model"] = c.model;
  put_signals(j, c.signals);
  j.erase("embedding");
  j["embedding_text"] = floats_text(c.signals.embedding);
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
    if (const auto e = j.find("embedding_text"); e != j.end()) {
      auto floats = parse_floats(e->get<std::string>());
      if (!floats) return std::nullopt;
      c.signals.embedding = std::move(*floats);
    }
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
