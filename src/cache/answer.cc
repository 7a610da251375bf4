#include "cache/answer.h"

#include <nlohmann/json.hpp>

namespace switchboard::cache {

using nlohmann::json;

std::string Answer::serialise() const {
  json j = {{"c", content},       {"f", finish_reason},     {"m", model},
            {"p", prompt_tokens}, {"t", completion_tokens}, {"u", cost_usd},
            {"r", routed_model}};
  if (!reasoning.empty()) j["g"] = reasoning;
  return j.dump();
}

std::optional<Answer> Answer::deserialise(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    Answer a;
    a.content = j.at("c").get<std::string>();
    a.finish_reason = j.at("f").get<std::string>();
    a.model = j.at("m").get<std::string>();
    a.prompt_tokens = j.at("p").get<std::int64_t>();
    a.completion_tokens = j.at("t").get<std::int64_t>();
    a.cost_usd = j.at("u").get<double>();
    if (auto r = j.find("r"); r != j.end() && r->is_string()) a.routed_model = r->get<std::string>();
    if (auto g = j.find("g"); g != j.end() && g->is_string()) a.reasoning = g->get<std::string>();
    return a;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

namespace {
void read_usage(const json& j, Answer& a) {
  if (!j.contains("usage") || !j["usage"].is_object()) return;
  const auto& u = j["usage"];
  if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer())
    a.prompt_tokens = u["prompt_tokens"].get<std::int64_t>();
  if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer())
    a.completion_tokens = u["completion_tokens"].get<std::int64_t>();
}
// The reasoning of a message or delta, under either name servers give it.
std::string reasoning_of(const json& m) {
  for (const char* key : {"reasoning_content", "reasoning"})
    if (auto r = m.find(key); r != m.end() && r->is_string() && !r->get_ref<const std::string&>().empty())
      return r->get<std::string>();
  return {};
}
bool has_tool_calls(const json& m) {
  return (m.contains("tool_calls") && !m["tool_calls"].is_null()) ||
         (m.contains("function_call") && !m["function_call"].is_null());
}
}  // namespace

std::optional<Answer> answer_from_body(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || j.contains("error")) return std::nullopt;
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].size() != 1)
    return std::nullopt;
  const auto& c = j["choices"][0];
  if (!c.is_object() || !c.contains("message") || !c["message"].is_object()) return std::nullopt;
  const auto& m = c["message"];
  if (has_tool_calls(m) || !m.contains("content") || !m["content"].is_string()) return std::nullopt;
  if (!c.contains("finish_reason") || !c["finish_reason"].is_string()) return std::nullopt;
  Answer a;
  a.content = m["content"].get<std::string>();
  a.reasoning = reasoning_of(m);
  a.finish_reason = c["finish_reason"].get<std::string>();
  if (j.contains("model") && j["model"].is_string()) a.model = j["model"].get<std::string>();
  read_usage(j, a);
  return a;
}

std::optional<Answer> answer_from_sse(std::string_view stream) {
  Answer a;
  bool done = false, finished = false;
  std::size_t pos = 0;
  std::string data;
  // Events are separated by a blank line; an event's data is its `data:` lines joined by '\n'.
  auto flush = [&]() -> bool {
    if (data.empty()) return true;
    std::string event = std::move(data);
    data.clear();
    if (done) return false;  // anything after [DONE]
    if (event == "[DONE]") {
      done = true;
      return true;
    }
    json j = json::parse(event, nullptr, false);
    if (!j.is_object() || j.contains("error")) return false;
    if (j.contains("model") && j["model"].is_string()) a.model = j["model"].get<std::string>();
    read_usage(j, a);
    if (!j.contains("choices") || !j["choices"].is_array()) return true;
    for (const auto& c : j["choices"]) {
      if (!c.is_object()) return false;
      if (c.contains("index") && c["index"] != 0) return false;  // n > 1
      if (c.contains("delta") && c["delta"].is_object()) {
        const auto& d = c["delta"];
        if (has_tool_calls(d)) return false;
        if (d.contains("content") && d["content"].is_string())
          a.content += d["content"].get<std::string>();
        a.reasoning += reasoning_of(d);
      }
      if (c.contains("finish_reason") && c["finish_reason"].is_string()) {
        a.finish_reason = c["finish_reason"].get<std::string>();
        finished = true;
      }
    }
    return true;
  };
  while (pos < stream.size()) {
    std::size_t nl = stream.find('\n', pos);
    if (nl == std::string_view::npos) nl = stream.size();
    std::string_view line = stream.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (!flush()) return std::nullopt;
      continue;
    }
    if (line.starts_with("data:")) {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      if (!data.empty()) data.push_back('\n');
      data.append(line);
    } else if (line.starts_with("event:")) {
      if (line.find("error") != std::string_view::npos) return std::nullopt;
    }
  }
  if (!flush()) return std::nullopt;
  if (!done || !finished) return std::nullopt;
  return a;
}

namespace {
json usage_json(const Answer& a) {
  return {{"prompt_tokens", a.prompt_tokens},
          {"completion_tokens", a.completion_tokens},
          {"total_tokens", a.prompt_tokens + a.completion_tokens}};
}
std::string chunk(std::string_view id, std::int64_t created, const std::string& model, json choices,
                  const json* usage = nullptr) {
  json j = {{"id", id},
            {"object", "chat.completion.chunk"},
            {"created", created},
            {"model", model},
            {"choices", std::move(choices)}};
  if (usage) j["usage"] = *usage;
  return "data: " + j.dump() + "\n\n";
}
}  // namespace

std::string completion_body(const Answer& a, std::string_view id, std::int64_t created) {
  json j = {{"id", id},
            {"object", "chat.completion"},
            {"created", created},
            {"model", a.model},
            {"choices", json::array({{{"index", 0},
                                      {"message", {{"role", "assistant"}, {"content", a.content}}},
                                      {"finish_reason", a.finish_reason}}})},
            {"usage", usage_json(a)}};
  if (!a.reasoning.empty()) j["choices"][0]["message"]["reasoning_content"] = a.reasoning;
  return j.dump();
}

std::string completion_sse(const Answer& a, std::string_view id, std::int64_t created,
                           bool include_usage, std::size_t piece) {
  std::string out;
  out.reserve((a.content.size() + a.reasoning.size()) * 2 + 512);
  out += chunk(id, created, a.model,
               json::array({{{"index", 0},
                             {"delta", {{"role", "assistant"}, {"content", ""}}},
                             {"finish_reason", nullptr}}}));
  // `text` as deltas of `key`, in pieces that never cut a UTF-8 sequence.
  auto deltas = [&](const char* key, const std::string& text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = std::min(text.size(), pos + piece);
      while (end < text.size() && end > pos + 1 &&
             (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
      out += chunk(id, created, a.model,
                   json::array({{{"index", 0},
                                 {"delta", {{key, text.substr(pos, end - pos)}}},
                                 {"finish_reason", nullptr}}}));
      pos = end;
    }
  };
  deltas("reasoning_content", a.reasoning);
  deltas("content", a.content);
  out += chunk(
      id, created, a.model,
      json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", a.finish_reason}}}));
  if (include_usage) {
    const json u = usage_json(a);
    out += chunk(id, created, a.model, json::array(), &u);
  }
  out += "data: [DONE]\n\n";
  return out;
}

}  // namespace switchboard::cache
