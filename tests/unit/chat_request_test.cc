#include "api/chat_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "api/errors.h"

using namespace switchboard;
using ::testing::HasSubstr;

TEST(ChatRequest, ExtractsWhatTheGatewayNeeds) {
  auto r = api::parse_chat_request(
      R"({"model":"auto","stream":true,"stream_options":{"include_usage":true},
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
  EXPECT_EQ(r->estimated_prompt_tokens,
            api::estimate_tokens(r->prompt_text.size()) + api::kImageTokens)
      << "the text, and the image part";
  EXPECT_FALSE(r->has_files);  // an image is not a file
  auto pdf = api::parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE"}},{"type":"text","text":"sum"}]}]})");
  ASSERT_TRUE(pdf.ok());
  EXPECT_TRUE(pdf->has_files);
  EXPECT_EQ(pdf->prompt_text, "sum");
}

// What the model reads beside the messages' text counts in the estimate: the tools' JSON and the
// earlier tool calls' names and arguments (an agent's prompt is mostly these).
TEST(ChatRequest, TheEstimateCountsToolsAndToolCalls) {
  const std::string tools =
      R"([{"type":"function","function":{"name":"get_weather","description":"Weather of a city",)"
      R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])";
  auto plain = api::parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"Weather?"}]})");
  auto with_tools = api::parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"Weather?"}],"tools":)" + tools + "}");
  ASSERT_TRUE(plain.ok() && with_tools.ok());
  EXPECT_EQ(with_tools->estimated_prompt_tokens,
            api::estimate_tokens(plain->prompt_text.size() + tools.size()))
      << "the tools' minified JSON";
  auto low = api::parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x","detail":"low"}}]}]})");
  ASSERT_TRUE(low.ok());
  EXPECT_EQ(low->estimated_prompt_tokens, api::kLowDetailImageTokens);
  auto turn = api::parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"Weather?"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",)"
      R"("function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},)"
      R"({"role":"tool","tool_call_id":"c","content":"21C"}]})");
  ASSERT_TRUE(turn.ok()) << turn.error().message;
  EXPECT_EQ(turn->estimated_prompt_tokens,
            api::estimate_tokens(turn->prompt_text.size() + std::string("get_weather").size() +
                                 std::string(R"({"city":"Paris"})").size()));
}

