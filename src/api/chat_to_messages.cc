#include "api/chat_to_messages.h"

#include <cctype>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/anthropic_usage.h"
#include "api/json_util.h"
#include "core/wall_clock.h"

namespace switchboard::api {

using json = nlohmann::json;

namespace {

Error unsupported(const std::string& what) {
  return make_error(ErrorKind::kBadRequest, "unsupported_for_anthropic",
                    what + " cannot be sent to an Anthropic Messages upstream");
}

// An image_url part as an Anthropic image block: a base64 data URL, or any other URL by reference.
std::optional<json> image_block(const json& part) {
  const json* url = nullptr;
  if (auto i = part.find("image_url"); i != part.end()) {
    if (i->is_string()) url = &*i;
    else if (i->is_object() && i->contains("url") && (*i)["url"].is_string()) url = &(*i)["url"];
  }
  if (!url) return std::nullopt;
  const std::string& u = url->get_ref<const std::string&>();
  if (u.starts_with("data:")) {
    const auto semi = u.find(";base64,");
    if (semi == std::string::npos) return std::nullopt;
    return json{{"type", "image"},
                {"source",
                 {{"type", "base64"},
                  {"media_type", u.substr(5, u.find(';') - 5)},  // parameters cut
                  {"data", u.substr(semi + 8)}}}};
  }
  return json{{"type", "image"}, {"source", {{"type", "url"}, {"url", u}}}};
}

// A file part with inline data (file.file_data, a base64 data URL) as an Anthropic document block
// (titled with its file name); nullopt for a file_id (the provider's own, unknown to Anthropic).
std::optional<json> document_block(const json& part) {
  const json& file = member(part, "file");
  const std::string data = string_at(file, "file_data");
  const auto semi = data.find(";base64,");
  if (!data.starts_with("data:") || semi == std::string::npos) return std::nullopt;
  json block = {{"type", "document"},
                {"source",
                 {{"type", "base64"},
                  {"media_type", data.substr(5, data.find(';') - 5)},  // parameters cut
                  {"data", data.substr(semi + 8)}}}};
  if (!string_at(file, "filename").empty()) block["title"] = string_at(file, "filename");
  return block;
}

// A message's content as Anthropic blocks (empty text left out: Anthropic refuses it).
Result<json> content_blocks(const json& content, const std::string& where, bool images) {
  json blocks = json::array();
  if (content.is_null()) return blocks;
  if (content.is_string()) {
    if (!content.get_ref<const std::string&>().empty())
      blocks.push_back({{"type", "text"}, {"text", content}});
    return blocks;
  }
  if (!content.is_array()) return invalid_request(where + ".content must be a string or parts");
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return invalid_request(at + " must be an object with a type");
    const std::string& type = part["type"].get_ref<const std::string&>();
    if (type == "text" || type == "refusal") {
      const char* key = type == "text" ? "text" : "refusal";
      if (!part.contains(key) || !part[key].is_string())
        return invalid_request(at + "." + key + " must be a string");
      if (!part[key].get_ref<const std::string&>().empty())
        blocks.push_back({{"type", "text"}, {"text", part[key]}});
    } else if (type == "image_url" && images) {
      auto block = image_block(part);
      if (!block) return invalid_request(at + ".image_url must hold a URL or a base64 data URL");
      blocks.push_back(std::move(*block));
    } else if (type == "file" && images) {
      auto block = document_block(part);
      if (!block) return unsupported("a file part without base64 file_data (" + at + ")");
      blocks.push_back(std::move(*block));
    } else {
      return unsupported("a content part of type '" + type + "' (" + at + ")");
    }
  }
  return blocks;
}

// Text of a tool message's content (a string, or text parts joined).
std::string tool_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array())
    for (const json& p : content)
      if (p.is_object() && p.contains("text") && p["text"].is_string()) {
        if (!out.empty()) out += "\n";
        out += p["text"].get<std::string>();
      }
  return out;
}

