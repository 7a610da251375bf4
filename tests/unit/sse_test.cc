#include "api/sse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace switchboard::api;

namespace {
std::vector<std::string> events_of(const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  SseParser p([&](std::string_view d) { out.emplace_back(d); });
  for (const auto& piece : pieces) p.feed(piece);
  p.finish();
  return out;
}
}  // namespace

TEST(SseParser, SplitsEventsWhateverThePieces) {
  std::string stream =
      "data: {\"a\":1}\n\n: comment\n\nevent: x\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
  std::vector<std::string> expected = {"{\"a\":1}", "line1\nline2", "[DONE]"};
  EXPECT_EQ(events_of({stream}), expected);
  std::vector<std::string> bytes;  // one byte at a time
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_EQ(events_of(bytes), expected);
}

TEST(SseParser, HandlesCrlfNoSpaceAndUnterminatedLastEvent) {
  auto ev = events_of({"data:x\r\n\r\ndata: y"});
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0], "x");
  EXPECT_EQ(ev[1], "y");
  EXPECT_TRUE(events_of({"id: 3\nretry: 10\n\n"}).empty());
}

// A lone "\r" ends a line too (the SSE grammar); a "\r\n" split between two pieces is one line
// end, not a line end and a blank line (which would cut the event in two).
TEST(SseParser, ReadsCrOnlyLineEndsAndCrlfSplitBetweenPieces) {
  const std::vector<std::string> expected = {"a\nb", "c"};
  EXPECT_EQ(events_of({"data: a\rdata: b\r\r: note\rdata: c\r\r"}), expected);
  EXPECT_EQ(events_of({"data: a\r", "\ndata: b\r", "\n\r", "\ndata: c\r", "\r"}), expected);
  EXPECT_EQ(events_of({"data: a\r", "\r", "\n", "data: b\n\n"}),
            (std::vector<std::string>{"a", "b"}));  // the "\n" completes the blank line's "\r\n"
  SseParser p([](std::string_view) {});
  p.feed("data: a\r");
  EXPECT_TRUE(p.after_cr());
  EXPECT_EQ(sse_closing_bytes(p), "\n\n");  // "\n" alone would only complete the "\r\n"
}

// A stream is complete at [DONE], an error event, or once every choice (the request's n) has its
// finish_reason: a stream cut during the second of two choices is not.
// An event that is not a JSON object is noted (the gateway ends the stream there as broken:
// pipeline/deliver.cc); chunks, error events, [DONE] and events without data are not. It was
// skipped without a word, the answer ending as if complete without what it carried.
TEST(StreamMeter, NotesAnEventThatIsNotAJsonObject) {
  for (const char* fine : {R"({"choices":[{"index":0,"delta":{"content":"a"}}]})",
                           R"({"error":{"message":"x"}})", "[DONE]", "", " ",
                           R"({"choices":[{"index":0,"delta":{"content":7}}],"usage":"none"})"}) {
    StreamMeter m;
    m.on_event(fine);
    EXPECT_FALSE(m.saw_bad_event()) << fine;
  }
  for (const char* bad : {"{not json at all", "[1,2]", "\"text\"", "42",
                          R"({"choices":[{"index":0,"delta":{"content":"a"})"}) {
    StreamMeter m;
    m.on_event(bad);
    EXPECT_TRUE(m.saw_bad_event()) << bad;
  }
}

