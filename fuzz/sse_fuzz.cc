// api::SseParser fed an upstream stream in random pieces, with api::StreamMeter on its events.
// The first 5 bytes choose the line and event bounds and seed the piece sizes; the rest is the
// stream. Properties: no crash or UB; the pieces never change the events, the overflow or the
// boundary state (compared with feeding the stream whole); the buffers stay within their bounds;
// stopped as the relay stops it (at [DONE] or an event that is no JSON), the bytes taken are the
// same whatever the pieces and, parsed again, give the same events;
// after sse_closing_bytes() an error event is parsed by a client as an event of its own. The same
// events read as an Anthropic Messages or OpenAI Responses stream (api::messages_to_chat,
// api::responses_to_chat), and the bytes as a whole body or error body of either, always translate
// to well-formed chat completions: SSE events whose data is [DONE] (last) or a JSON object, a
// chat.completion or an upstream_bad_answer, an OpenAI error.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/chat_to_messages.h"
#include "api/chat_to_responses.h"
#include "api/sse.h"
#include "fuzz_check.h"

namespace {

using switchboard::api::SseParser;

struct Outcome {
  std::vector<std::string> events;
  bool overflowed = false;
  bool boundary = false;
  bool mid_line = false;
  bool stopped = false;
  std::string taken;  // each piece's consumed() bytes: what the relay passes on
};

Outcome run(std::string_view stream, std::size_t max_line, std::size_t max_event,
            std::uint32_t seed, bool whole) {
  Outcome out;
  switchboard::api::StreamMeter meter;
  SseParser* self = nullptr;
  SseParser p(
      [&](std::string_view d) {
        out.events.emplace_back(d);
        meter.on_event(d);
        if (meter.saw_done() || meter.saw_bad_event()) self->stop();
      },
      max_line, max_event);
  self = &p;
  std::minstd_rand rng(seed);
  while (!stream.empty()) {
    std::size_t n = whole ? stream.size() : 1 + rng() % 64;
    if (n > stream.size()) n = stream.size();
    const bool ok = p.feed(stream.substr(0, n));
    FUZZ_CHECK(ok == !p.overflowed());
    FUZZ_CHECK(p.consumed() <= n);
    FUZZ_CHECK(p.stopped() || p.consumed() == n);
    out.taken.append(stream.substr(0, p.consumed()));
    FUZZ_CHECK(p.buffered_bytes() <= max_line + max_event);
    stream.remove_prefix(n);
  }
  out.overflowed = p.overflowed();
  out.boundary = p.at_event_boundary();
  out.mid_line = p.mid_line();
  out.stopped = p.stopped();
  FUZZ_CHECK(!out.boundary || !out.mid_line);
  FUZZ_CHECK(!out.stopped || out.boundary);  // a stop comes at the end of an event
  p.finish();
  FUZZ_CHECK(meter.content_chunks() >= 0);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  const std::size_t max_line = 1 + data[0] * 4;   // 1..1021 bytes
  const std::size_t max_event = 1 + data[1] * 8;  // 1..2041 bytes
  const std::uint32_t seed = data[2] | (data[3] << 8) | (std::uint32_t{data[4]} << 16);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 5, size - 5);

  const Outcome whole = run(stream, max_line, max_event, seed, true);
  const Outcome pieces = run(stream, max_line, max_event, seed, false);
  FUZZ_CHECK(whole.events == pieces.events);
  FUZZ_CHECK(whole.overflowed == pieces.overflowed);
  FUZZ_CHECK(whole.boundary == pieces.boundary && whole.mid_line == pieces.mid_line);
  FUZZ_CHECK(whole.stopped == pieces.stopped && whole.taken == pieces.taken);
  if (whole.stopped) {  // what was passed on holds the same events, the stopping one last
    std::vector<std::string> again;
    SseParser reread([&](std::string_view d) { again.emplace_back(d); }, max_line, max_event);
    reread.feed(whole.taken);
    FUZZ_CHECK(reread.at_event_boundary());
    FUZZ_CHECK(again == whole.events);
  }

  // What the gateway would send: the stream, the closing bytes, an error event. A client (no
  // bounds) must see the error event last and whole.
  SseParser gateway([](std::string_view) {});
  gateway.feed(stream);
  std::string sent(stream);
  sent += switchboard::api::sse_closing_bytes(gateway);
  sent += "data: {\"error\":{}}\n\n";
  std::string last;
  SseParser client([&](std::string_view d) { last = d; }, sent.size(), sent.size());
  FUZZ_CHECK(client.feed(sent));
  FUZZ_CHECK(client.at_event_boundary());
  FUZZ_CHECK(last == "{\"error\":{}}");

  // An upstream's stream, translated event by event, then re-read as a chat client does.
  for (int variant = 0; variant < 4; ++variant) {
    const bool include_usage = variant % 2;
    auto translate = variant < 2 ? switchboard::api::messages_to_chat(include_usage)
                                 : switchboard::api::responses_to_chat(include_usage);
    std::string chat;
    SseParser upstream([&](std::string_view d) { chat += translate->event(d); });
    upstream.feed(stream);
    upstream.finish();
    bool done = false;
    SseParser reader(
        [&](std::string_view d) {
          FUZZ_CHECK(!done);  // nothing after [DONE]
          if (d == "[DONE]") {
            done = true;
            return;
          }
          FUZZ_CHECK(nlohmann::json::parse(d, nullptr, false).is_object());
        },
        chat.size() + 1, chat.size() + 1);
    FUZZ_CHECK(reader.feed(chat));
    FUZZ_CHECK(reader.at_event_boundary());
  }
  for (int api = 0; api < 2; ++api) {
    auto reader = api == 0 ? switchboard::api::messages_to_chat(false)
                           : switchboard::api::responses_to_chat(false);
    auto completion = reader->whole(stream);
    if (completion) {
      const auto j = nlohmann::json::parse(*completion, nullptr, false);
      FUZZ_CHECK(j.is_object() && j["choices"].is_array() && j["choices"].size() == 1);
    } else {
      FUZZ_CHECK(completion.error().code == "upstream_bad_answer");
    }
    const auto error = nlohmann::json::parse(reader->error_body(stream), nullptr, false);
    FUZZ_CHECK(error.is_object() && error["error"]["message"].is_string());
  }
  return 0;
}
