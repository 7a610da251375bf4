#include "api/chat_reading.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "api/answer_translator.h"
#include "api/chat_chunks.h"
#include "api/json_util.h"

namespace switchboard::api {

using nlohmann::json;

namespace {
std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
std::int64_t int_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}
// A token count as clients are given it: never negative, at most 2^40 (sums cannot overflow).
std::int64_t tokens_of(const json& j, const char* key) {
  return std::clamp<std::int64_t>(int_of(j, key), 0, kMaxTokens);
}
std::int64_t detail_of(const json& usage, const char* details, const char* key) {
  auto it = usage.find(details);
  return it != usage.end() && it->is_object() ? tokens_of(*it, key) : 0;
}
std::optional<TokenCounts> usage_of(const json& j) {
  auto it = j.find("usage");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  return TokenCounts{tokens_of(*it, "prompt_tokens"), tokens_of(*it, "completion_tokens"),
                     detail_of(*it, "prompt_tokens_details", "cached_tokens"),
                     detail_of(*it, "completion_tokens_details", "reasoning_tokens"),
                     tokens_of(*it, "cache_creation_input_tokens")};
}
std::vector<ToolCallPart> tool_calls_of(const json& holder) {
  std::vector<ToolCallPart> out;
  auto it = holder.find("tool_calls");
  if (it == holder.end() || !it->is_array()) return out;
  std::size_t position = 0;
  for (const auto& tc : *it) {
    if (!tc.is_object()) continue;
    ToolCallPart p;
    p.indexed = tc.contains("index") && tc["index"].is_number_unsigned();
    p.index = p.indexed ? tc["index"].get<std::size_t>() : position;
    p.id = str(tc, "id");
    if (auto f = tc.find("function"); f != tc.end() && f->is_object()) {
      p.name = str(*f, "name");
      const auto args = f->find("arguments");
      p.arguments = args != f->end() && (args->is_object() || args->is_array()) ? dump_json(*args)
                                                                                : str(*f, "arguments");
    }
    out.push_back(std::move(p));
    ++position;
  }
  return out;
}
// A choice's logprobs.content as JSON array text ("" when it has none).
std::string logprobs_of(const json& choice) {
  auto lp = choice.find("logprobs");
  if (lp == choice.end() || !lp->is_object()) return "";
  auto content = lp->find("content");
  if (content == lp->end() || !content->is_array()) return "";
  return dump_json(*content);
}
Error bad_answer(const std::string& why) {
  return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                    "the upstream's answer is not a chat completion: " + why);
}
}  // namespace

Result<ChatAnswer> read_chat_completion(std::string_view body) {
  json j = parse_json(body);
  if (j.is_discarded() || !j.is_object()) return bad_answer("not a JSON object");
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object() || !(*choices)[0].contains("message") ||
      !(*choices)[0]["message"].is_object())
    return bad_answer("no choices[0].message");
  const json& choice = (*choices)[0];
  const json& msg = choice["message"];
  ChatAnswer a;
  a.id = str(j, "id");
  a.model = str(j, "model");
  a.created = int_of(j, "created");
  a.content = chat_content_of(msg);
  a.refusal = str(msg, "refusal");
  a.reasoning = chat_reasoning_of(msg);
  a.reasoning_signature = chat_thinking_signature_of(msg);
  a.finish_reason = str(choice, "finish_reason");
  a.matched_stop = chat_matched_stop_of(choice);
  a.tool_calls = tool_calls_of(msg);
  a.logprobs = logprobs_of(choice);
  a.usage = usage_of(j);
  return a;
}

std::optional<ChatChunk> read_chat_chunk(std::string_view data) {
  ChatChunk c;
  if (data == "[DONE]") {
    c.done = true;
    return c;
  }
  json j = parse_json(data);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  if (auto e = j.find("error"); e != j.end()) {
    c.error = e->is_object() ? str(*e, "message") : e->dump();
    if (c.error->empty()) c.error = "upstream error";
    return c;
  }
  c.id = str(j, "id");
  c.model = str(j, "model");
  c.created = int_of(j, "created");
  c.usage = usage_of(j);
  auto choices = j.find("choices");
  if (choices != j.end() && choices->is_array() && !choices->empty() && (*choices)[0].is_object()) {
    const json& choice = (*choices)[0];
    c.finish_reason = str(choice, "finish_reason");
    c.matched_stop = chat_matched_stop_of(choice);
    c.logprobs = logprobs_of(choice);
    if (auto d = choice.find("delta"); d != choice.end() && d->is_object()) {
      c.content = chat_content_of(*d);
      c.refusal = str(*d, "refusal");
      c.reasoning = chat_reasoning_of(*d);
      c.reasoning_signature = chat_thinking_signature_of(*d);
      c.tool_calls = tool_calls_of(*d);
    }
  }
  return c;
}