TEST(StreamMeter, CompleteWhenEveryChoiceFinished) {
  StreamMeter m;
  EXPECT_FALSE(m.complete());
  m.on_event(R"({"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]})");
  EXPECT_FALSE(m.complete());
  m.on_event(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
  EXPECT_TRUE(m.complete(1));
  EXPECT_FALSE(m.complete(2));
  // A finish repeated for one choice is still one choice finished.
  m.on_event(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
  EXPECT_FALSE(m.complete(2));
  m.on_event(R"({"choices":[{"index":1,"delta":{},"finish_reason":"length"}]})");
  EXPECT_TRUE(m.complete(2));
  StreamMeter done;
  done.on_event("[DONE]");
  EXPECT_TRUE(done.complete(3));
}

TEST(StreamMeter, CountsContentUsageErrorsAndDone) {
  StreamMeter m;
  m.on_event(R"({"choices":[{"delta":{"role":"assistant"}}]})");
  m.on_event(R"({"choices":[{"delta":{"content":"Hel"}}]})");
  m.on_event(R"({"choices":[{"delta":{"content":"lo"}}]})");
  m.on_event(R"({"choices":[{"delta":{},"finish_reason":"stop"}],"usage":null})");
  EXPECT_FALSE(m.reported_usage());
  EXPECT_EQ(m.content_chunks(), 2);
  EXPECT_EQ(m.content_chars(), 5u);
  m.on_event(
      R"({"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}})");
  ASSERT_TRUE(m.reported_usage());
  EXPECT_EQ(m.reported_usage()->prompt_tokens, 7);
  EXPECT_EQ(m.reported_usage()->completion_tokens, 2);
  EXPECT_FALSE(m.saw_done());
  m.on_event("not json");
  EXPECT_FALSE(m.saw_error());
  m.on_event(R"({"error":{"message":"boom"}})");
  EXPECT_TRUE(m.saw_error());
  m.on_event("[DONE]");
  EXPECT_TRUE(m.saw_done());
  // What a server sends after [DONE] is not read: the answer ended (a stray event there made a
  // complete stream count as broken).
  StreamMeter after;
  after.on_event(R"({"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}]})");
  after.on_event("[DONE]");
  after.on_event("trailing garbage");
  after.on_event(R"({"error":{"message":"late"}})");
  EXPECT_FALSE(after.saw_bad_event());
  EXPECT_FALSE(after.saw_error());
  EXPECT_EQ(after.content_chunks(), 1);
}

TEST(Usage, ParsedFromCompletionBodies) {
  auto u = parse_usage(R"({"id":"x","usage":{"prompt_tokens":12,"completion_tokens":34}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->prompt_tokens, 12);
  EXPECT_EQ(u->completion_tokens, 34);
  // OpenAI's cached prompt tokens; details of another shape count as none.
  auto cached = parse_usage(
      R"({"usage":{"prompt_tokens":1000,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":800},"completion_tokens":5}})");
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->prompt_tokens, 1000);
  EXPECT_EQ(cached->cached_prompt_tokens, 800);
  EXPECT_EQ(cached->completion_tokens, 5);
  auto odd = parse_usage(R"({"usage":{"prompt_tokens_details":null,"prompt_tokens":3,"completion_tokens":1}})");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->prompt_tokens, 3);
  EXPECT_EQ(odd->cached_prompt_tokens, 0);
  EXPECT_EQ(odd->cache_write_prompt_tokens, 0);
  // Cache writes where OpenAI-compatible proxies of Anthropic models report them.
  auto written = parse_usage(
      R"({"usage":{"prompt_tokens":600,"completion_tokens":1,"cache_creation_input_tokens":500}})");
  ASSERT_TRUE(written);
  EXPECT_EQ(written->cache_write_prompt_tokens, 500);
  StreamMeter m;
  m.on_event(R"({"choices":[],"usage":{"prompt_tokens":50,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":40}}})");
  ASSERT_TRUE(m.reported_usage());
  EXPECT_EQ(m.reported_usage()->cached_prompt_tokens, 40);
  EXPECT_FALSE(parse_usage(R"({"id":"x"})"));
  EXPECT_FALSE(parse_usage(R"({"usage":null})"));
  EXPECT_FALSE(parse_usage("garbage"));
}

namespace {

// Feeds `stream` to a parser in random pieces (sizes 1..max_piece, seeded), returns the events and
// whether every feed() returned true.
struct Fed {
  std::vector<std::string> events;
  bool ok = true;
  bool overflowed = false;
  bool boundary = false;
};
Fed feed_randomly(std::string_view stream, std::mt19937& rng, std::size_t max_piece,
                  std::size_t max_line, std::size_t max_event, bool finish = true) {
  Fed out;
  SseParser p([&](std::string_view d) { out.events.emplace_back(d); }, max_line, max_event);
  while (!stream.empty()) {
    std::size_t n = std::uniform_int_distribution<std::size_t>(1, max_piece)(rng);
    n = std::min(n, stream.size());
    bool ok = p.feed(stream.substr(0, n));
    EXPECT_EQ(ok, !p.overflowed());
    if (!ok) out.ok = false;
    stream.remove_prefix(n);
  }
  out.boundary = p.at_event_boundary();
  if (finish) p.finish();
  out.overflowed = p.overflowed();
  return out;
}

std::string data_event(std::string_view data) {
  return "data: " + std::string(data) + "\n\n";
}

}  // namespace