Result<json> tool_definition(const json& tool, std::size_t i) {
  const std::string at = "tools[" + std::to_string(i) + "]";
  if (!tool.is_object() || string_at(tool, "type") != "function" ||
      !tool.contains("function") || !tool["function"].is_object())
    return unsupported(at + " (only function tools)");
  const json& f = tool["function"];
  if (!f.contains("name") || !f["name"].is_string())
    return invalid_request(at + ".function.name must be a string");
  json out{{"name", f["name"]}};
  if (f.contains("description") && f["description"].is_string()) out["description"] = f["description"];
  out["input_schema"] = f.contains("parameters") && f["parameters"].is_object()
                            ? f["parameters"]
                            : json{{"type", "object"}, {"properties", json::object()}};
  return out;
}

Result<json> tool_choice(const json& choice, bool parallel_off) {
  json out;
  if (choice.is_string()) {
    const std::string& c = choice.get_ref<const std::string&>();
    if (c == "auto") out = {{"type", "auto"}};
    else if (c == "required") out = {{"type", "any"}};
    else if (c == "none") out = {{"type", "none"}};
    else return invalid_request("tool_choice must be auto, required, none or a function");
  } else if (choice.is_object() && choice.contains("function") && choice["function"].is_object() &&
             choice["function"].contains("name") && choice["function"]["name"].is_string()) {
    out = {{"type", "tool"}, {"name", choice["function"]["name"]}};
  } else {
    return invalid_request("tool_choice must be auto, required, none or a function");
  }
  if (parallel_off && out["type"] != "none") out["disable_parallel_tool_use"] = true;
  return out;
}

const char* finish_reason(const std::string& stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

std::int64_t tokens_at(const json& usage, const char* key) {
  return std::max<std::int64_t>(int_at(usage, key).value_or(0), 0);
}

std::int64_t input_tokens(const json& usage) { return anthropic_prompt_tokens(usage).value_or(0); }

}  // namespace