std::string named_event(std::string_view name, std::string_view json_text) {
  std::string out;
  out.reserve(name.size() + json_text.size() + 16);
  out.append("event: ").append(name).append("\ndata: ").append(json_text).append("\n\n");
  return out;
}

namespace {
constexpr std::size_t kMaxUpstreamMessage = 512;

std::string cut_message(std::string text) {
  return text.size() > kMaxUpstreamMessage ? quoted_prefix(text, kMaxUpstreamMessage) : text;
}

// FastAPI's validation `detail`: a string, or [{loc: [...], msg, type}, ...] read as
// "loc.path: msg; ...".
std::string detail_text(const json& detail) {
  if (detail.is_string()) return detail.get<std::string>();
  if (!detail.is_array()) return {};
  std::string out;
  for (const json& d : detail) {
    if (!d.is_object() || !d.contains("msg") || !d["msg"].is_string()) continue;
    if (!out.empty()) out += "; ";
    std::string loc;
    if (auto l = d.find("loc"); l != d.end() && l->is_array())
      for (const json& part : *l) {
        if (!loc.empty()) loc += '.';
        loc += part.is_string() ? part.get<std::string>() : part.dump();
      }
    if (!loc.empty()) out += loc + ": ";
    out += d["msg"].get<std::string>();
    if (out.size() > kMaxUpstreamMessage) break;
  }
  return out;
}
}  // namespace

std::string upstream_error_message(std::string_view body) {
  json j = parse_json(body);
  if (!j.is_discarded() && j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string())
        return cut_message((*e)["message"].get<std::string>());
      if (e->is_string()) return cut_message(e->get<std::string>());
    }
    // vLLM's and SGLang's {"object":"error","message":...}
    if (auto m = j.find("message"); m != j.end() && m->is_string())
      return cut_message(m->get<std::string>());
    if (auto d = j.find("detail"); d != j.end()) {  // FastAPI's
      std::string text = detail_text(*d);
      if (!text.empty()) return cut_message(std::move(text));
    }
  }
  return cut_message(std::string(body.substr(0, kMaxUpstreamMessage)));
}

std::string openai_upstream_error_body(unsigned status, std::string_view body) {
  json j = parse_json(body);
  // OpenAI's own shape (other top-level keys, e.g. a request id, are fine): unchanged.
  const json& e = member(j, "error");  // null when the body is no JSON object
  if (e.is_object() && member(e, "message").is_string()) return std::string(body);
  const char* type = status == 400 || status == 404 || status == 409 || status == 413 ||
                             status == 422
                         ? "invalid_request_error"
                     : status == 401 ? "authentication_error"
                     : status == 403 ? "permission_error"
                     : status == 429 ? "rate_limit_error"
                     : status >= 500 ? "server_error"
                                     : "upstream_error";
  std::string message = upstream_error_message(body);
  if (message.empty()) message = "the upstream answered HTTP " + std::to_string(status);
  json out = {{"message", std::move(message)},
              {"type", type},
              {"code", "upstream_status_" + std::to_string(status)},
              {"param", nullptr}};
  // An error object without a message keeps what it does say.
  if (e.is_object())
    for (const char* key : {"type", "code", "param"})
      if (const json& v = member(e, key); v.is_string()) out[key] = v;
  return json{{"error", std::move(out)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {
// The `text` of the "text" parts of `parts` (an array), joined.
std::string text_parts(const json& parts) {
  std::string out;
  if (!parts.is_array()) return out;
  for (const json& p : parts)
    if (p.is_object() && str(p, "type") == "text")
      if (auto t = p.find("text"); t != p.end() && t->is_string())
        out += t->get_ref<const std::string&>();
  return out;
}
}  // namespace

std::string chat_content_of(const json& message) {
  auto it = message.find("content");
  if (it == message.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  return text_parts(*it);
}

std::string chat_reasoning_of(const json& message) {
  std::string r = str(message, "reasoning_content");
  if (r.empty()) r = str(message, "reasoning");
  if (!r.empty()) return r;
  if (auto it = message.find("content"); it != message.end() && it->is_array())
    for (const json& p : *it)
      if (p.is_object() && str(p, "type") == "thinking")
        if (auto t = p.find("thinking"); t != p.end())
          r += t->is_string() ? t->get<std::string>() : text_parts(*t);
  return r;
}
std::string chat_matched_stop_of(const json& choice) {
  std::string s = str(choice, "stop_reason");
  return s.empty() ? str(choice, "matched_stop") : s;
}
std::string chat_thinking_signature_of(const json& message) {
  auto blocks = message.find("thinking_blocks");
  if (blocks == message.end() || !blocks->is_array() || blocks->size() != 1) return {};
  const json& b = (*blocks)[0];
  return b.is_object() && str(b, "type") == "thinking" ? str(b, "signature") : std::string();
}

}  // namespace switchboard::api
