// Every API front end refuses a body that repeats a top-level key (the routing/billing bypass of
// {"model":"auto","model":"gpt-4"}), naming the key, as chat completions does — and, since
// session 24, a key repeated in any nested object (a message's two `content` keys).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/completions.h"
#include "api/embeddings.h"
#include "api/json_util.h"
#include "api/messages.h"
#include "api/responses.h"

namespace switchboard::api {
namespace {

template <typename R>
void expect_duplicate(const R& r, const std::string& key) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_request");
  EXPECT_NE(r.error().message.find("duplicate key '" + key + "'"), std::string::npos) << r.error().message;
}

TEST(ApiDuplicateKeys, EveryFrontEndRefusesARepeatedTopLevelKey) {
  expect_duplicate(parse_messages_request(
                       R"({"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"model":"gpt-4"})"),
                   "model");
  expect_duplicate(parse_responses_request(R"({"model":"auto","input":"hi","model":"gpt-4"})"), "model");
  expect_duplicate(parse_completions_request(R"({"model":"auto","prompt":"hi","prompt":"again"})"), "prompt");
  expect_duplicate(parse_embeddings_request(R"({"model":"embed","input":"a","model":"other"})"), "model");
}

TEST(ApiDuplicateKeys, NestedRepeatsAreRefusedDistinctKeysPass) {
  // Since session 24: a repeat at any depth. A message with two `content` keys showed the guard
  // the first and the upstream (which reads the last) the other.
  auto nested = parse_request_object(R"({"model":"a","metadata":{"k":1,"k":2},"input":"x"})");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.error().message.find("duplicate key 'k'"), std::string::npos) << nested.error().message;
  expect_duplicate(parse_messages_request(
                       R"({"model":"c","max_tokens":5,"messages":[{"role":"user","content":"hi","content":"ssn 123-45-6789"}]})"),
                   "content");
  auto ok = parse_request_object(R"({"model":"a","metadata":{"k":1,"j":{"k":2}},"input":[{"k":1},{"k":2}]})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)["model"], "a");
  EXPECT_TRUE(parse_responses_request(R"({"model":"auto","input":"hi"})").ok());
}

TEST(ApiDuplicateKeys, KeysAreComparedUnescaped) {
  expect_duplicate(parse_request_object(R"({"model":"a","mo\u0064el":"b"})"), "model");
}

TEST(ApiRequestObject, NestingBeyondTheLimitIsRefusedNotACrash) {
  // A tool_use input 100,000 levels deep used to overflow the stack when the translator copied it.
  std::string deep = R"({"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":)"
                     R"([{"type":"tool_use","id":"t","name":"f","input":{"a":)";
  deep += std::string(100'000, '[') + std::string(100'000, ']') + "}}]}]}";
  auto r = parse_messages_request(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_json");
  EXPECT_NE(r.error().message.find("deep"), std::string::npos) << r.error().message;
  // 1,000 levels are fine.
  std::string nested = R"({"model":"m","metadata":)" + std::string(1000, '[') +
                       std::string(1000, ']') + "}";
  EXPECT_TRUE(parse_request_object(nested).ok());
}

TEST(ApiRequestObject, ALongArrayOfObjectsParses) {
  // nlohmann's callback parser (the old duplicate-key check) rescanned the array at each object's
  // end: this body took seconds.
  std::string body = R"({"model":"m","input":"x","metadata":[)";
  for (int i = 0; i < 100'000; ++i) body += i ? ",{}" : "{}";
  body += "]}";
  auto r = parse_request_object(body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["metadata"].size(), 100'000u);
}

TEST(ApiDuplicateKeys, NotJsonAndNotAnObjectKeepTheirOwnErrors) {
  auto bad = parse_request_object("{\"model\":");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid_json");
  auto arr = parse_request_object("[1,2]");
  ASSERT_FALSE(arr.ok());
  EXPECT_EQ(arr.error().code, "invalid_request");
}

}  // namespace
// A number simdjson cannot hold is named with its key (simdjson says only that a number failed).
TEST(JsonErrors, AnUnheldNumberIsNamedWithItsKey) {
  using testing::HasSubstr;
  const auto message = [](std::string_view body) {
    auto r = parse_request_object(body);
    return r ? std::string() : r.error().message;
  };
  EXPECT_THAT(message(R"({"model":"m","temperature": 1e999})"),
              HasSubstr("the number 1e999 of 'temperature' is malformed or out of range"));
  EXPECT_THAT(message(R"({"max_tokens": 99999999999999999999999})"),
              HasSubstr("'max_tokens'"));
  EXPECT_THAT(message(R"({"a": [1, 2, -1e400]})"), HasSubstr("-1e400 of 'a'"));
  EXPECT_THAT(message(R"({"s": "1e999", "b": 01})"), HasSubstr("the number 01 of 'b'"));
  EXPECT_EQ(message(R"({"a": 1e5, "b": -0.5e-3, "c": 18446744073709551615})"), "");
}

}  // namespace switchboard::api