namespace {

// Whether Anthropic takes `name` as a tool name (^[a-zA-Z0-9_-]{1,64}$).
bool tool_name_ok(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

// The JSON response_format (json_object or json_schema) of a chat request; null for none.
const json& json_format(const json& chat) {
  static const json kNone;
  const json& rf = member(chat, "response_format");
  const std::string type = string_at(rf, "type");
  return type == "json_object" || type == "json_schema" ? rf : kNone;
}

std::string output_tool_of(const json& format) {
  if (format.is_null()) return {};
  const std::string name = string_at(member(format, "json_schema"), "name");
  return tool_name_ok(name) ? name : std::string(kStructuredOutputTool);
}

// The forced tool a JSON response_format becomes: its schema as the tool's input schema (an
// object at the root, as Anthropic requires), or any object for json_object.
Result<json> output_tool(const json& format) {
  json schema = {{"type", "object"}};
  std::string description = "Give your answer as this tool's input: a JSON object.";
  if (string_at(format, "type") == "json_schema") {
    const json& js = member(format, "json_schema");
    if (js.contains("schema")) {
      if (!js["schema"].is_object() || string_at(js["schema"], "type") != "object")
        return unsupported("response_format json_schema whose root is not an object");
      schema = js["schema"];
    }
    if (!string_at(js, "description").empty())
      description += " " + string_at(js, "description");
  }
  return json{{"name", output_tool_of(format)},
              {"description", std::move(description)},
              {"input_schema", std::move(schema)}};
}

// Extended thinking for chat's `reasoning_effort` (kThinkingBudgets), or null: no effort, "none",
// an unknown one, a forced tool (Anthropic does not think then; a JSON response_format is one), a
// tool loop going on (the last assistant turn called tools: Anthropic wants its signed thinking
// back, which chat completions cannot carry), or max_tokens too small for the least budget.
json thinking_for(const json& chat, bool forced_tool, std::int64_t max_tokens) {
  const std::string effort = string_at(chat, "reasoning_effort");
  std::int64_t budget = 0;
  for (const auto& [name, tokens] : kThinkingBudgets)
    if (effort == name) budget = tokens;
  if (budget == 0 || forced_tool) return nullptr;
  const json& messages = member(chat, "messages");
  for (auto m = messages.rbegin(); m != messages.rend(); ++m)
    if (m->is_object() && string_at(*m, "role") == "assistant") {
      if (member(*m, "tool_calls").is_array() && !(*m)["tool_calls"].empty()) return nullptr;
      break;
    }
  budget = std::min(budget, max_tokens / 2);  // half of max_tokens, at most, for thinking
  if (budget < kMinThinkingBudget) return nullptr;
  return {{"type", "enabled"}, {"budget_tokens", budget}};
}

}  // namespace

std::string structured_output_tool(std::string_view chat_body) {
  const json chat = parse_json(chat_body);
  return chat.is_object() ? output_tool_of(json_format(chat)) : std::string();
}

Result<std::string> chat_to_messages_request(std::string_view chat_body, std::string_view model) {
  json chat = parse_json(chat_body);
  if (!chat.is_object()) return invalid_request("the body must be a JSON object");
  if (chat.contains("n") && !chat["n"].is_null() && chat["n"] != 1)
    return unsupported("n other than 1");
  if (member(chat, "logprobs") == true) return unsupported("logprobs");
  const json& format = json_format(chat);
  if (const json& rf = member(chat, "response_format"); format.is_null() && rf.is_object() &&
                                                        !string_at(rf, "type").empty() &&
                                                        string_at(rf, "type") != "text")
    return unsupported("response_format " + string_at(rf, "type"));
  if (!format.is_null() && member(chat, "tools").is_array() && !chat["tools"].empty())
    return unsupported("a JSON response_format together with tools");
  if (chat.contains("audio") && !chat["audio"].is_null()) return unsupported("audio output");

  json out{{"model", std::string(model)}};
  std::optional<std::int64_t> asked_max;
  for (const char* k : {"max_completion_tokens", "max_tokens"})
    if (chat.contains(k) && chat[k].is_number_integer()) asked_max = chat[k].get<std::int64_t>();
  out["max_tokens"] = std::max<std::int64_t>(asked_max.value_or(kDefaultMaxTokens), 1);

  std::string system;
  std::vector<std::pair<std::string, json>> turns;  // role, blocks
  auto add = [&turns](const char* role, json blocks) {
    if (blocks.empty()) return;
    if (!turns.empty() && turns.back().first == role) {
      for (json& b : blocks) turns.back().second.push_back(std::move(b));
    } else {
      turns.emplace_back(role, std::move(blocks));
    }
  };
  const json& messages = member(chat, "messages");
  if (!messages.is_array()) return invalid_request("messages must be an array");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return invalid_request(at + " must be an object with a role");
    const std::string& role = m["role"].get_ref<const std::string&>();
    const json& content = member(m, "content");
    if (role == "system" || role == "developer") {
      auto blocks = content_blocks(content, at, false);
      if (!blocks) return blocks.error();
      for (const json& b : *blocks) {
        if (!system.empty()) system += "\n\n";
        system += b["text"].get<std::string>();
      }
    } else if (role == "user") {
      auto blocks = content_blocks(content, at, true);
      if (!blocks) return blocks.error();
      add("user", std::move(*blocks));
    } else if (role == "assistant") {
      auto blocks = content_blocks(content, at, false);
      if (!blocks) return blocks.error();
      if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
        for (std::size_t c = 0; c < calls->size(); ++c) {
          const json& call = (*calls)[c];
          const std::string cat = at + ".tool_calls[" + std::to_string(c) + "]";
          const json& f = member(call, "function");
          if (string_at(call, "id").empty() || string_at(f, "name").empty())
            return invalid_request(cat + " needs an id and a function name");
          json input = parse_json(string_at(f, "arguments").empty()
                                       ? std::string("{}")
                                       : string_at(f, "arguments"));
          if (!input.is_object())
            return invalid_request(cat + ".function.arguments must be a JSON object's text");
          blocks->push_back({{"type", "tool_use"},
                             {"id", call["id"]},
                             {"name", f["name"]},
                             {"input", std::move(input)}});
        }
      }
      add("assistant", std::move(*blocks));
    } else if (role == "tool") {
      if (string_at(m, "tool_call_id").empty())
        return invalid_request(at + ".tool_call_id must be a string");
      add("user", json::array({{{"type", "tool_result"},
                                {"tool_use_id", m["tool_call_id"]},
                                {"content", tool_text(content)}}}));
    } else {
      return unsupported("a message of role '" + role + "' (" + at + ")");
    }
  }
  if (!system.empty()) out["system"] = system;
  json msgs = json::array();
  for (auto& [role, blocks] : turns) msgs.push_back({{"role", role}, {"content", std::move(blocks)}});
  out["messages"] = std::move(msgs);

  if (auto t = chat.find("temperature"); t != chat.end() && t->is_number())
    out["temperature"] = std::clamp(t->get<double>(), 0.0, 1.0);
  if (auto t = chat.find("top_p"); t != chat.end() && t->is_number()) out["top_p"] = *t;
  if (auto s = chat.find("stop"); s != chat.end()) {
    json stops = json::array();
    if (s->is_string()) stops.push_back(*s);
    if (s->is_array())
      for (const json& x : *s)
        if (x.is_string()) stops.push_back(x);
    if (!stops.empty()) out["stop_sequences"] = std::move(stops);
  }
  if (member(chat, "stream") == true) out["stream"] = true;
  if (auto tools = chat.find("tools"); tools != chat.end() && tools->is_array() && !tools->empty()) {
    json defs = json::array();
    for (std::size_t i = 0; i < tools->size(); ++i) {
      auto d = tool_definition((*tools)[i], i);
      if (!d) return d.error();
      defs.push_back(std::move(*d));
    }
    out["tools"] = std::move(defs);
    const bool parallel_off = member(chat, "parallel_tool_calls") == false;
    if (auto c = chat.find("tool_choice"); c != chat.end() && !c->is_null()) {
      auto choice = tool_choice(*c, parallel_off);
      if (!choice) return choice.error();
      out["tool_choice"] = std::move(*choice);
    } else if (parallel_off) {
      out["tool_choice"] = {{"type", "auto"}, {"disable_parallel_tool_use", true}};
    }
  }
  if (!format.is_null()) {
    auto tool = output_tool(format);
    if (!tool) return tool.error();
    out["tool_choice"] = {{"type", "tool"}, {"name", (*tool)["name"]}};
    out["tools"] = json::array({std::move(*tool)});
  }
  if (auto u = chat.find("user"); u != chat.end() && u->is_string())
    out["metadata"] = {{"user_id", *u}};
  // A prefill (the last turn the assistant's) is refused by Anthropic with thinking: none then.
  const bool prefill = !turns.empty() && turns.back().first == "assistant";
  const std::string forced = string_at(member(out, "tool_choice"), "type");
  const std::int64_t room =
      asked_max ? out["max_tokens"].get<std::int64_t>() : 2 * kThinkingBudgets[3].second;
  if (json thinking = thinking_for(chat, forced == "any" || forced == "tool", room);
      !thinking.is_null() && !prefill) {
    // Without max_tokens: the budget besides the default answer's tokens.
    if (!asked_max)
      out["max_tokens"] = thinking["budget_tokens"].get<std::int64_t>() + kDefaultMaxTokens;
    out["thinking"] = std::move(thinking);
    // Sampling Anthropic does not take with thinking: temperature other than 1, top_p below 0.95.
    out.erase("temperature");
    if (out.contains("top_p") && out["top_p"].get<double>() < 0.95) out.erase("top_p");
  }
  return dump_json(out);
}

