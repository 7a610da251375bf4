// Every API front end refuses a body that repeats a top-level key (the routing/billing bypass of
// {"model":"auto","model":"gpt-4"}), naming the key, as chat completions does; a repeated key in a
// nested object is not the request's own and is left to the translation.
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

TEST(ApiDuplicateKeys, NestedRepeatsAndDistinctKeysPass) {
  auto ok = parse_request_object(R"({"model":"a","metadata":{"k":1,"k":2},"input":"x"})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)["model"], "a");
  EXPECT_TRUE(parse_responses_request(R"({"model":"auto","input":"hi"})").ok());
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
}  // namespace switchboard::api
