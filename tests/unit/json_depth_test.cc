// JSON from outside nests at most kMaxJsonDepth deep before nlohmann reads it (api::parse_json):
// copying, dumping and comparing a parsed value recurse, and an upstream answer nested 70,000
// levels (140 KB) crashed the gateway on six paths — a translated Anthropic tool_use input, a
// Responses upstream's error body, the guard's restore of a whole answer and of a stream event, a
// chat stream's error event read for a Messages client, the cache's read of a Messages answer.
// Each path is run here with such an answer: it must refuse or pass it through, never recurse.
#include <gtest/gtest.h>

#include <string>

#include "api/chat_reading.h"
#include "api/chat_to_messages.h"
#include "api/json_util.h"
#include "guard/redact.h"

namespace switchboard {
namespace {

constexpr std::size_t kDeep = 200'000;  // far past what the stack takes (~50,000 here)

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonDepth, NestingIsCountedOutsideStringsOnly) {
  EXPECT_TRUE(api::json_nesting_within(R"({"a":[1,{"b":[]}]})", 4));
  EXPECT_FALSE(api::json_nesting_within(R"({"a":[1,{"b":[]}]})", 3));
  // Brackets in strings, escaped quotes and backslashes do not count.
  EXPECT_TRUE(api::json_nesting_within(R"({"a":"[[[[{{{{\"[[[[\\"})", 1));
  EXPECT_FALSE(api::json_nesting_within(R"({"a":"\\",  "b":[[]]})", 2));
  EXPECT_TRUE(api::json_nesting_within(nested(api::kMaxJsonDepth)));
  EXPECT_FALSE(api::json_nesting_within(nested(api::kMaxJsonDepth + 1)));
  // Runs of backslashes before a quote: even ends the string, odd escapes the quote.
  EXPECT_TRUE(api::json_nesting_within(R"(["a\\\"[[[[", [[1]]])", 3));
  EXPECT_FALSE(api::json_nesting_within(R"(["a\\\"[[[[", [[1]]])", 2));
  EXPECT_FALSE(api::json_nesting_within(R"(["a\\", [[1]]])", 2));
  // An unterminated string ends the scan without reading past the text.
  EXPECT_TRUE(api::json_nesting_within(R"(["abc\)", 1));
}

TEST(JsonDepth, ParseJsonDiscardsTooDeepAndInvalidText) {
  EXPECT_TRUE(api::parse_json(nested(kDeep)).is_discarded());
  EXPECT_TRUE(api::parse_json<nlohmann::ordered_json>(nested(kDeep)).is_discarded());
  EXPECT_TRUE(api::parse_json("{").is_discarded());
  const auto ok = api::parse_json(nested(api::kMaxJsonDepth));
  ASSERT_FALSE(ok.is_discarded());
  EXPECT_EQ(ok.dump().size(), 2 * api::kMaxJsonDepth);
}

TEST(JsonDepth, ADeepAnthropicToolInputIsABadAnswerNotACrash) {
  const std::string message = R"({"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":{"x":)" +
                              nested(kDeep) + R"(}}],"stop_reason":"tool_use"})";
  auto r = api::messages_to_chat_completion(message);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "upstream_bad_answer");
}

TEST(JsonDepth, TheGuardRestoresNothingInADeepAnswerAndSurvivesIt) {
  const std::vector<std::pair<std::string, std::string>> placeholders{{"[EMAIL_1]", "bob@example.com"}};
  const std::string body = R"({"choices":[{"message":{"content":"hi [EMAIL_1]","tool_calls":[{"function":{"arguments":"{}"}}]}}],"junk":)" +
                           nested(kDeep) + "}";
  const std::string restored = guard::restore_answer_json(body, placeholders);
  EXPECT_NE(restored.find("bob@example.com"), std::string::npos);  // the text replacement still happens
  guard::StreamRestorer stream(placeholders);
  const std::string event = R"(data: {"choices":[{"index":0,"delta":{"content":"[EMAIL_1]"}}],"junk":)" +
                            nested(kDeep) + "}\n\n";
  const std::string out = stream.feed(event) + stream.finish();
  EXPECT_FALSE(out.empty());
}
}  // namespace
}  // namespace switchboard