TEST(SseParser, RandomChunkingNeverChangesTheEvents) {
  std::mt19937 rng(12345);
  std::string stream;
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    std::string data(std::uniform_int_distribution<int>(0, 300)(rng), 'a' + i % 26);
    if (i % 7 == 0) stream += ": keep-alive\n\n";
    if (i % 5 == 0) {
      stream += "event: chunk\r\ndata: " + data + "\r\ndata: 2\r\n\r\n";
      expected.push_back(data + "\n2");
    } else {
      stream += data_event(data);
      expected.push_back(data);
    }
  }
  for (std::size_t max_piece : {1u, 2u, 7u, 64u, 1000u, 100000u}) {
    for (int round = 0; round < 5; ++round) {
      Fed f = feed_randomly(stream, rng, max_piece, 1024, 4096);
      EXPECT_TRUE(f.ok);
      EXPECT_FALSE(f.overflowed);
      EXPECT_TRUE(f.boundary);
      EXPECT_EQ(f.events, expected) << "max piece " << max_piece;
    }
  }
}

TEST(SseParser, DefaultLimitsAreOneMebibyte) {
  EXPECT_EQ(SseParser::kDefaultMaxLineBytes, 1u << 20);
  EXPECT_EQ(SseParser::kDefaultMaxEventBytes, 1u << 20);
  std::vector<std::string> events;
  SseParser p([&](std::string_view d) { events.emplace_back(d); });
  std::string line = "data: " + std::string((1u << 20) - 6, 'x');  // exactly 1 MiB before '\n'
  EXPECT_TRUE(p.feed(line + "\n\n"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(p.feed("data: " + std::string((1u << 20) - 6, 'y')));  // at the limit, unterminated
  EXPECT_FALSE(p.feed("y"));
  EXPECT_TRUE(p.overflowed());
}

TEST(SseParser, LongLineOverflowsWhateverTheChunking) {
  std::mt19937 rng(7);
  // Two good events, one line of 5000 bytes (limit 1000), then more events that must be dropped.
  std::string stream = data_event("one") + data_event("two") + "data: " + std::string(5000, 'z') +
                       "\n\n" + data_event("after");
  for (std::size_t max_piece : {1u, 3u, 100u, 999u, 1001u, 100000u}) {
    for (int round = 0; round < 5; ++round) {
      Fed f = feed_randomly(stream, rng, max_piece, 1000, 100000);
      EXPECT_FALSE(f.ok);
      EXPECT_TRUE(f.overflowed);
      EXPECT_EQ(f.events, (std::vector<std::string>{"one", "two"})) << max_piece;
    }
  }
}

TEST(SseParser, LargeEventOverflowsWhateverTheChunking) {
  std::mt19937 rng(8);
  // Each line is short, but together the event's data exceeds the 1000-byte event limit.
  std::string big;
  for (int i = 0; i < 30; ++i) big += "data: " + std::string(50, 'e') + "\n";
  std::string stream = data_event("first") + big + "\n" + data_event("dropped");
  for (std::size_t max_piece : {1u, 13u, 500u, 100000u}) {
    Fed f = feed_randomly(stream, rng, max_piece, 1000, 1000);
    EXPECT_FALSE(f.ok);
    EXPECT_TRUE(f.overflowed);
    EXPECT_EQ(f.events, (std::vector<std::string>{"first"}));
  }
  // The same event fits under a larger event limit.
  Fed f = feed_randomly(stream, rng, 100, 1000, 2000);
  EXPECT_TRUE(f.ok);
  EXPECT_EQ(f.events.size(), 3u);
}

TEST(SseParser, StopsBufferingAfterOverflow) {
  std::size_t events = 0;
  SseParser p([&](std::string_view) { ++events; }, 64, 128);
  EXPECT_FALSE(p.feed("data: " + std::string(100, 'x')));
  EXPECT_TRUE(p.overflowed());
  // Megabytes more of a never-ending line: nothing is buffered, nothing dispatched.
  for (int i = 0; i < 64; ++i) EXPECT_FALSE(p.feed(std::string(1 << 16, 'x')));
  EXPECT_LE(p.buffered_bytes(), 128u);
  EXPECT_FALSE(p.feed("\n\ndata: later\n\n"));
  p.finish();
  EXPECT_EQ(events, 0u);
}

TEST(SseParser, KnowsWhenTheBytesEndAtAnEventBoundary) {
  auto state = [](std::string_view bytes) {
    SseParser p([](std::string_view) {});
    p.feed(bytes);
    return std::pair{p.at_event_boundary(), std::string(sse_closing_bytes(p))};
  };
  using S = std::pair<bool, std::string>;
  EXPECT_EQ(state(""), (S{true, ""}));
  EXPECT_EQ(state("data: a\n\n"), (S{true, ""}));
  EXPECT_EQ(state("data: a\r\n\r\n"), (S{true, ""}));
  EXPECT_EQ(state("data: a\n\n: keep-alive\n"), (S{true, ""}));    // a comment changes nothing
  EXPECT_EQ(state("data: a\n"), (S{false, "\n"}));                 // a data line is pending
  EXPECT_EQ(state("event: x\n"), (S{false, "\n"}));                // so is an event type
  EXPECT_EQ(state("data: a\n\ndata: {\"ch"), (S{false, "\n\n"}));  // mid-line
  EXPECT_EQ(state("data: a\r"), (S{false, "\n\n"}));
  EXPECT_EQ(state("data: \xC3"), (S{false, "\n\n"}));  // mid-UTF-8 character
  EXPECT_EQ(state(": comm"), (S{false, "\n\n"}));
}

TEST(SseParser, ClosingBytesMakeTheNextEventItsOwnWhereverTheCut) {
  // Cut a stream at every byte, close it with sse_closing_bytes() as the gateway does before
  // writing its error event, and check that a second parser (the client) sees the error event
  // whole and last.
  const std::string stream = data_event(R"({"choices":[{"delta":{"content":"h\u00e9"}}]})") +
                             "event: x\r\ndata: line1\r\ndata: héllo ✓\r\n\r\n: ping\n" +
                             data_event("[DONE]");
  const std::string error_event = "data: {\"error\":{\"code\":\"upstream_stream_broken\"}}\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    std::string sent = stream.substr(0, cut);
    SseParser gateway([](std::string_view) {});
    gateway.feed(sent);
    sent += sse_closing_bytes(gateway);
    sent += error_event;
    std::vector<std::string> seen;
    SseParser client([&](std::string_view d) { seen.emplace_back(d); });
    client.feed(sent);
    EXPECT_TRUE(client.at_event_boundary()) << cut;
    ASSERT_FALSE(seen.empty()) << cut;
    EXPECT_EQ(seen.back(), "{\"error\":{\"code\":\"upstream_stream_broken\"}}") << cut;
  }
}

TEST(SseParser, OverflowedParserStillTracksTheBoundary) {
  SseParser p([](std::string_view) {}, 16, 16);
  EXPECT_FALSE(p.feed("data: " + std::string(40, 'x')));
  EXPECT_FALSE(p.at_event_boundary());
  EXPECT_EQ(sse_closing_bytes(p), "\n\n");
  p.feed("xx\n");
  EXPECT_EQ(sse_closing_bytes(p), "\n");
  p.feed("\n");
  EXPECT_TRUE(p.at_event_boundary());
  EXPECT_EQ(sse_closing_bytes(p), "");
}

TEST(StreamMeter, SurvivesArbitraryEventData) {
  StreamMeter m;
  for (std::string_view d :
       {"", "{", "[]", "null", R"({"choices":7})", R"({"choices":[1,{"delta":3}]})",
        R"({"usage":{"prompt_tokens":"x"}})", "\xff\xfe"})
    m.on_event(d);
  EXPECT_EQ(m.content_chunks(), 0);
  EXPECT_FALSE(m.saw_done());
}

// Found by fuzz/sse_fuzz.cc: a usage object that breaks off mid-way made the second lookup in it
// touch simdjson's iterator after the error had killed it (a null dereference: the gateway
// crashed on one malformed upstream chunk).
TEST(StreamMeter, MalformedUsageOrChoicesDoNotCrash) {
  const std::vector<std::string> broken = {
      R"({"id":"x","choices":[],"usage":{"prompt_tokgnta":{},"finish_reason":"stop";}]})",
      R"({"usage":{"prompt_tokens":1;"completion_tokens":2}})",
      R"({"usage":{"a":[1,2;],"completion_tokens":2}})",
      R"({"usage":{"completion_tokens":2,"prompt_tokens":]}})",
      R"({"usage":{"prompt_tokens":1e999999,"completion_tokens":3}})",
      R"({"choices":[{"delta":{"x":;}},{"delta":{"content":"a"}}]})",
      R"({"choices":[{"delta":{"content":"a"}};{"delta":{"content":"b"}}]})",
      R"({"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":2,;}})",
      R"({"error":{"message":"x"},"usage":{"prompt_tokens":{"a":;}}})",
  };
  for (const auto& event : broken) {
    StreamMeter m;
    m.on_event(event);
    m.on_event(R"({"choices":[{"delta":{"content":"ok"}}]})");  // the meter still works after
    EXPECT_GE(m.content_chunks(), 1) << event;
    (void)parse_usage(event);
  }
  // A well-formed chunk after broken ones is still read in full.
  StreamMeter m;
  m.on_event(broken[0]);
  m.on_event(R"({"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}})");
  ASSERT_TRUE(m.reported_usage());
  EXPECT_EQ(m.reported_usage()->prompt_tokens, 7);
  EXPECT_EQ(m.reported_usage()->completion_tokens, 2);
  EXPECT_FALSE(parse_usage(R"({"usage":{"prompt_tokens":1;"completion_tokens":2}})"));
}

