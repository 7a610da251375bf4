#include "cache/answer.h"

#include <nlohmann/json.hpp>

#include "api/json_util.h"

namespace switchboard::cache {

using nlohmann::json;

std::string Answer::serialise() const {
  json j = {{"c", content},       {"f", finish_reason},     {"m", model},
            {"p", prompt_tokens}, {"t", completion_tokens}, {"u", cost_usd},
            {"r", routed_model}};
  if (!reasoning.empty()) j["g"] = reasoning;
  if (!reasoning_signature.empty()) j["s"] = reasoning_signature;
  if (!matched_stop.empty()) j["q"] = matched_stop;
  if (!tool_calls.empty()) {
    json calls = json::array();
    for (const auto& t : tool_calls) calls.push_back(json::array({t.id, t.name, t.arguments}));
    j["k"] = std::move(calls);
  }
  return j.dump();
}

std::optional<Answer> Answer::deserialise(std::string_view text) {
  json j = api::parse_json(text);
  if (!j.is_object()) return std::nullopt;
  try {
    Answer a;
    a.content = j.at("c").get<std::string>();
    a.finish_reason = j.at("f").get<std::string>();
    a.model = j.at("m").get<std::string>();
    a.prompt_tokens = j.at("p").get<std::int64_t>();
    a.completion_tokens = j.at("t").get<std::int64_t>();
    a.cost_usd = j.at("u").get<double>();
    // From a store other gateways (or anything with access to Redis) write: counts that would
    // overflow a sum or bill a negative amount are not an answer.
    constexpr std::int64_t kMaxTokens = 1'000'000'000'000;
    if (a.prompt_tokens < 0 || a.prompt_tokens > kMaxTokens || a.completion_tokens < 0 ||
        a.completion_tokens > kMaxTokens || !(a.cost_usd >= 0 && a.cost_usd <= 1e9))
      return std::nullopt;
    if (auto r = j.find("r"); r != j.end() && r->is_string()) a.routed_model = r->get<std::string>();
    if (auto g = j.find("g"); g != j.end() && g->is_string()) a.reasoning = g->get<std::string>();
    if (auto sg = j.find("s"); sg != j.end() && sg->is_string())
      a.reasoning_signature = sg->get<std::string>();
    if (auto q = j.find("q"); q != j.end() && q->is_string()) a.matched_stop = q->get<std::string>();
    if (auto k = j.find("k"); k != j.end())
      for (const auto& t : k->get_ref<const json::array_t&>())
        a.tool_calls.push_back({t.at(0).get<std::string>(), t.at(1).get<std::string>(),
                                t.at(2).get<std::string>()});
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
bool has_function_call(const json& m) {
  return m.contains("function_call") && !m["function_call"].is_null();
}
const std::string* string_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}
// A message's whole `tool_calls`; false when one is not a function call with a name and string
// arguments.
bool read_tool_calls(const json& m, std::vector<ToolCall>& out) {
  auto it = m.find("tool_calls");
  if (it == m.end() || it->is_null()) return true;
  if (!it->is_array()) return false;
  for (const auto& c : *it) {
    if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) return false;
    const json& f = c["function"];
    const std::string *id = string_at(c, "id"), *name = string_at(f, "name"),
                      *args = string_at(f, "arguments");
    if (!name || name->empty() || !args) return false;
    out.push_back({id ? *id : std::string(), *name, *args});
  }
  return true;
}
// Adds a stream's tool-call deltas (by index; a call's first delta names it, the others add
// arguments) to `out`; false for a malformed delta or an index that skips ahead.
bool add_tool_call_deltas(const json& d, std::vector<ToolCall>& out) {
  auto it = d.find("tool_calls");
  if (it == d.end() || it->is_null()) return true;
  if (!it->is_array()) return false;
  for (const auto& c : *it) {
    if (!c.is_object() || !c.contains("index") || !c["index"].is_number_unsigned()) return false;
    const auto index = c["index"].get<std::size_t>();
    if (index > out.size()) return false;
    if (index == out.size()) out.emplace_back();
    ToolCall& t = out[index];
    if (const std::string* id = string_at(c, "id")) t.id = *id;
    if (auto f = c.find("function"); f != c.end()) {
      if (!f->is_object()) return false;
      if (const std::string* name = string_at(*f, "name")) t.name += *name;
      if (const std::string* args = string_at(*f, "arguments")) t.arguments += *args;
    }
  }
  return true;
}
}  // namespace

void Answer::renew_tool_call_ids(std::string_view seed, std::string_view prefix) {
  for (std::size_t i = 0; i < tool_calls.size(); ++i)
    tool_calls[i].id = std::string(prefix) + std::string(seed) + "_" + std::to_string(i);
}

