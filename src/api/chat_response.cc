#include "api/chat_response.h"
#include "api/chat_chunks.h"
#include "api/json_util.h"

#include <simdjson.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace switchboard::api {
namespace {

simdjson::dom::parser& response_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

Error bad_answer(std::string what) {
  return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                    "the upstream's answer is not a chat completion: " + std::move(what));
}

// CompletionAnswer::tool_calls of a message.
std::string canonical_tool_calls(simdjson::dom::element message) {
  simdjson::dom::array calls;
  if (message["tool_calls"].get_array().get(calls) != simdjson::SUCCESS) return {};
  std::string out;
  for (simdjson::dom::element call : calls) {
    std::string_view name, arguments;
    if (call["function"]["name"].get_string().get(name) != simdjson::SUCCESS) continue;
    if (call["function"]["arguments"].get_string().get(arguments) != simdjson::SUCCESS)
      arguments = {};
    // The arguments are the model's text: re-serialised so that spacing and key order do not
    // tell two equal calls apart (nlohmann's objects sort their keys).
    const auto parsed = parse_json(arguments);
    if (!out.empty()) out += '\n';
    out += name;
    out += '(';
    out += parsed.is_discarded()
               ? std::string(arguments)
               : parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += ')';
  }
  return out;
}

std::optional<AnswerLogprobs> read_logprobs(simdjson::dom::element choice) {
  simdjson::dom::array content;
  if (choice["logprobs"]["content"].get_array().get(content) != simdjson::SUCCESS)
    return std::nullopt;
  AnswerLogprobs out;
  bool first = true;
  for (auto token : content) {
    double lp = 0;
    if (token["logprob"].get_double().get(lp) != simdjson::SUCCESS) continue;
    out.tokens.push_back(static_cast<float>(lp));
    if (first) {
      simdjson::dom::array top;
      if (token["top_logprobs"].get_array().get(top) == simdjson::SUCCESS)
        for (auto t : top) {
          double v = 0;
          if (t["logprob"].get_double().get(v) == simdjson::SUCCESS)
            out.first_top.push_back(static_cast<float>(v));
        }
      first = false;
    }
  }
  return out;
}