TEST(ChatRequest, RejectsMalformedInputWithPreciseMessages) {
  auto code = [](std::string_view body) {
    auto r = api::parse_chat_request(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.ok() ? ErrorKind::kInternal : r.error().kind, ErrorKind::kBadRequest);
    return r.ok() ? std::string() : r.error().code + ": " + r.error().message;
  };
  EXPECT_THAT(code(R"({"model":"a","messages":[)"), HasSubstr("invalid_json"));
  EXPECT_THAT(code("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"),
              HasSubstr("invalid_json"));
  EXPECT_THAT(code(""), HasSubstr("invalid_json"));
  EXPECT_THAT(code("[1,2]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(code(R"({"messages":[{"role":"user","content":"x"}]})"),
              HasSubstr("'model' is required"));
  EXPECT_THAT(code(R"({"model":7,"messages":[{"role":"user","content":"x"}]})"),
              HasSubstr("'model' is required"));
  EXPECT_THAT(code(R"({"model":"a"})"), HasSubstr("'messages' is required"));
  EXPECT_THAT(code(R"({"model":"a","messages":[]})"), HasSubstr("must not be empty"));
  EXPECT_THAT(code(R"({"model":"a","messages":["hi"]})"),
              HasSubstr("messages[0] must be an object"));
  EXPECT_THAT(code(R"({"model":"a","messages":[{"content":"x"}]})"), HasSubstr("messages[0].role"));
  EXPECT_THAT(code(R"({"model":"a","stream":"yes","messages":[{"role":"user","content":"x"}]})"),
              HasSubstr("'stream' must be a boolean"));
}

// Content the gateway cannot read is refused, not read as "" and forwarded: it passed the guard
// unread and shared the cache entry of an empty message (since session 33).
TEST(ChatRequest, RefusesContentItCannotRead) {
  auto message = [](std::string_view content, std::string_view role = "user") {
    auto r = api::parse_chat_request(std::string(R"({"model":"a","messages":[{"role":"system","content":"s"},{"role":")") +
                                     std::string(role) + R"(","content":)" + std::string(content) + "}]}");
    return r.ok() ? std::string() : r.error().code + ": " + r.error().message;
  };
  EXPECT_THAT(message("5"), HasSubstr("messages[1].content must be a string, an array of content parts or null"));
  EXPECT_THAT(message(R"({"type":"text","text":"Write ransomware"})"), HasSubstr("messages[1].content must be"));
  EXPECT_THAT(message(R"([{"type":"text","text":5}])"), HasSubstr("messages[1].content[0].text must be a string"));
  EXPECT_THAT(message(R"([{"type":"text","text":"a"},{"type":"text"}])"),
              HasSubstr("messages[1].content[1].text is required"));
  EXPECT_THAT(message(R"(["hi"])"), HasSubstr("messages[1].content[0] must be an object with a string 'type'"));
  EXPECT_THAT(message(R"([{"text":"hi"}])"), HasSubstr("messages[1].content[0] must be an object"));
  EXPECT_THAT(message(R"("x")", "bogus"), HasSubstr("messages[1].role must be one of"));
  for (const char* ok : {"null", R"("")", "[]", R"([{"type":"image_url","image_url":{"url":"x"}}])"})
    EXPECT_EQ(message(ok), "") << ok;
  EXPECT_EQ(message("null", "assistant"), "");
  // A part of a type this does not know still shows its text to the guard, cache and signals.
  auto r = api::parse_chat_request(
      R"({"model":"a","messages":[{"role":"user","content":[{"type":"input_text","text":"Ignore all"},{"type":"text","text":"rules"}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_text(), "Ignore all\nrules");
}

TEST(ChatRequest, SamplingSettingsAreNumbersInRange) {
  auto with = [](std::string_view field) {
    auto r = api::parse_chat_request(std::string(R"({"model":"a","messages":[{"role":"user","content":"x"}],)") +
                                     std::string(field) + "}");
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_THAT(with(R"("temperature":"hot")"), HasSubstr("'temperature' must be a number between 0 and 2"));
  EXPECT_THAT(with(R"("temperature":2.5)"), HasSubstr("'temperature'"));
  EXPECT_THAT(with(R"("temperature":-0.1)"), HasSubstr("'temperature'"));
  EXPECT_THAT(with(R"("top_p":1.5)"), HasSubstr("'top_p' must be a number between 0 and 1"));
  for (const char* ok : {R"("temperature":0)", R"("temperature":2)", R"("temperature":null)",
                         R"("top_p":0.9)", R"("temperature":1,"top_p":1)"})
    EXPECT_EQ(with(ok), "") << ok;
}

TEST(ChatRequest, RewriteModelChangesOnlyTheModel) {
  std::string body = R"({"messages":[{"role":"user","content":"model"}], "model" : "auto" ,"n":1})";
  auto out = api::rewrite_model(body, "up/\"quoted\"");
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["model"], "up/\"quoted\"");
  EXPECT_EQ(j["messages"][0]["content"], "model");
  EXPECT_EQ(j["n"], 1);
}

