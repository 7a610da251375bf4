// What a chat-completions upstream answers — untrusted bytes — turned into each client API's
// answer: api::messages_translator (thinking asked or not), responses_translator and
// completions_translator, whole (whole()) and streamed (each input line as one event's data, then
// finish()), and the response cache's reading of it (cache::answer_from_body, answer_from_sse).
// The first byte picks the translator; the rest is the upstream's answer.
// Properties: no crash or UB; a whole answer is a JSON object of the API's type, or the
// upstream_bad_answer error; a stream is well-formed events — Messages: `event: T` with data of
// type T, message_start first, content blocks opened, filled and closed in order by index, nothing
// after message_stop or error; Responses: data of the event's type with sequence numbers 0, 1, 2…,
// response.created first, nothing after the final response.completed / response.incomplete /
// error; legacy completions: data a JSON object or [DONE], last. A cached answer re-sent (whole or
// streamed) reads back the same. The guard's StreamRestorer (fed the stream in small pieces)
// leaves a stream the cache reads as the same answer with its placeholders restored: in content
// and reasoning as text, in tool calls' arguments JSON-escaped. A whole answer re-chunked for a
// streaming client (api::completion_body_as_sse, as multi-call plans send theirs) is chunk objects
// then [DONE], and its first choice's content and logprobs entries join back to the answer's.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/chat_response.h"
#include "api/completions.h"
#include "api/messages.h"
#include "api/responses.h"
#include "cache/answer.h"
#include "guard/redact.h"
#include "fuzz_check.h"

namespace {

using namespace switchboard;
using nlohmann::json;

struct Event {
  std::string name;  // "" when the event has no `event:` line
  std::string data;
};

// The events of SSE text the translators wrote: "event: NAME\n"? "data: DATA\n\n" each, nothing
// else (checked).
std::vector<Event> events_of(std::string_view sse) {
  std::vector<Event> out;
  while (!sse.empty()) {
    Event e;
    if (sse.starts_with("event: ")) {
      const auto nl = sse.find('\n');
      FUZZ_CHECK(nl != std::string_view::npos);
      e.name = std::string(sse.substr(7, nl - 7));
      sse.remove_prefix(nl + 1);
    }
    FUZZ_CHECK(sse.starts_with("data: "));
    const auto end = sse.find("\n\n");
    FUZZ_CHECK(end != std::string_view::npos);
    e.data = std::string(sse.substr(6, end - 6));
    FUZZ_CHECK(e.data.find('\n') == std::string::npos);
    sse.remove_prefix(end + 2);
    out.push_back(std::move(e));
  }
  return out;
}

json object_of(const std::string& data) {
  json j = json::parse(data, nullptr, false);
  FUZZ_CHECK(j.is_object());
  return j;
}

void check_messages_stream(const std::vector<Event>& events) {
  bool started = false, ended = false, open = false;
  std::int64_t index = -1;  // the open (or last closed) block
  for (const auto& e : events) {
    FUZZ_CHECK(!ended);
    const json j = object_of(e.data);
    FUZZ_CHECK(j.value("type", std::string()) == e.name);
    if (e.name == "error") {
      ended = true;
      continue;
    }
    FUZZ_CHECK(started == (e.name != "message_start"));
    started = true;
    if (e.name == "content_block_start") {
      FUZZ_CHECK(!open);
      FUZZ_CHECK(j.at("index") == index + 1);
      index += 1;
      open = true;
    } else if (e.name == "content_block_delta") {
      FUZZ_CHECK(open && j.at("index") == index);
    } else if (e.name == "content_block_stop") {
      FUZZ_CHECK(open && j.at("index") == index);
      open = false;
    } else if (e.name == "message_delta") {
      FUZZ_CHECK(!open);
    } else if (e.name == "message_stop") {
      ended = true;
    } else {
      FUZZ_CHECK(e.name == "message_start");
    }
  }
}

void check_responses_stream(const std::vector<Event>& events) {
  bool ended = false;
  for (std::size_t i = 0; i < events.size(); ++i) {
    FUZZ_CHECK(!ended);
    const json j = object_of(events[i].data);
    FUZZ_CHECK(j.value("type", std::string()) == events[i].name);
    FUZZ_CHECK(j.at("sequence_number") == i);
    FUZZ_CHECK((i == 0) == (events[i].name == "response.created") || events[i].name == "error");
    ended = events[i].name == "response.completed" || events[i].name == "response.incomplete" ||
            events[i].name == "error";
  }
}

void check_completions_stream(const std::vector<Event>& events) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    FUZZ_CHECK(events[i].name.empty());
    if (events[i].data == "[DONE]") FUZZ_CHECK(i + 1 == events.size());
    else object_of(events[i].data);
  }
}

