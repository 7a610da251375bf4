#include "api/chat_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/errors.h"

using namespace switchboard;
using ::testing::HasSubstr;

TEST(ChatRequest, ExtractsWhatTheGatewayNeeds) {
  auto r = api::parse_chat_request(R"({"model":"auto","stream":true,"stream_options":{"include_usage":true},
    "max_tokens":50,"messages":[{"role":"system","content":"Be brief."},
    {"role":"user","content":[{"type":"text","text":"Hello"},{"type":"image_url","image_url":{"url":"x"}}]}],
    "temperature":0.2,"unknown_field":{"kept":true}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "auto");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->max_tokens, 50);
  EXPECT_EQ(r->message_count, 2u);
  EXPECT_EQ(r->prompt_text, "Be brief.\nHello");
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[1].role, "user");
  EXPECT_EQ(r->text_of(r->messages[0]), "Be brief.");
  EXPECT_EQ(r->user_text(), "Hello");
  EXPECT_EQ(r->estimated_prompt_tokens, api::estimate_tokens(r->prompt_text.size()));
}

TEST(ChatRequest, RejectsMalformedInputWithPreciseMessages) {
  auto code = [](std::string_view body) {
    auto r = api::parse_chat_request(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.ok() ? ErrorKind::kInternal : r.error().kind, ErrorKind::kBadRequest);
    return r.ok() ? std::string() : r.error().code + ": " + r.error().message;
  };
  EXPECT_THAT(code(R"({"model":"a","messages":[)"), HasSubstr("invalid_json"));
  EXPECT_THAT(code("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"), HasSubstr("invalid_json"));
  EXPECT_THAT(code(""), HasSubstr("invalid_json"));
  EXPECT_THAT(code("[1,2]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(code(R"({"messages":[{"role":"user","content":"x"}]})"), HasSubstr("'model' is required"));
  EXPECT_THAT(code(R"({"model":7,"messages":[{"role":"user","content":"x"}]})"), HasSubstr("'model' is required"));
  EXPECT_THAT(code(R"({"model":"a"})"), HasSubstr("'messages' is required"));
  EXPECT_THAT(code(R"({"model":"a","messages":[]})"), HasSubstr("must not be empty"));
  EXPECT_THAT(code(R"({"model":"a","messages":["hi"]})"), HasSubstr("messages[0] must be an object"));
  EXPECT_THAT(code(R"({"model":"a","messages":[{"content":"x"}]})"), HasSubstr("messages[0].role"));
  EXPECT_THAT(code(R"({"model":"a","stream":"yes","messages":[{"role":"user","content":"x"}]})"),
              HasSubstr("'stream' must be a boolean"));
}

TEST(ChatRequest, RewriteModelChangesOnlyTheModel) {
  std::string body = R"({"messages":[{"role":"user","content":"model"}], "model" : "auto" ,"n":1})";
  auto out = api::rewrite_model(body, "up/\"quoted\"");
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["model"], "up/\"quoted\"");
  EXPECT_EQ(j["messages"][0]["content"], "model");
  EXPECT_EQ(j["n"], 1);
}

TEST(Errors, OpenAIShapeAndStatusMapping) {
  auto e = make_error(ErrorKind::kNotFound, "model_not_found", "no such model");
  auto j = nlohmann::json::parse(api::error_json(e));
  EXPECT_EQ(j["error"]["message"], "no such model");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["code"], "model_not_found");
  EXPECT_EQ(http_status(ErrorKind::kBadRequest), 400);
  EXPECT_EQ(http_status(ErrorKind::kNotFound), 404);
  EXPECT_EQ(http_status(ErrorKind::kPayloadTooLarge), 413);
  EXPECT_EQ(http_status(ErrorKind::kUpstreamError), 502);
  EXPECT_EQ(http_status(ErrorKind::kUnavailable), 503);
  EXPECT_EQ(http_status(ErrorKind::kUpstreamTimeout), 504);
  EXPECT_STREQ(openai_error_type(ErrorKind::kUpstreamTimeout), "upstream_error");
  auto event = api::error_sse_event(e);
  EXPECT_EQ(event.rfind("data: {", 0), 0u);
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n");
  // Invalid UTF-8 in a message never breaks the JSON.
  auto bad = make_error(ErrorKind::kBadRequest, "x", "bad \xff byte");
  EXPECT_NO_THROW(nlohmann::json::parse(api::error_json(bad)));
}
