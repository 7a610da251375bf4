// Answers that call tools, in the judges and the chat answer reader: api::parse_completion gives
// a canonical form of choices[0].message.tool_calls (argument spacing and key order do not tell
// two equal calls apart); the `agreement` judge compares calls by that form; the `rules` judge
// counts a call as an answer (an empty text with a call is not "too short") and matches its
// patterns against it.
#include <gtest/gtest.h>

#include "api/chat_response.h"
#include "judges_test_util.h"

namespace switchboard {
namespace {

std::string completion(const std::string& content, const std::string& calls) {
  return R"({"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":)" +
         content + R"(,"tool_calls":)" + calls + R"(}}]})";
}

TEST(ToolCallAnswers, ParseCompletionGivesACanonicalFormOfTheCalls) {
  auto a = api::parse_completion(completion(
      "null",
      R"([{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{ \"unit\": \"C\",\n \"city\": \"Paris\" }"}},)"
      R"({"id":"c2","type":"function","function":{"name":"get_time","arguments":"not json"}}])"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->content, "");
  EXPECT_EQ(a->tool_calls, "get_weather({\"city\":\"Paris\",\"unit\":\"C\"})\nget_time(not json)");
  auto b = api::parse_completion(completion(
      "\"\"", R"([{"id":"z9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"C\"}"}}])"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->tool_calls, "get_weather({\"city\":\"Paris\",\"unit\":\"C\"})");
  // No tool calls: empty.
  auto c = api::parse_completion(
      R"({"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"hi"}}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->tool_calls, "");
}

JudgeAnswer calling(std::string_view calls, std::string_view text = "") {
  JudgeAnswer a = judges_test::answer("m", text);
  a.tool_calls = calls;
  return a;
}

TEST(ToolCallAnswers, AgreementComparesTheCalls) {
  auto j = judges_test::build_judge("{type: agreement}");
  ASSERT_TRUE(j.ok()) << j.error().message;
  const std::string paris = "get_weather({\"city\":\"Paris\"})";
  const std::string rome = "get_weather({\"city\":\"Rome\"})";
  std::vector<JudgeAnswer> same{calling(paris), calling(paris, "Let me look that up.")};
  auto v = (*j)->judge({"What is the weather in Paris?", same});
  EXPECT_TRUE(v.available);
  EXPECT_EQ(v.confidence, 1);
  EXPECT_NE(v.note.find("tool calls: 2 of 2 agree"), std::string::npos) << v.note;
  std::vector<JudgeAnswer> differ{calling(paris), calling(rome)};
  v = (*j)->judge({"What is the weather in Paris?", differ});
  EXPECT_DOUBLE_EQ(v.confidence, 0.5);
  // A call and a text answer never agree.
  std::vector<JudgeAnswer> mixed{calling(paris), judges_test::answer("m", "It is sunny.")};
  v = (*j)->judge({"What is the weather in Paris?", mixed});
  EXPECT_DOUBLE_EQ(v.confidence, 0.5);
}

TEST(ToolCallAnswers, RulesCountACallAsAnAnswer) {
  auto j = judges_test::build_judge("{type: rules, min_chars: 5, reject: ['delete_']}");
  ASSERT_TRUE(j.ok()) << j.error().message;
  std::vector<JudgeAnswer> call{calling("get_weather({\"city\":\"Paris\"})")};
  auto v = (*j)->judge({"weather?", call});
  EXPECT_EQ(v.confidence, 1) << v.note;
  std::vector<JudgeAnswer> risky{calling("delete_account({})")};
  v = (*j)->judge({"close it", risky});
  EXPECT_EQ(v.confidence, 0);
  EXPECT_NE(v.note.find("matches 'delete_'"), std::string::npos) << v.note;
  std::vector<JudgeAnswer> empty{judges_test::answer("m", "")};
  EXPECT_EQ((*j)->judge({"weather?", empty}).confidence, 0);
}

}  // namespace
}  // namespace switchboard