TEST(StreamMeter, UsageFieldsOfTheWrongTypeCountAsZero) {
  StreamMeter m;
  m.on_event(R"({"usage":{"prompt_tokens":"7","completion_tokens":3}})");
  ASSERT_TRUE(m.reported_usage());
  EXPECT_EQ(m.reported_usage()->prompt_tokens, 0);
  EXPECT_EQ(m.reported_usage()->completion_tokens, 3);
  auto u = parse_usage(R"({"usage":5})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->prompt_tokens, 0);
}

// stop() from on_data: the stopping event is the last delivered, and consumed() tells where it
// ended in the piece under way, whatever the chunking; later feeds take nothing.
TEST(SseParser, StopEndsTheStreamAtTheStoppingEventWhateverTheChunking) {
  const std::string head = "data: a\n\n: note\ndata: [DONE]\r\n\r\n";
  const std::string stream = head + "data: after\n\ndata: more\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    std::vector<std::string> events;
    SseParser* self = nullptr;
    SseParser p([&](std::string_view d) {
      events.emplace_back(d);
      if (d == "[DONE]") self->stop();
    });
    self = &p;
    std::string taken;
    for (std::string_view piece : {std::string_view(stream).substr(0, cut),
                                   std::string_view(stream).substr(cut)}) {
      EXPECT_TRUE(p.feed(piece));
      taken.append(piece.substr(0, p.consumed()));
    }
    p.finish();
    EXPECT_EQ(events, (std::vector<std::string>{"a", "[DONE]"})) << "cut " << cut;
    EXPECT_EQ(taken, head) << "cut " << cut;
    EXPECT_TRUE(p.stopped());
    EXPECT_TRUE(p.at_event_boundary()) << "cut " << cut;
  }
  SseParser plain([](std::string_view) {});
  plain.feed("data: x\n\ndata: y");
  EXPECT_EQ(plain.consumed(), 16u);  // no stop: every byte, a partial line too
  EXPECT_FALSE(plain.stopped());
}