namespace {
// The input of content block `index` of a message as JSON text, its keys in the order written
// (nlohmann::json sorts them); "{}" when it has none.
std::string ordered_input(std::string_view message_json, std::size_t index) {
  const auto m = parse_json<nlohmann::ordered_json>(message_json);
  const auto& content = m.is_object() && m.contains("content") ? m["content"] : m;
  if (!content.is_array() || index >= content.size() || !content[index].is_object() ||
      !content[index].contains("input"))
    return "{}";
  return content[index]["input"].dump(-1, ' ', false,
                                      nlohmann::ordered_json::error_handler_t::replace);
}
}  // namespace

Result<std::string> messages_to_chat_completion(std::string_view message_json,
                                                std::string_view output_tool) {
  json m = parse_json(message_json);
  if (!m.is_object() || string_at(m, "type") != "message" || !m.contains("content") ||
      !m["content"].is_array())
    return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                      "the Anthropic upstream's answer is not a message");
  std::string text, reasoning;
  bool structured = false;  // the answer is the output tool's input (a JSON response_format)
  std::optional<std::size_t> structured_block;  // the last output-tool block's index
  json calls = json::array();
  for (std::size_t index = 0; index < m["content"].size(); ++index) {
    const json& b = m["content"][index];
    const std::string type = string_at(b, "type");
    if (type == "text") {
      if (output_tool.empty()) text += string_at(b, "text");  // else: words around the JSON
    } else if (type == "thinking") {
      reasoning += string_at(b, "thinking");
    } else if (type == "tool_use" && !output_tool.empty() && string_at(b, "name") == output_tool) {
      structured_block = index;
      structured = true;
    } else if (type == "tool_use") {
      calls.push_back({{"id", string_at(b, "id")},
                       {"type", "function"},
                       {"function",
                        {{"name", string_at(b, "name")},
                         {"arguments", dump_json(b.contains("input") ? b["input"] : json::object())}}}});
    }
  }
  // The keys in the model's order, as streamed; the message is read again once, whatever the
  // number of output-tool blocks (one parse per block was quadratic: 16,000 blocks took 159 s).
  if (structured_block) text = ordered_input(message_json, *structured_block);
  json message{{"role", "assistant"}, {"content", text.empty() && !calls.empty() ? json() : json(text)}};
  if (!calls.empty()) message["tool_calls"] = std::move(calls);
  if (!reasoning.empty()) message["reasoning_content"] = std::move(reasoning);
  const json& usage = member(m, "usage");
  json out{{"id", string_at(m, "id")},
           {"object", "chat.completion"},
           {"created", unix_seconds()},
           {"model", string_at(m, "model")},
           {"choices",
            json::array({{{"index", 0},
                          {"message", std::move(message)},
                          {"finish_reason", structured && calls.empty() &&
                                                    string_at(m, "stop_reason") == "tool_use"
                                                ? "stop"
                                                : finish_reason(string_at(m, "stop_reason"))}}})}};
  // The stop sequence that ended it, where vLLM puts it (Messages clients served through chat,
  // a cascade's say, get it back as stop_sequence; the response cache keeps it).
  if (string_at(m, "stop_reason") == "stop_sequence" && !string_at(m, "stop_sequence").empty())
    out["choices"][0]["stop_reason"] = string_at(m, "stop_sequence");
  if (usage.is_object())
    out["usage"] = chat_usage_json({input_tokens(usage), tokens_at(usage, "output_tokens"),
                                    tokens_at(usage, "cache_read_input_tokens"),
                                    tokens_at(usage, "cache_creation_input_tokens")});
  return dump_json(out);
}