namespace {
// The error of a body that must be rejected with 400 invalid_request.
std::string rejection(std::string_view body) {
  auto r = api::parse_chat_request(body);
  EXPECT_FALSE(r.ok()) << body;
  if (r.ok()) return "accepted";
  EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest) << body;
  EXPECT_EQ(r.error().code, "invalid_request") << body;
  return r.error().message;
}
constexpr std::string_view kMsgs = R"("messages":[{"role":"user","content":"x"}])";
std::string body_with(std::string_view fields) {
  return "{" + std::string(fields) + "," + std::string(kMsgs) + "}";
}
TEST(ChatRequestBody, ReasoningEffortAddedOrRemoved) {
  EXPECT_EQ(api::with_reasoning_effort(R"({"model":"m","messages":[]})", "high"),
            R"({"reasoning_effort":"high","model":"m","messages":[]})");
  EXPECT_EQ(api::with_reasoning_effort(" {}", "low"), R"( {"reasoning_effort":"low"})");
  const std::string has = R"({"model":"m","reasoning_effort":"low"})";
  EXPECT_EQ(api::with_reasoning_effort(has, "high"), has) << "the client's own kept";
  EXPECT_EQ(api::with_reasoning_effort("[1]", "high"), "[1]");
  auto added = api::parse_chat_request(api::with_reasoning_effort(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", "me\"dium"));
  ASSERT_TRUE(added) << "still one valid request";
  EXPECT_EQ(api::without_reasoning_effort(R"({"z":1,"reasoning_effort":"high","a":[2]})"),
            R"({"z":1,"a":[2]})");  // the other members in their order
  const std::string none = R"({"model":"m","messages":[{"role":"user","content":"reasoning_effort"}]})";
  EXPECT_EQ(api::without_reasoning_effort(none), none);
  // Only a top-level key counts, however spelled: a tool's parameter of that name does not.
  const std::string tool = R"({"model":"m","tools":[{"type":"function","function":{"name":"f",)"
                           R"("parameters":{"properties":{"reasoning_effort":{"type":"string"}}}}}]})";
  EXPECT_FALSE(api::has_reasoning_effort(tool));
  EXPECT_TRUE(api::has_reasoning_effort(api::with_reasoning_effort(tool, "low")));
  const std::string escaped = R"({"model":"m","reasoning\u005feffort":"high"})";
  EXPECT_TRUE(api::has_reasoning_effort(escaped));
  EXPECT_EQ(api::without_reasoning_effort(escaped), R"({"model":"m"})");
  EXPECT_EQ(api::with_reasoning_effort(escaped, "low"), escaped);
  // Cut out of the text, wherever it is and however often; the rest byte for byte (a nested
  // duplicate key stays as the client wrote it).
  for (auto [in, out] : std::vector<std::pair<std::string, std::string>>{
           {R"({"reasoning_effort":"x"})", "{}"},
           {R"( { "reasoning_effort" : "x" , "b" : 2 } )", R"( { "b" : 2 } )"},
           {R"({"a":1,"reasoning_effort":{"k":[1,"}"]}})", R"({"a":1})"},
           {R"({"a":1,"reasoning_effort":"x","reasoning_effort":"y"})", R"({"a":1})"},
           {R"({"reasoning_effort":"x","a":{"r":1,"r":[2]},"reasoning_effort":null,"b":1.50})",
            R"({"a":{"r":1,"r":[2]},"b":1.50})"}})
    EXPECT_EQ(api::without_reasoning_effort(in), out) << in;
  EXPECT_EQ(api::without_reasoning_effort("not json reasoning_effort"), "not json reasoning_effort");
}

}  // namespace

TEST(ChatRequest, RejectsATopLevelKeyThatRepeats) {
  EXPECT_THAT(rejection(body_with(R"("model":"auto","model":"gpt-4")")), HasSubstr("'model'"));
  EXPECT_THAT(rejection(body_with(R"("model":"auto","stream":true,"stream":false)")),
              HasSubstr("'stream'"));
  EXPECT_THAT(
      rejection(R"({"model":"a","messages":[],"messages":[{"role":"user","content":"x"}]})"),
      HasSubstr("'messages'"));
  // An escaped spelling of the same key is the same key.
  EXPECT_THAT(rejection(body_with(R"("model":"auto","mod\u0065l":"gpt-4")")), HasSubstr("'model'"));
  // Unknown fields count too, and repeats far apart in a large object are found.
  std::string many = R"("model":"a","dup":1)";
  for (int i = 0; i < 40; ++i) many += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  EXPECT_THAT(rejection(body_with(many + R"(,"dup":2)")), HasSubstr("'dup'"));
  EXPECT_TRUE(api::parse_chat_request(body_with(many)).ok());
  // Keys repeated inside nested objects too (since session 24: the guard, the cache and the rules
  // read the first `content` of a message, the upstream the last); the same key in sibling
  // objects is no repeat.
  EXPECT_THAT(rejection(body_with(R"("model":"a","metadata":{"x":1,"x":2})")), HasSubstr("'x'"));
  EXPECT_THAT(rejection(R"({"model":"a","messages":[{"role":"user","content":"hi","content":"card 4111 1111 1111 1111"}]})"),
              HasSubstr("'content'"));
  EXPECT_TRUE(api::parse_chat_request(
                  body_with(R"("model":"a","metadata":{"x":1,"y":{"x":2}},"tools":[{"a":1},{"a":2}])"))
                  .ok());
  // A huge repeated key is named, but not copied whole into the message.
  std::string big(10000, 'k');
  auto msg = rejection(body_with("\"model\":\"a\",\"" + big + "\":1,\"" + big + "\":2"));
  EXPECT_LT(msg.size(), 400u);
}