std::optional<Answer> answer_from_body(std::string_view body) {
  json j = api::parse_json(body);
  if (!j.is_object() || j.contains("error")) return std::nullopt;
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].size() != 1)
    return std::nullopt;
  const auto& c = j["choices"][0];
  if (!c.is_object() || !c.contains("message") || !c["message"].is_object()) return std::nullopt;
  const auto& m = c["message"];
  Answer a;
  if (has_function_call(m) || !read_tool_calls(m, a.tool_calls)) return std::nullopt;
  const auto content = m.find("content");
  // Text: a string, or an array of parts (api::chat_content_of: the text parts joined).
  const bool text = content != m.end() && (content->is_string() || content->is_array());
  if (!text && !(content != m.end() && content->is_null() && !a.tool_calls.empty()))
    return std::nullopt;
  if (!c.contains("finish_reason") || !c["finish_reason"].is_string()) return std::nullopt;
  if (text) a.content = api::chat_content_of(m);
  a.reasoning = api::chat_reasoning_of(m);
  a.reasoning_signature = api::chat_thinking_signature_of(m);
  a.finish_reason = c["finish_reason"].get<std::string>();
  a.matched_stop = api::chat_matched_stop_of(c);
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
    json j = api::parse_json(event);
    if (!j.is_object() || j.contains("error")) return false;
    if (j.contains("model") && j["model"].is_string()) a.model = j["model"].get<std::string>();
    read_usage(j, a);
    if (!j.contains("choices") || !j["choices"].is_array()) return true;
    for (const auto& c : j["choices"]) {
      if (!c.is_object()) return false;
      if (c.contains("index") && c["index"] != 0) return false;  // n > 1
      if (c.contains("delta") && c["delta"].is_object()) {
        const auto& d = c["delta"];
        if (has_function_call(d) || !add_tool_call_deltas(d, a.tool_calls)) return false;
        a.content += api::chat_content_of(d);
        a.reasoning += api::chat_reasoning_of(d);
        if (std::string sig = api::chat_thinking_signature_of(d); !sig.empty()) a.reasoning_signature = std::move(sig);
      }
      if (c.contains("finish_reason") && c["finish_reason"].is_string()) {
        a.finish_reason = c["finish_reason"].get<std::string>();
        a.matched_stop = api::chat_matched_stop_of(c);
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
  for (const auto& t : a.tool_calls)
    if (t.name.empty()) return std::nullopt;
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
  if (!a.matched_stop.empty()) j["choices"][0]["stop_reason"] = a.matched_stop;
  json& message = j["choices"][0]["message"];
  if (!a.reasoning.empty()) message["reasoning_content"] = a.reasoning;
  if (!a.reasoning_signature.empty())
    message["thinking_blocks"] = json::array(
        {{{"type", "thinking"}, {"thinking", a.reasoning}, {"signature", a.reasoning_signature}}});
  if (!a.tool_calls.empty()) {
    if (a.content.empty()) message["content"] = nullptr;
    json calls = json::array();
    for (const auto& t : a.tool_calls)
      calls.push_back({{"id", t.id},
                       {"type", "function"},
                       {"function", {{"name", t.name}, {"arguments", t.arguments}}}});
    message["tool_calls"] = std::move(calls);
  }
  return j.dump();
}

std::string completion_sse(const Answer& a, std::string_view id, std::int64_t created,
                           bool include_usage, std::size_t piece) {
  std::string out;
  out.reserve(a.bytes() * 2 + 512);
  out += chunk(id, created, a.model,
               json::array({{{"index", 0},
                             {"delta", {{"role", "assistant"}, {"content", ""}}},
                             {"finish_reason", nullptr}}}));
  auto delta = [&](json d) {
    out += chunk(id, created, a.model,
                 json::array({{{"index", 0}, {"delta", std::move(d)}, {"finish_reason", nullptr}}}));
  };
  // `text` in pieces that never cut a UTF-8 sequence, each made into a delta by `make`.
  auto pieces = [&](const std::string& text, auto make) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = std::min(text.size(), pos + piece);
      while (end < text.size() && end > pos + 1 &&
             (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
      delta(make(text.substr(pos, end - pos)));
      pos = end;
    }
  };
  pieces(a.reasoning, [](std::string p) { return json{{"reasoning_content", std::move(p)}}; });
  if (!a.reasoning_signature.empty())
    delta({{"thinking_blocks", json::array({{{"type", "thinking"},
                                             {"thinking", ""},
                                             {"signature", a.reasoning_signature}}})}});
  pieces(a.content, [](std::string p) { return json{{"content", std::move(p)}}; });
  for (std::size_t i = 0; i < a.tool_calls.size(); ++i) {
    const ToolCall& t = a.tool_calls[i];
    delta({{"tool_calls", json::array({{{"index", i},
                                        {"id", t.id},
                                        {"type", "function"},
                                        {"function", {{"name", t.name}, {"arguments", ""}}}}})}});
    pieces(t.arguments, [i](std::string p) {
      return json{{"tool_calls",
                   json::array({{{"index", i}, {"function", {{"arguments", std::move(p)}}}}})}};
    });
  }
  json finishing = {{"index", 0}, {"delta", json::object()}, {"finish_reason", a.finish_reason}};
  if (!a.matched_stop.empty()) finishing["stop_reason"] = a.matched_stop;
  out += chunk(id, created, a.model, json::array({std::move(finishing)}));
  if (include_usage) {
    const json u = usage_json(a);
    out += chunk(id, created, a.model, json::array(), &u);
  }
  out += "data: [DONE]\n\n";
  return out;
}

}  // namespace switchboard::cache
