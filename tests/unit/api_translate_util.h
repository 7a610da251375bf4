// Helpers for the API translation tests: chat-completions upstream answers and the events a
// translator turns them into.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "api/answer_translator.h"

namespace switchboard::api::testing {

using nlohmann::json;

inline std::string chat_completion(const std::string& content, const std::string& finish = "stop",
                                   json tool_calls = nullptr) {
  json msg = {{"role", "assistant"}, {"content", content.empty() ? json(nullptr) : json(content)}};
  if (!tool_calls.is_null()) msg["tool_calls"] = tool_calls;
  return json{{"id", "chatcmpl-abc"},
              {"object", "chat.completion"},
              {"created", 1700000000},
              {"model", "upstream-model"},
              {"choices", {{{"index", 0}, {"message", msg}, {"finish_reason", finish}}}},
              {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 5}, {"total_tokens", 16}}}}
      .dump();
}

inline std::string chunk(json delta, json finish = nullptr) {
  return json{{"id", "chatcmpl-abc"},
              {"object", "chat.completion.chunk"},
              {"created", 1700000000},
              {"model", "upstream-model"},
              {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}}
      .dump();
}
inline std::string usage_chunk() {
  return json{{"id", "chatcmpl-abc"},
              {"object", "chat.completion.chunk"},
              {"choices", json::array()},
              {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 5}}}}
      .dump();
}

// A text answer streamed as chat chunks: role, "Hel", "lo", stop, usage, [DONE].
inline std::vector<std::string> text_stream() {
  return {chunk({{"role", "assistant"}, {"content", ""}}),
          chunk({{"content", "Hel"}}),
          chunk({{"content", "lo"}}),
          chunk(json::object(), "stop"),
          usage_chunk(),
          "[DONE]"};
}

// A refusal as chat completions carry it (content null, `refusal` the text): whole, and streamed
// as role, "I can" + "not.", stop, [DONE].
inline std::string refusal_completion() {
  json j = json::parse(chat_completion(""));
  j["choices"][0]["message"]["refusal"] = "I cannot.";
  return j.dump();
}
inline std::vector<std::string> refusal_stream() {
  return {chunk({{"role", "assistant"}, {"content", ""}}), chunk({{"refusal", "I can"}}),
          chunk({{"refusal", "not."}}), chunk(json::object(), "stop"), "[DONE]"};
}

// A reasoning model's answer as a chat-completions server streams it (vLLM's reasoning parser):
// role, reasoning "Think" + "ing.", the answer "Hel" + "lo", stop, usage with cached and
// reasoning token details, [DONE].
inline std::vector<std::string> reasoning_stream() {
  return {chunk({{"role", "assistant"}, {"content", ""}}),
          chunk({{"reasoning_content", "Think"}}),
          chunk({{"reasoning_content", "ing."}}),
          chunk({{"content", "Hel"}}),
          chunk({{"content", "lo"}}),
          chunk(json::object(), "stop"),
          json{{"id", "chatcmpl-abc"},
               {"object", "chat.completion.chunk"},
               {"choices", json::array()},
               {"usage",
                {{"prompt_tokens", 11},
                 {"completion_tokens", 9},
                 {"prompt_tokens_details", {{"cached_tokens", 4}}},
                 {"completion_tokens_details", {{"reasoning_tokens", 3}}}}}}
              .dump(),
          "[DONE]"};
}

// A whole answer with reasoning under `key` ("reasoning_content" or "reasoning") and the usage
// details of reasoning_stream().
inline std::string reasoning_completion(const std::string& key = "reasoning_content") {
  json j = json::parse(chat_completion("Hello"));
  j["choices"][0]["message"][key] = "Thinking.";
  j["usage"] = {{"prompt_tokens", 11},
                {"completion_tokens", 9},
                {"prompt_tokens_details", {{"cached_tokens", 4}}},
                {"completion_tokens_details", {{"reasoning_tokens", 3}}}};
  return j.dump();
}

// A tool call streamed: role, call start (id, name), two argument pieces, finish tool_calls.
inline std::vector<std::string> tool_stream() {
  return {chunk({{"role", "assistant"}, {"content", nullptr}}),
          chunk({{"tool_calls",
                  {{{"index", 0},
                    {"id", "call_1"},
                    {"type", "function"},
                    {"function", {{"name", "get_weather"}, {"arguments", ""}}}}}}}),
          chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"city\":"}}}}}}}),
          chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "\"Paris\"}"}}}}}}}),
          chunk(json::object(), "tool_calls"),
          usage_chunk(),
          "[DONE]"};
}

struct Event {
  std::string name;  // the `event:` line ("" when none)
  json data;         // parsed data (null for [DONE] or non-JSON)
  std::string raw;
};

// Splits SSE text into events.
// Two tool calls an upstream sent without ids (whole), and one streamed without an id.
inline json calls_without_ids() {
  return json::parse(
      R"([{"type":"function","function":{"name":"f","arguments":"{}"}},)"
      R"({"type":"function","function":{"name":"g","arguments":"{}"}}])");
}
inline std::vector<std::string> tool_stream_without_id() {
  return {chunk({{"tool_calls",
                  {{{"index", 0}, {"type", "function"},
                    {"function", {{"name", "f"}, {"arguments", "{}"}}}}}}}),
          chunk(json::object(), "tool_calls"), "[DONE]"};
}

inline std::vector<Event> parse_events(const std::string& sse) {
  std::vector<Event> out;
  std::size_t pos = 0;
  while (pos < sse.size()) {
    std::size_t end = sse.find("\n\n", pos);
    if (end == std::string::npos) end = sse.size();
    std::string block = sse.substr(pos, end - pos);
    pos = end + 2;
    Event e;
    std::size_t lp = 0;
    while (lp < block.size()) {
      std::size_t le = block.find('\n', lp);
      if (le == std::string::npos) le = block.size();
      std::string line = block.substr(lp, le - lp);
      if (line.rfind("event: ", 0) == 0) e.name = line.substr(7);
      if (line.rfind("data: ", 0) == 0) e.raw = line.substr(6);
      lp = le + 1;
    }
    e.data = json::parse(e.raw, nullptr, false);
    if (e.data.is_discarded()) e.data = nullptr;
    out.push_back(std::move(e));
  }
  return out;
}

inline std::string run_stream(AnswerTranslator& t, const std::vector<std::string>& events,
                              bool call_finish = true) {
  std::string out;
  for (const auto& e : events) out += t.event(e);
  if (call_finish) out += t.finish();
  return out;
}

inline std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}

}  // namespace switchboard::api::testing
