#include "api/sse.h"

#include <gtest/gtest.h>

#include <string>
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
  std::string stream = "data: {\"a\":1}\n\n: comment\n\nevent: x\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
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

TEST(StreamMeter, CountsContentUsageErrorsAndDone) {
  StreamMeter m;
  m.on_event(R"({"choices":[{"delta":{"role":"assistant"}}]})");
  m.on_event(R"({"choices":[{"delta":{"content":"Hel"}}]})");
  m.on_event(R"({"choices":[{"delta":{"content":"lo"}}]})");
  m.on_event(R"({"choices":[{"delta":{},"finish_reason":"stop"}],"usage":null})");
  EXPECT_FALSE(m.reported_usage());
  EXPECT_EQ(m.content_chunks(), 2);
  EXPECT_EQ(m.content_chars(), 5u);
  m.on_event(R"({"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}})");
  ASSERT_TRUE(m.reported_usage());
  EXPECT_EQ(m.reported_usage()->prompt_tokens, 7);
  EXPECT_EQ(m.reported_usage()->completion_tokens, 2);
  EXPECT_FALSE(m.saw_done());
  m.on_event("not json");
  m.on_event("[DONE]");
  EXPECT_TRUE(m.saw_done());
  EXPECT_FALSE(m.saw_error());
  m.on_event(R"({"error":{"message":"boom"}})");
  EXPECT_TRUE(m.saw_error());
}

TEST(Usage, ParsedFromCompletionBodies) {
  auto u = parse_usage(R"({"id":"x","usage":{"prompt_tokens":12,"completion_tokens":34}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->prompt_tokens, 12);
  EXPECT_EQ(u->completion_tokens, 34);
  EXPECT_FALSE(parse_usage(R"({"id":"x"})"));
  EXPECT_FALSE(parse_usage(R"({"usage":null})"));
  EXPECT_FALSE(parse_usage("garbage"));
}