// The answer as the cache keeps it, re-sent whole and streamed, reads back the same.
void check_cache(std::string_view upstream) {
  for (auto a : {cache::answer_from_body(upstream), cache::answer_from_sse(upstream)}) {
    if (!a) continue;
    for (auto back : {cache::answer_from_body(cache::completion_body(*a, "chatcmpl-x", 1)),
                      cache::answer_from_sse(cache::completion_sse(*a, "chatcmpl-x", 1, true, 7))}) {
      FUZZ_CHECK(back);
      FUZZ_CHECK(back->content == a->content);
      FUZZ_CHECK(back->reasoning == a->reasoning);
      FUZZ_CHECK(back->tool_calls == a->tool_calls);
      FUZZ_CHECK(back->reasoning_signature == a->reasoning_signature);
      FUZZ_CHECK(back->finish_reason == a->finish_reason);
      FUZZ_CHECK(back->prompt_tokens == a->prompt_tokens);
      FUZZ_CHECK(back->completion_tokens == a->completion_tokens);
    }
  }
}

// The upstream's lines as SSE events, restored by the guard in pieces of `step` bytes.
void check_restorer(std::string_view upstream, std::size_t step) {
  const std::vector<std::pair<std::string, std::string>> placeholders = {
      {"[EMAIL_1]", "a@example.com"}, {"[NAME_1]", "Ann \"Q\" Lee"}};
  std::string in;
  std::size_t at = 0;
  while (at <= upstream.size()) {
    auto nl = upstream.find('\n', at);
    if (nl == std::string_view::npos) nl = upstream.size();
    in += "data: " + std::string(upstream.substr(at, nl - at)) + "\n\n";
    at = nl + 1;
  }
  guard::StreamRestorer r(placeholders);
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += step)
    out += r.feed(std::string_view(in).substr(i, step));
  out += r.finish();
  const auto before = cache::answer_from_sse(in);
  if (!before) return;
  const auto after = cache::answer_from_sse(out);
  FUZZ_CHECK(after);
  FUZZ_CHECK(after->content == guard::restore_text(before->content, placeholders));
  FUZZ_CHECK(after->reasoning == guard::restore_text(before->reasoning, placeholders));
  FUZZ_CHECK(after->reasoning_signature == before->reasoning_signature);
  FUZZ_CHECK(after->finish_reason == before->finish_reason);
  FUZZ_CHECK(after->tool_calls.size() == before->tool_calls.size());
  for (std::size_t i = 0; i < before->tool_calls.size(); ++i) {
    FUZZ_CHECK(after->tool_calls[i].id == before->tool_calls[i].id);
    FUZZ_CHECK(after->tool_calls[i].name == before->tool_calls[i].name);
    FUZZ_CHECK(after->tool_calls[i].arguments ==
               guard::restore_json_text(before->tool_calls[i].arguments, placeholders));
  }
}

