// A replica's whole 200 answer checked for its API's shape (api/answer_shape.h), and the usage the
// check reads on the way: the same as api::parse_usage, which it replaces on the request path.
#include "api/answer_shape.h"

#include <gtest/gtest.h>

#include <string>

namespace switchboard::api {
namespace {

TEST(AnswerShape, EachApiHasItsShape) {
  const std::string chat =
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],"usage":null})";
  EXPECT_EQ(check_answer(chat, AnswerShape::kChatCompletion).problem, "");
  EXPECT_EQ(check_answer(R"({"data":[]})", AnswerShape::kEmbeddings).problem, "");
  EXPECT_EQ(check_answer(R"({"type":"message","content":[]})", AnswerShape::kAnthropicMessage).problem, "");
  EXPECT_EQ(check_answer(R"({"object":"response","output":[]})", AnswerShape::kResponse).problem, "");

  EXPECT_EQ(check_answer(chat + " GARBAGE}", AnswerShape::kChatCompletion).problem.rfind("a body that is not JSON", 0), 0u);
  EXPECT_EQ(check_answer("[1]", AnswerShape::kChatCompletion).problem, "a body that is not a JSON object");
  EXPECT_EQ(check_answer(R"({"hello":1})", AnswerShape::kChatCompletion).problem,
            "a JSON object without a `choices` array");
  EXPECT_EQ(check_answer(R"({"choices":[]})", AnswerShape::kChatCompletion).problem, "an empty `choices` array");
  EXPECT_EQ(check_answer(R"({"choices":[{"message":"x"}]})", AnswerShape::kChatCompletion).problem,
            "a choice without a `message` object");
  EXPECT_EQ(check_answer(chat, AnswerShape::kEmbeddings).problem, "a JSON object without a `data` array");
  EXPECT_EQ(check_answer(chat, AnswerShape::kResponse).problem, "a JSON object without a `output` array");
  // Past the per-thread parser's bound (64 KiB), checked whole by a parser of its own.
  std::string mid = R"({"choices":[{"message":{"content":")" + std::string(200 << 10, 'x') + R"("}}]})";
  EXPECT_EQ(check_answer(mid, AnswerShape::kChatCompletion).problem, "");
  EXPECT_TRUE(check_answer(mid, AnswerShape::kChatCompletion).usage_read);
  EXPECT_NE(check_answer(mid + " x}", AnswerShape::kChatCompletion).problem, "");
  // Past 1 MiB only the braces are checked (a DOM would take ~12 times the size), and the usage
  // is left to the API's reader.
  const std::string big = R"({"data":")" + std::string(3 << 20, 'x') + R"("})";
  EXPECT_EQ(check_answer(big, AnswerShape::kChatCompletion).problem, "");
  EXPECT_FALSE(check_answer(big, AnswerShape::kChatCompletion).usage_read);
  EXPECT_EQ(check_answer("[" + big + "]", AnswerShape::kChatCompletion).problem,
            "a body that is not a JSON object");
}

TEST(AnswerShape, UsageReadAsParseUsageReadsIt) {
  const std::string head = R"({"choices":[{"message":{"content":"a"}}])";
  for (const char* usage :
       {"", R"(,"usage":null)", R"(,"usage":5)", R"(,"usage":{})",
        R"(,"usage":{"prompt_tokens":14,"completion_tokens":10,"total_tokens":24})",
        R"(,"usage":{"prompt_tokens":"14","completion_tokens":1.5})",
        R"(,"usage":{"prompt_tokens":9,"prompt_tokens_details":{"cached_tokens":4},"cache_creation_input_tokens":3})",
        R"(,"usage":{"prompt_tokens_details":null,"completion_tokens":-2})"}) {
    const std::string body = head + usage + "}";
    const AnswerCheck c = check_answer(body, AnswerShape::kChatCompletion);
    ASSERT_EQ(c.problem, "") << body;
    ASSERT_TRUE(c.usage_read);
    const auto want = parse_usage(body);
    ASSERT_EQ(c.usage.has_value(), want.has_value()) << body;
    if (!want) continue;
    EXPECT_EQ(c.usage->prompt_tokens, want->prompt_tokens) << body;
    EXPECT_EQ(c.usage->completion_tokens, want->completion_tokens) << body;
    EXPECT_EQ(c.usage->cached_prompt_tokens, want->cached_prompt_tokens) << body;
    EXPECT_EQ(c.usage->cache_write_prompt_tokens, want->cache_write_prompt_tokens) << body;
  }
  // Other shapes leave the usage to their API's reader.
  EXPECT_FALSE(check_answer(R"({"data":[],"usage":{"prompt_tokens":3}})", AnswerShape::kEmbeddings).usage_read);
}

}  // namespace
}  // namespace switchboard::api