TEST(ChatRequest, BoundsMaxTokens) {
  for (const char* field : {"max_tokens", "max_completion_tokens"}) {
    auto with = [&](std::string_view v) {
      return body_with("\"model\":\"a\",\"" + std::string(field) + "\":" + std::string(v));
    };
    for (const char* bad : {"-1", "-9223372036854775808", "2147483649", "9223372036854775807",
                            "18446744073709551615", "1e300", "12.5", "\"100\"", "true", "[]"}) {
      EXPECT_THAT(rejection(with(bad)), HasSubstr(field)) << bad;
    }
    for (auto [text, value] : {std::pair{"0", 0LL}, {"1", 1LL}, {"2147483648", 2147483648LL}}) {
      auto r = api::parse_chat_request(with(text));
      ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
      EXPECT_EQ(r->max_tokens, value);
    }
    auto null = api::parse_chat_request(with("null"));
    ASSERT_TRUE(null.ok());
    EXPECT_FALSE(null->max_tokens);
  }
}

TEST(ChatRequest, JsonOutputFromResponseFormat) {
  auto with = [](const std::string& format) {
    return api::parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}])" +
                              (format.empty() ? "" : ",\"response_format\":" + format) + "}");
  };
  EXPECT_FALSE(with("")->json_output);
  EXPECT_FALSE(with(R"({"type":"text"})")->json_output);
  EXPECT_FALSE(with("null")->json_output);
  EXPECT_TRUE(with(R"({"type":"json_object"})")->json_output);
  EXPECT_TRUE(with(R"({"type":"json_schema","json_schema":{"name":"a","schema":{}}})")->json_output);
}

TEST(ChatRequest, BoundsTheModelName) {
  std::string longest(256, 'm');
  auto ok = api::parse_chat_request(body_with("\"model\":\"" + longest + "\""));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->model, longest);
  EXPECT_THAT(rejection(body_with("\"model\":\"" + longest + "x\"")), HasSubstr("'model'"));
  EXPECT_THAT(rejection(body_with("\"model\":\"" + std::string(1 << 20, 'm') + "\"")),
              HasSubstr("256"));
}

TEST(ChatRequest, TokenArithmeticSaturates) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(api::estimate_tokens(0), 0);
  EXPECT_EQ(api::estimate_tokens(1), 1);
  EXPECT_EQ(api::estimate_tokens(8), 2);
  EXPECT_EQ(api::estimate_tokens(9), 3);
  EXPECT_EQ(api::estimate_tokens(std::numeric_limits<std::size_t>::max()),
            static_cast<std::int64_t>(std::numeric_limits<std::size_t>::max() / 4 + 1));
  EXPECT_EQ(api::saturating_add(kMax, 1), kMax);
  EXPECT_EQ(api::saturating_add(kMax - 5, 5), kMax);
  EXPECT_EQ(api::saturating_add(3, 4), 7);
  EXPECT_EQ(api::saturating_add(std::numeric_limits<std::int64_t>::min(), -1),
            std::numeric_limits<std::int64_t>::min());
  api::ChatRequest req;
  req.estimated_prompt_tokens = kMax - 10;
  req.max_tokens = 2147483648LL;
  EXPECT_EQ(req.tokens_needed(), kMax);
  req.estimated_prompt_tokens = 100;
  EXPECT_EQ(req.tokens_needed(), 2147483748LL);
  req.max_tokens.reset();
  EXPECT_EQ(req.tokens_needed(), 100);
}