void check_rechunked(std::string_view upstream, std::size_t piece_chars) {
  const auto sse = api::completion_body_as_sse(upstream, true, piece_chars);
  if (!sse) return;
  const auto events = events_of(*sse);
  FUZZ_CHECK(!events.empty() && events.back().data == "[DONE]");
  const json whole = json::parse(upstream, nullptr, false);
  // The first choice, when it is the only one claiming index 0 (choices may repeat an index).
  const json* first = nullptr;
  std::size_t zeros = 0;
  std::size_t position = 0;
  for (const auto& c : whole["choices"]) {
    if (!c.is_object()) continue;  // skipped, and not counted as a position
    const bool has_index = c.contains("index") && c["index"].is_number_unsigned();
    const std::size_t index = has_index ? c["index"].get<std::size_t>() : position;
    ++position;
    if (index == 0) ++zeros, first = &c;
  }
  std::string content;
  json entries = json::array();
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const json j = json::parse(events[i].data, nullptr, false);
    FUZZ_CHECK(j.is_object() && j.value("object", std::string()) == "chat.completion.chunk");
    FUZZ_CHECK(j.contains("choices") && j["choices"].is_array());
    if (j["choices"].empty()) continue;
    const json& c = j["choices"][0];
    if (c["index"] != 0) continue;
    const json& d = c["delta"];
    if (d.contains("content") && d["content"].is_string()) content += d["content"].get<std::string>();
    if (c.contains("logprobs") && c["logprobs"]["content"].is_array())
      for (const auto& e : c["logprobs"]["content"]) entries.push_back(e);
  }
  if (zeros != 1 || !first->contains("message") || !(*first)["message"].is_object()) return;
  const json& message = (*first)["message"];
  if (message.contains("content") && message["content"].is_string())
    FUZZ_CHECK(content == message["content"].get<std::string>());
  const json* lp = first->contains("logprobs") && (*first)["logprobs"].is_object() &&
                           (*first)["logprobs"].contains("content")
                       ? &(*first)["logprobs"]["content"]
                       : nullptr;
  if (lp && lp->is_array() && message.contains("content") && message["content"].is_string())
    FUZZ_CHECK(entries == *lp);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const unsigned pick = data[0] % 4;
  const std::string_view upstream(reinterpret_cast<const char*>(data) + 1, size - 1);

  api::MessagesRequest messages{"route", true, "", "", pick == 1};
  api::ResponsesRequest responses;
  responses.model = "route";
  std::unique_ptr<api::AnswerTranslator> t =
      pick <= 1   ? api::messages_translator(&messages)
      : pick == 2 ? api::responses_translator(&responses)
                  : api::completions_translator(nullptr);
  const char* type = pick <= 1 ? "message" : pick == 2 ? "response" : "text_completion";
  const char* type_key = pick == 0 || pick == 1 ? "type" : "object";

  if (auto whole = t->whole(upstream)) {
    const json j = object_of(*whole);
    FUZZ_CHECK(j.value(type_key, std::string()) == type);
  } else {
    FUZZ_CHECK(whole.error().code == "upstream_bad_answer");
  }

  // A fresh translator for the stream: each line is one event's data.
  t = pick <= 1   ? api::messages_translator(&messages)
      : pick == 2 ? api::responses_translator(&responses)
                  : api::completions_translator(nullptr);
  std::string sse;
  std::size_t at = 0;
  while (at <= upstream.size()) {
    auto nl = upstream.find('\n', at);
    if (nl == std::string_view::npos) nl = upstream.size();
    sse += t->event(upstream.substr(at, nl - at));
    at = nl + 1;
  }
  sse += t->finish();
  FUZZ_CHECK(t->finish().empty());
  const auto events = events_of(sse);
  if (pick <= 1) check_messages_stream(events);
  else if (pick == 2) check_responses_stream(events);
  else check_completions_stream(events);

  check_cache(upstream);
  check_restorer(upstream, 1 + data[0] / 4 % 16);
  check_rechunked(upstream, 1 + data[0] / 4 % 32);
  return 0;
}
