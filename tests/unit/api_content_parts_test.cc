// Chat answers whose message content is an array of parts (Mistral's reasoning models answer
// `[{"type":"thinking","thinking":[...]},{"type":"text","text":"..."}]`): every reader takes the
// text parts as the answer and the thinking parts as its reasoning. They read "" before, so an
// ensemble voted on empty answers and a Messages or Responses client got an empty message.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/chat_reading.h"
#include "api/chat_response.h"
#include "cache/answer.h"

namespace switchboard::api {
namespace {

const char* kParts = R"({"id":"c1","object":"chat.completion","created":7,"model":"magistral",
  "choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":[
    {"type":"thinking","thinking":[{"type":"text","text":"six "},{"type":"text","text":"times seven"}]},
    {"type":"text","text":"The answer "},{"type":"image_url","image_url":{"url":"x"}},
    {"type":"text","text":"is 42."},{"type":"text","text":7},"stray"]}}],
  "usage":{"prompt_tokens":-5,"completion_tokens":3}})";

TEST(ContentParts, TheTranslatorsReaderJoinsTheTextParts) {
  const auto a = read_chat_completion(kParts);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "The answer is 42.");
  EXPECT_EQ(a->reasoning, "six times seven");
}

TEST(ContentParts, ReasoningUnderItsOwnNameWins) {
  const auto a = read_chat_completion(
      R"({"choices":[{"message":{"content":[{"type":"thinking","thinking":"from parts"},
          {"type":"text","text":"ok"}],"reasoning_content":"named"}}]})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "ok");
  EXPECT_EQ(a->reasoning, "named");
}

TEST(ContentParts, StreamDeltasToo) {
  const auto c = read_chat_chunk(
      R"({"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"piece"}]}}]})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->content, "piece");
  const auto t = read_chat_chunk(
      R"({"choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"hm"}]}]}}]})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->content, "");
  EXPECT_EQ(t->reasoning, "hm");
}

TEST(ContentParts, TheJudgesAndVotesReaderJoinsThemAndClampsUsage) {
  const auto a = parse_completion(kParts);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "The answer is 42.");
  ASSERT_TRUE(a->usage);
  EXPECT_EQ(a->usage->prompt_tokens, 0);  // a negative count is no refund
  EXPECT_EQ(a->usage->completion_tokens, 3);
  // Other shapes of content still read as no text.
  for (const char* content : {"null", "7", R"({"type":"text","text":"x"})", "[]"}) {
    const auto b = parse_completion(std::string(R"({"choices":[{"message":{"content":)") + content +
                                    "}}]}");
    ASSERT_TRUE(b) << content;
    EXPECT_EQ(b->content, "") << content;
  }
}

TEST(ContentParts, ABufferedAnswerStreamedToAClientCarriesTheText) {
  const auto sse = completion_body_as_sse(kParts, false, 64);
  ASSERT_TRUE(sse);
  std::string content, reasoning;
  std::size_t at = 0;
  while ((at = sse->find("data: {", at)) != std::string::npos) {
    const std::size_t end = sse->find("\n\n", at);
    const auto e = nlohmann::json::parse(sse->substr(at + 6, end - at - 6));
    at = end;
    if (e["choices"].empty()) continue;
    const auto& d = e["choices"][0]["delta"];
    if (d.contains("content") && d["content"].is_string()) content += d["content"].get<std::string>();
    if (d.contains("reasoning_content")) reasoning += d["reasoning_content"].get<std::string>();
  }
  EXPECT_EQ(content, "The answer is 42.");
  EXPECT_EQ(reasoning, "six times seven");
}

// The response cache and the session stage read answers through cache/answer.h: the same text
// (the review found them reading "" from parts, so such answers were never cached, and a streamed
// one was cached as its reasoning alone).
TEST(ContentParts, TheCacheReadsThemToo) {
  const auto whole = cache::answer_from_body(kParts);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->content, "The answer is 42.");
  EXPECT_EQ(whole->reasoning, "six times seven");
  const std::string stream =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\"hm\"}]}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\"4\"}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"2\"},\"finish_reason\":\"stop\"}]}\n\n"
      "data: [DONE]\n\n";
  const auto streamed = cache::answer_from_sse(stream);
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->content, "42");
  EXPECT_EQ(streamed->reasoning, "hm");
}

}  // namespace
}  // namespace switchboard::api
