// What a chat replica sends that a Responses client must not get as it came (api/responses.h):
// text in the middle of a streamed tool call's arguments, an event that is not JSON, error bodies
// not in OpenAI's shape.
#include <gtest/gtest.h>

#include <algorithm>

#include "api/responses.h"
#include "api_translate_util.h"

namespace switchboard::api {
namespace {

using namespace testing;

// Text that arrives while a streamed function call is open (its arguments continue after it)
// does not cut the call in two: the call stays whole and the text is a message item after it.
TEST(ResponsesStream, TextInsideAToolCallWaitsForTheCall) {
  auto call = [](int index, json fn, std::string id = "") {
    json tc = {{"index", index}, {"function", std::move(fn)}};
    if (!id.empty()) tc["id"] = id, tc["type"] = "function";
    return chunk({{"tool_calls", json::array({tc})}});
  };
  auto t = responses_translator(nullptr);
  const auto events = parse_events(run_stream(
      *t, {chunk({{"role", "assistant"}, {"content", nullptr}}),
           call(0, {{"name", "weather"}, {"arguments", "{\"city\":"}}, "call_a"),
           chunk({{"content", "Checking"}}),
           call(0, {{"arguments", "\"Paris\"}"}}),
           chunk({{"content", " now."}}),
           call(1, {{"name", "time"}, {"arguments", "{}"}}, "call_b"),
           chunk(json::object(), "tool_calls"), "[DONE]"}));
  const json& output = events.back().data["response"]["output"];
  ASSERT_EQ(output.size(), 3u) << output.dump();
  EXPECT_EQ(output[0]["type"], "function_call");
  EXPECT_EQ(output[0]["name"], "weather");
  EXPECT_EQ(output[0]["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(output[1]["type"], "message");
  EXPECT_EQ(output[1]["content"][0]["text"], "Checking now.");
  EXPECT_EQ(output[2]["name"], "time");
  EXPECT_EQ(output[2]["call_id"], "call_b");
  // Each item as its output_item.done event gave it, and every delta of the text in its item.
  std::size_t k = 0;
  std::string text;
  for (const auto& e : events) {
    if (e.name == "response.output_item.done") {
      EXPECT_EQ(e.data["item"], output[k++]);
    }
    if (e.name == "response.output_text.delta") {
      EXPECT_EQ(e.data["item_id"], output[1]["id"]);
      text += e.data["delta"].get<std::string>();
    }
  }
  EXPECT_EQ(text, "Checking now.");
  // Text still held when the stream ends comes after the call.
  auto t2 = responses_translator(nullptr);
  const auto end = parse_events(run_stream(
      *t2, {call(0, {{"name", "weather"}, {"arguments", "{\"city\":"}}, "call_a"),
            chunk({{"content", "Hm."}}), call(0, {{"arguments", "\"Oslo\"}"}}),
            chunk(json::object(), "stop"), "[DONE]"}));
  const json& out2 = end.back().data["response"]["output"];
  ASSERT_EQ(out2.size(), 2u);
  EXPECT_EQ(out2[0]["arguments"], R"({"city":"Oslo"})");
  EXPECT_EQ(out2[1]["content"][0]["text"], "Hm.");
}

// An event that is not JSON mid-stream loses what it held: the stream ends with an error event
// (not response.completed) and the translator says it broke, for the record.
TEST(ResponsesStream, AnEventThatIsNotJsonEndsTheStreamWithAnError) {
  auto t = responses_translator(nullptr);
  std::string out = t->event(chunk({{"role", "assistant"}, {"content", "Hel"}}));
  EXPECT_EQ(t->stream_failure(), nullptr);
  EXPECT_EQ(t->event("   "), "");  // an empty event says nothing
  out += t->event("{not json at all");
  ASSERT_NE(t->stream_failure(), nullptr);
  EXPECT_EQ(t->stream_failure()->code, "upstream_bad_event");
  out += t->event(chunk({{"content", "lo"}}));
  out += t->event("[DONE]");
  out += t->finish();
  out += t->error_event(make_error(ErrorKind::kUpstreamError, "x", "y"));  // ended already
  const auto events = parse_events(out);
  EXPECT_EQ(events.back().name, "error");
  EXPECT_EQ(events.back().data["code"], "upstream_bad_event");
  for (const auto& e : events) EXPECT_NE(e.name, "response.completed");
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const Event& e) { return e.name == "error"; }), 1);
}

// Upstream error bodies that are not OpenAI error objects are wrapped in one, keeping the
// upstream's message (OpenAI's SDKs read error.message; an HTML page or vLLM's shape was passed
// on as it was, labelled application/json).
TEST(ResponsesErrors, UpstreamBodiesNotInOpenAIShapeAreWrapped) {
  auto t = responses_translator(nullptr);
  const std::string openai = R"({"error":{"message":"bad model","type":"invalid_request_error","code":null,"param":null}})";
  EXPECT_EQ(t->upstream_error_body(400, openai), openai);  // already one: unchanged
  struct Case {
    unsigned status;
    std::string body, message, type;
  } cases[] = {
      {502, "<html><body><h1>502 Bad Gateway</h1></body></html>",
       "<html><body><h1>502 Bad Gateway</h1></body></html>", "server_error"},
      {400, R"({"object":"error","message":"max_tokens is too large","type":"BadRequestError","param":null,"code":400})",
       "max_tokens is too large", "invalid_request_error"},
      {400, R"({"error":"model not loaded"})", "model not loaded", "invalid_request_error"},
      {422, R"({"detail":[{"loc":["body","messages",0,"content"],"msg":"field required","type":"missing"}]})",
       "body.messages.0.content: field required", "invalid_request_error"},
      {401, R"({"detail":"Not authenticated"})", "Not authenticated", "authentication_error"},
      {429, "", "the upstream answered HTTP 429", "rate_limit_error"},
  };
  for (const auto& c : cases) {
    const json j = json::parse(t->upstream_error_body(c.status, c.body));
    EXPECT_EQ(j["error"]["message"], c.message) << c.body;
    EXPECT_EQ(j["error"]["type"], c.type) << c.body;
    EXPECT_EQ(j["error"]["code"], "upstream_status_" + std::to_string(c.status));
    EXPECT_TRUE(j["error"]["param"].is_null());
  }
  // Bounded: a long page is cut.
  const json big = json::parse(t->upstream_error_body(500, std::string(100000, 'x')));
  EXPECT_LE(big["error"]["message"].get<std::string>().size(), 520u);
}

}  // namespace
}  // namespace switchboard::api