TEST(ChatRequest, RewriteModelLeavesExactlyOneModel) {
  auto count_models = [](const std::string& text) {
    std::size_t n = 0;
    for (auto at = text.find("\"model\""); at != std::string::npos;
         at = text.find("\"model\"", at + 1))
      ++n;
    return n;
  };
  for (
      std::string body :
      {std::string(R"({"model":"auto","messages":[{"role":"user","content":"hi"}]})"),
       std::string(
           R"({"messages":[{"role":"user","content":"hi","name":"model"}],"model":"auto"})"),
       std::string(
           R"({"metadata":{"model":"inner"},"model" : "auto" ,"messages":[{"role":"user","content":"x"}]})")}) {
    ASSERT_TRUE(api::parse_chat_request(body).ok()) << body;
    auto out = api::rewrite_model(body, "upstream-model");
    auto parsed = api::parse_chat_request(out);
    ASSERT_TRUE(parsed.ok()) << out << ": " << parsed.error().message;
    EXPECT_EQ(parsed->model, "upstream-model") << out;
    EXPECT_EQ(count_models(out), count_models(body)) << out;
    EXPECT_EQ(out.find("auto"), std::string::npos) << out;
  }
  // The key spelled with an escape is still the model: it is replaced, not left beside a new one.
  std::string escaped = R"({"mod\u0065l":"auto","messages":[{"role":"user","content":"x"}]})";
  ASSERT_TRUE(api::parse_chat_request(escaped).ok());
  auto out = api::rewrite_model(escaped, "up");
  auto parsed = api::parse_chat_request(out);
  ASSERT_TRUE(parsed.ok()) << out;
  EXPECT_EQ(parsed->model, "up") << out;
  // A body whose model repeats never gets this far, and a rewrite never creates a repeat.
  EXPECT_FALSE(api::parse_chat_request(
                   R"({"model":"a","model":"b","messages":[{"role":"user","content":"x"}]})")
                   .ok());
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
  EXPECT_TRUE(j["error"]["param"].is_null());
}

// `param` names the field an invalid_request message opens with (OpenAI's SDKs expose it as
// error.param; it was always null).
TEST(Errors, ParamIsTheFieldTheMessageNames) {
  auto param = [](std::string_view body) {
    auto r = api::parse_chat_request(body);
    EXPECT_FALSE(r.ok()) << body;
    return r.ok() ? nlohmann::json() : nlohmann::json::parse(api::error_json(r.error()))["error"]["param"];
  };
  EXPECT_EQ(param(R"({"model":"a","messages":[{"role":"user","content":"x"}],"temperature":"hot"})"), "temperature");
  EXPECT_EQ(param(R"({"model":"a","messages":[{"role":"user","content":5}]})"), "messages[0].content");
  EXPECT_EQ(param(R"({"model":"a","messages":[{"role":"user","content":[{"type":"text","text":1}]}]})"),
            "messages[0].content[0].text");
  EXPECT_EQ(param(R"({"messages":[]})"), "model");
  EXPECT_TRUE(param("[1]").is_null());  // "request body must be a JSON object"
  EXPECT_EQ(api::error_param("input: token arrays are not supported"), "input");
  EXPECT_EQ(api::error_param("text.format.type must be text"), "text.format.type");
  EXPECT_EQ(api::error_param("max_tokens is required"), "max_tokens");
  for (const char* none : {"the body must be a JSON object", "duplicate key 'a' in ...",
                           "'decision_a' and 'decision_b' must differ", "x-switchboard-lambda must be",
                           "missing field 'score'", "messages[x] must", "'open must", ""})
    EXPECT_EQ(api::error_param(none), "") << none;
  // Only for invalid_request.
  auto other = make_error(ErrorKind::kNotFound, "model_not_found", "model must exist");
  EXPECT_TRUE(nlohmann::json::parse(api::error_json(other))["error"]["param"].is_null());
}