std::string messages_error_to_openai(std::string_view body) {
  json j = parse_json(body);
  std::string type = "upstream_error", message;
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    type = string_at(j["error"], "type");
    message = string_at(j["error"], "message");
  }
  if (message.empty()) message = std::string(body.substr(0, 512));
  return dump_json({{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}});
}

std::string MessagesToChatStream::event(std::string_view data) {
  if (stopped_) return {};
  json e = parse_json(data);
  if (!e.is_object()) return {};
  const std::string type = string_at(e, "type");
  if (type == "message_start") {
    const json& m = member(e, "message");
    out_.start(string_at(m, "id"), string_at(m, "model"));
    const json& usage = member(m, "usage");
    usage_ = {input_tokens(usage), tokens_at(usage, "output_tokens"),
              tokens_at(usage, "cache_read_input_tokens"),
              tokens_at(usage, "cache_creation_input_tokens")};
    started_ = true;
    return out_.delta({{"role", "assistant"}, {"content", ""}});
  }
  if (type == "error") {
    stopped_ = true;
    const json& err = member(e, "error");
    std::string message = string_at(err, "message");
    if (message.empty()) message = "the Anthropic upstream sent an error event";
    return ChatChunkWriter::error(string_at(err, "type"), message);
  }
  if (!started_) return {};
  if (type == "content_block_start") {
    const json& b = member(e, "content_block");
    const std::string kind = string_at(b, "type");
    block_tool_ = -1;
    if (kind == "tool_use" && !output_tool_.empty() && string_at(b, "name") == output_tool_) {
      block_tool_ = kOutputBlock;  // its input is the answer's content
      structured_ = true;
      return {};
    }
    if (kind == "text" && !output_tool_.empty()) {
      block_tool_ = -2;  // words around the JSON answer: not relayed
      return {};
    }
    if (kind == "tool_use") {
      block_tool_ = tools_++;
      return out_.delta(
          {{"tool_calls",
            json::array({{{"index", block_tool_},
                          {"id", string_at(b, "id")},
                          {"type", "function"},
                          {"function", {{"name", string_at(b, "name")}, {"arguments", ""}}}}})}});
    }
    if (kind == "thinking") {
      block_tool_ = kThinkingBlock;  // relayed as reasoning_content
      if (!string_at(b, "thinking").empty())
        return out_.delta({{"reasoning_content", string_at(b, "thinking")}});
      return {};
    }
    if (kind != "text") {
      block_tool_ = -2;  // redacted thinking and other blocks: not relayed
      return {};
    }
    if (!string_at(b, "text").empty()) return out_.delta({{"content", string_at(b, "text")}});
    return {};
  }
  if (type == "content_block_delta") {
    const json& d = member(e, "delta");
    const std::string kind = string_at(d, "type");
    if (kind == "text_delta" && block_tool_ == -1)
      return out_.delta({{"content", string_at(d, "text")}});
    if (kind == "thinking_delta" && block_tool_ == kThinkingBlock)
      return out_.delta({{"reasoning_content", string_at(d, "thinking")}});
    if (kind == "input_json_delta" && block_tool_ == kOutputBlock)
      return out_.delta({{"content", string_at(d, "partial_json")}});
    if (kind == "input_json_delta" && block_tool_ >= 0)
      return out_.delta(
          {{"tool_calls",
            json::array({{{"index", block_tool_},
                          {"function", {{"arguments", string_at(d, "partial_json")}}}}})}});
    return {};
  }
  if (type == "message_delta") {
    const json& usage = member(e, "usage");
    if (tokens_at(usage, "output_tokens") > 0) usage_.completion = tokens_at(usage, "output_tokens");
    if (input_tokens(usage) > 0) usage_.prompt = input_tokens(usage);
    if (tokens_at(usage, "cache_read_input_tokens") > 0)
      usage_.cached = tokens_at(usage, "cache_read_input_tokens");
    if (tokens_at(usage, "cache_creation_input_tokens") > 0)
      usage_.written = tokens_at(usage, "cache_creation_input_tokens");
    const std::string stop = string_at(member(e, "delta"), "stop_reason");
    return out_.delta(json::object(),
                      structured_ && tools_ == 0 && stop == "tool_use" ? "stop"
                                                                      : finish_reason(stop),
                      include_usage_ ? nullptr : &usage_, nullptr,
                      stop == "stop_sequence" ? string_at(member(e, "delta"), "stop_sequence")
                                              : std::string());
  }
  if (type == "message_stop") {
    stopped_ = true;
    return (include_usage_ ? out_.usage_chunk(usage_) : std::string()) + ChatChunkWriter::done();
  }
  return {};  // ping, content_block_stop, unknown events
}

namespace {
class MessagesReader final : public UpstreamToChat {
 public:
  MessagesReader(bool include_usage, std::string output_tool)
      : output_tool_(std::move(output_tool)), stream_(include_usage, output_tool_) {}
  Result<std::string> whole(std::string_view body) override {
    return messages_to_chat_completion(body, output_tool_);
  }
  std::string error_body(std::string_view body) override { return messages_error_to_openai(body); }
  std::string event(std::string_view data) override { return stream_.event(data); }
  bool finished() const override { return stream_.finished(); }

 private:
  std::string output_tool_;
  MessagesToChatStream stream_;
};
}  // namespace

std::unique_ptr<UpstreamToChat> messages_to_chat(bool include_usage, std::string output_tool) {
  return std::make_unique<MessagesReader>(include_usage, std::move(output_tool));
}

}  // namespace switchboard::api