// Cuts `text` into pieces of about `n` bytes, never inside a UTF-8 character.
std::vector<std::string_view> pieces(std::string_view text, std::size_t n) {
  std::vector<std::string_view> out;
  if (n == 0) n = 1;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = std::min(text.size(), at + n);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.push_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

std::string event(const nlohmann::json& j) {
  return "data: " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

// A message's content as text: the string, or the `text` of an array's "text" parts joined
// (chat_content_of, for simdjson).
std::string content_text(simdjson::dom::element message) {
  std::string_view s;
  if (message["content"].get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  simdjson::dom::array parts;
  std::string out;
  if (message["content"].get_array().get(parts) != simdjson::SUCCESS) return out;
  for (auto part : parts) {
    std::string_view type, text;
    if (part["type"].get_string().get(type) == simdjson::SUCCESS && type == "text" &&
        part["text"].get_string().get(text) == simdjson::SUCCESS)
      out += text;
  }
  return out;
}

}  // namespace

Result<CompletionAnswer> parse_completion(std::string_view body) {
  simdjson::dom::element doc;
  if (response_parser().parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
    return bad_answer("invalid JSON");
  if (!doc.is_object()) return bad_answer("not an object");
  CompletionAnswer a;
  std::string_view s;
  if (doc["id"].get_string().get(s) == simdjson::SUCCESS) a.id = s;
  if (doc["model"].get_string().get(s) == simdjson::SUCCESS) a.model = s;
  std::int64_t created = 0;
  if (doc["created"].get_int64().get(created) == simdjson::SUCCESS) a.created = created;
  simdjson::dom::element choice;
  if (doc["choices"].at(0).get(choice) != simdjson::SUCCESS) return bad_answer("no choices[0]");
  simdjson::dom::element message;
  if (choice["message"].get(message) != simdjson::SUCCESS || !message.is_object())
    return bad_answer("no choices[0].message");
  a.content = content_text(message);
  a.tool_calls = canonical_tool_calls(message);
  if (choice["finish_reason"].get_string().get(s) == simdjson::SUCCESS) a.finish_reason = s;
  a.logprobs = read_logprobs(choice);
  simdjson::dom::element usage;
  if (doc["usage"].get(usage) == simdjson::SUCCESS && usage.is_object()) {
    std::int64_t p = 0, c = 0;
    if (usage["prompt_tokens"].get_int64().get(p) == simdjson::SUCCESS &&
        usage["completion_tokens"].get_int64().get(c) == simdjson::SUCCESS) {
      // Never negative, nor past 2^40 (a broken upstream's -1,000,000 tokens was a refund).
      a.usage = Usage{std::clamp<std::int64_t>(p, 0, kMaxTokens),
                      std::clamp<std::int64_t>(c, 0, kMaxTokens)};
      std::int64_t cached = 0;
      if (usage["prompt_tokens_details"]["cached_tokens"].get_int64().get(cached) ==
          simdjson::SUCCESS)
        a.usage->cached_prompt_tokens = std::clamp<std::int64_t>(cached, 0, a.usage->prompt_tokens);
      std::int64_t written = 0;
      if (usage["cache_creation_input_tokens"].get_int64().get(written) == simdjson::SUCCESS)
        a.usage->cache_write_prompt_tokens = std::clamp<std::int64_t>(written, 0, kMaxTokens);
    }
  }
  return a;
}

std::string buffered_call_body(std::string_view body, std::string_view model, bool logprobs) {
  auto j = parse_json(body);
  if (j.is_discarded() || !j.is_object()) return std::string(body);
  j["model"] = model;
  j["stream"] = false;
  j.erase("stream_options");
  if (logprobs) {
    if (!j.contains("logprobs")) j["logprobs"] = true;
    if (!j.contains("top_logprobs")) j["top_logprobs"] = 5;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string synthesis_call_body(std::string_view body, std::string_view model,
                                std::string_view prompt) {
  auto j = parse_json(body);
  if (j.is_discarded() || !j.is_object()) j = nlohmann::json::object();
  j["model"] = model;
  j["stream"] = false;
  j.erase("stream_options");
  nlohmann::json& messages = j["messages"];
  if (!messages.is_array()) messages = nlohmann::json::array();
  messages.push_back({{"role", "user"}, {"content", prompt}});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string completion_as_sse(const CompletionAnswer& a, bool include_usage,
                              std::size_t piece_chars) {
  auto chunk = [&](nlohmann::json delta, nlohmann::json finish) {
    return nlohmann::json{
        {"id", a.id},
        {"object", "chat.completion.chunk"},
        {"created", a.created},
        {"model", a.model},
        {"choices",
         nlohmann::json::array(
             {{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}})}};
  };
  std::string out = event(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
  for (auto piece : pieces(a.content, piece_chars))
    out += event(chunk({{"content", std::string(piece)}}, nullptr));
  out += event(chunk(nlohmann::json::object(), a.finish_reason.empty()
                                                   ? nlohmann::json("stop")
                                                   : nlohmann::json(a.finish_reason)));
  if (include_usage && a.usage) {
    auto u = chunk(nlohmann::json::object(), nullptr);
    u["choices"] = nlohmann::json::array();
    u["usage"] = {{"prompt_tokens", a.usage->prompt_tokens},
                  {"completion_tokens", a.usage->completion_tokens},
                  {"total_tokens", a.usage->prompt_tokens + a.usage->completion_tokens}};
    out += event(u);
  }
  out += "data: [DONE]\n\n";
  return out;
}

std::string without_unrequested_logprobs(std::string_view client_body, std::string body) {
  if (body.find("\"logprobs\"") == std::string::npos) return body;
  const nlohmann::json client = parse_json(client_body);
  if (!client.is_object()) return body;
  const auto asked = client.find("logprobs");
  const bool wanted = asked != client.end() && asked->is_boolean() && asked->get<bool>();
  // The alternatives per token the client asked for (none unless it named a count).
  const auto top = client.find("top_logprobs");
  const std::size_t alternatives =
      wanted && top != client.end() && top->is_number_unsigned() ? top->get<std::size_t>() : 0;
  nlohmann::json whole = parse_json(body);
  if (!whole.is_object() || !whole.contains("choices") || !whole["choices"].is_array())
    return body;
  bool changed = false;
  for (auto& choice : whole["choices"]) {
    if (!choice.is_object()) continue;
    if (!wanted) {
      changed = choice.erase("logprobs") > 0 || changed;
      continue;
    }
    auto lp = choice.find("logprobs");
    if (lp == choice.end() || !lp->is_object()) continue;
    for (const char* part : {"content", "refusal"}) {
      auto entries = lp->find(part);
      if (entries == lp->end() || !entries->is_array()) continue;
      for (auto& e : *entries) {
        if (!e.is_object()) continue;
        auto alts = e.find("top_logprobs");
        if (alts == e.end() || !alts->is_array() || alts->size() <= alternatives) continue;
        alts->erase(alts->begin() + static_cast<std::ptrdiff_t>(alternatives), alts->end());
        changed = true;
      }
    }
  }
  if (!changed) return body;
  return whole.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// The logprobs of a stream chunk whose content is the tokens `entries` stand for.
nlohmann::json chunk_logprobs(nlohmann::json entries) {
  return {{"content", std::move(entries)}, {"refusal", nullptr}};
}

// A choice's content as chunks (made by `chunk(index, delta, finish)`), with its token logprobs
// `entries` (the message's logprobs.content, or null). When the entries' tokens spell the content
// (as they do from OpenAI and vLLM), each chunk is whole tokens, about `piece_chars` characters,
// and carries those tokens' entries, as a streaming upstream sends them; otherwise the content
// goes in pieces and every entry rides on its last chunk, so that a client that joins the chunks'
// logprobs still gets them all.
template <typename Chunk>
std::string content_events(std::size_t index, const std::string& content,
                           const nlohmann::json& entries, std::size_t piece_chars,
                           const Chunk& chunk) {
  std::string out;
  if (entries.is_array() && !entries.empty()) {
    std::string spelled;
    for (const auto& e : entries) spelled += string_at(e, "token");
    if (spelled == content) {
      std::string text;
      nlohmann::json group = nlohmann::json::array();
      for (std::size_t i = 0; i < entries.size(); ++i) {
        text += string_at(entries[i], "token");
        group.push_back(entries[i]);
        if (text.size() < piece_chars && i + 1 < entries.size()) continue;
        nlohmann::json c = chunk(index, {{"content", std::move(text)}}, nullptr);
        c["choices"][0]["logprobs"] = chunk_logprobs(std::move(group));
        out += event(c);
        text.clear();
        group = nlohmann::json::array();
      }
      return out;
    }
  }
  const auto parts = pieces(content, piece_chars);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    nlohmann::json c = chunk(index, {{"content", std::string(parts[i])}}, nullptr);
    if (i + 1 == parts.size() && entries.is_array() && !entries.empty())
      c["choices"][0]["logprobs"] = chunk_logprobs(entries);
    out += event(c);
  }
  if (parts.empty() && entries.is_array() && !entries.empty()) {
    nlohmann::json c = chunk(index, {{"content", ""}}, nullptr);
    c["choices"][0]["logprobs"] = chunk_logprobs(entries);
    out += event(c);
  }
  return out;
}

}  // namespace

std::optional<std::string> completion_body_as_sse(std::string_view body, bool include_usage,
                                                  std::size_t piece_chars) {
  nlohmann::json whole = parse_json(body);
  if (!whole.is_object() || !whole.contains("choices") || !whole["choices"].is_array())
    return std::nullopt;
  nlohmann::json head = nlohmann::json::object();
  for (const char* k : {"id", "created", "model", "system_fingerprint"})
    if (whole.contains(k)) head[k] = whole[k];
  head["object"] = "chat.completion.chunk";
  auto chunk = [&head](std::size_t index, nlohmann::json delta, nlohmann::json finish) {
    nlohmann::json c = head;
    c["choices"] = nlohmann::json::array(
        {{{"index", index}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}});
    return c;
  };
  std::string out;
  std::size_t position = 0;
  for (const auto& choice : whole["choices"]) {
    if (!choice.is_object()) continue;
    const std::size_t index = choice.contains("index") && choice["index"].is_number_unsigned()
                                  ? choice["index"].get<std::size_t>()
                                  : position;
    ++position;
    const nlohmann::json message =
        choice.contains("message") && choice["message"].is_object() ? choice["message"]
                                                                     : nlohmann::json::object();
    const std::string role =
        message.contains("role") && message["role"].is_string() ? message["role"].get<std::string>()
                                                                : "assistant";
    out += event(chunk(index, {{"role", role}, {"content", ""}}, nullptr));
    // A reasoning model's reasoning, under the name(s) the message gave it: servers that send
    // both (vLLM) send the same text in the same delta, so a reader of either gets it once.
    std::vector<const char*> names;
    const std::string* reasoning = nullptr;
    for (const char* key : {"reasoning_content", "reasoning"})
      if (message.contains(key) && message[key].is_string()) {
        names.push_back(key);
        if (!reasoning || reasoning->empty()) reasoning = &message[key].get_ref<const std::string&>();
      }
    // Thinking parts of an array content (chat_reasoning_of) stream as reasoning_content.
    std::string from_parts;
    if (!reasoning && message.contains("content") && message["content"].is_array()) {
      from_parts = chat_reasoning_of(message);
      if (!from_parts.empty()) {
        names.push_back("reasoning_content");
        reasoning = &from_parts;
      }
    }
    if (reasoning)
      for (auto piece : pieces(*reasoning, piece_chars)) {
        nlohmann::json delta = nlohmann::json::object();
        for (const char* key : names) delta[key] = std::string(piece);
        out += event(chunk(index, std::move(delta), nullptr));
      }
    const nlohmann::json& logprobs = member(choice, "logprobs");
    if (const std::string content = chat_content_of(message); !content.empty())
      out += content_events(index, content, member(logprobs, "content"), piece_chars, chunk);
    if (message.contains("refusal") && message["refusal"].is_string()) {
      nlohmann::json c = chunk(index, {{"refusal", message["refusal"]}}, nullptr);
      if (const auto& r = member(logprobs, "refusal"); r.is_array())
        c["choices"][0]["logprobs"] = {{"content", nullptr}, {"refusal", r}};
      out += event(c);
    }
    if (message.contains("tool_calls") && message["tool_calls"].is_array() &&
        !message["tool_calls"].empty()) {
      nlohmann::json calls = message["tool_calls"];
      std::size_t k = 0;
      for (auto& call : calls)
        if (call.is_object()) call["index"] = k++;
      out += event(chunk(index, {{"tool_calls", std::move(calls)}}, nullptr));
    }
    // A legacy function call (`functions` requests) as its own delta.
    if (message.contains("function_call") && message["function_call"].is_object())
      out += event(chunk(index, {{"function_call", message["function_call"]}}, nullptr));
    nlohmann::json finish = "stop";
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
      finish = choice["finish_reason"];
    nlohmann::json last = chunk(index, nlohmann::json::object(), std::move(finish));
    // The stop string that ended it (vLLM's stop_reason, SGLang's matched_stop), on the finishing
    // chunk as those servers stream it: the Messages translator and the cache read it there.
    for (const char* key : {"stop_reason", "matched_stop"})
      if (choice.contains(key) && !choice[key].is_null()) last["choices"][0][key] = choice[key];
    out += event(last);
  }
  if (include_usage && whole.contains("usage") && whole["usage"].is_object()) {
    nlohmann::json u = head;
    u["choices"] = nlohmann::json::array();
    u["usage"] = whole["usage"];
    out += event(u);
  }
  out += "data: [DONE]\n\n";
  return out;
}

}  // namespace switchboard::api
