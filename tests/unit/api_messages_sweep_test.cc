// The Messages translation's answers to what chat upstreams send that Messages cannot carry as
// sent (session 35's sweep): text inside a streamed tool call, arguments that are not a JSON
// object, events that are not JSON, a stream without usage.
#include <gtest/gtest.h>

#include "api/messages.h"
#include "api_translate_util.h"

namespace switchboard::api {
namespace {

using namespace testing;

std::string call_piece(const std::string& arguments, bool first = false, int index = 0,
                       const std::string& name = "weather") {
  json call = {{"index", index}, {"function", {{"arguments", arguments}}}};
  if (first) {
    call["id"] = "call_" + std::to_string(index);
    call["type"] = "function";
    call["function"]["name"] = name;
  }
  return chunk({{"tool_calls", {call}}});
}

// The content blocks a stream started, in order.
std::vector<json> blocks(const std::vector<Event>& events) {
  std::vector<json> out;
  for (const auto& e : events)
    if (e.name == "content_block_start") out.push_back(e.data["content_block"]);
  return out;
}

std::string joined(const std::vector<Event>& events, std::size_t index, const char* field) {
  std::string out;
  for (const auto& e : events)
    if (e.name == "content_block_delta" && e.data["index"] == index &&
        e.data["delta"].contains(field))
      out += e.data["delta"][field].get<std::string>();
  return out;
}

// Text inside a call's arguments is held and comes as its own block after the call: the call
// stays one tool_use block (it was cut in two: `{"city":`, then a nameless call `"Paris"}`).
TEST(MessagesStream, TextInsideAToolCallComesAfterIt) {
  auto t = messages_translator(nullptr);
  auto events = parse_events(run_stream(
      *t, {call_piece(R"({"city":)", true), chunk({{"content", "Let me "}}),
           chunk({{"content", "check."}}), call_piece(R"("Paris"})"),
           call_piece(R"({"city":"Rome"})", true, 1), chunk(json::object(), "tool_calls"),
           "[DONE]"}));
  auto b = blocks(events);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0]["type"], "tool_use");
  EXPECT_EQ(b[0]["name"], "weather");
  EXPECT_EQ(joined(events, 0, "partial_json"), R"({"city":"Paris"})");
  EXPECT_EQ(b[1]["type"], "text");
  EXPECT_EQ(joined(events, 1, "text"), "Let me check.");
  EXPECT_EQ(b[2]["type"], "tool_use");
  EXPECT_EQ(b[2]["id"], "call_1");
  EXPECT_EQ(joined(events, 2, "partial_json"), R"({"city":"Rome"})");
  EXPECT_EQ(names(events).back(), "message_stop");

  // Held text comes out at the end too, and text after the call's whole arguments joins it.
  auto u = messages_translator(nullptr);
  events = parse_events(run_stream(
      *u, {call_piece("", true), chunk({{"content", "a"}}), call_piece("{}"),
           chunk({{"content", "b"}}), chunk(json::object(), "stop")}));
  b = blocks(events);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(joined(events, 1, "text"), "ab");
  auto v = messages_translator(nullptr);
  events = parse_events(run_stream(*v, {call_piece(R"({"a":)", true), chunk({{"content", "x"}}),
                                        call_piece("1}")}));
  b = blocks(events);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1]["type"], "text");
  EXPECT_EQ(joined(events, 1, "text"), "x");
  EXPECT_EQ(names(events).back(), "message_stop");
}

// Reasoning inside a call is held as text is, and comes as a thinking block after the call (the
// call was cut in two; with the arguments checked, it would have ended the stream with an error).
TEST(MessagesStream, ReasoningInsideAToolCallComesAfterIt) {
  MessagesRequest req;
  req.thinking = true;
  auto t = messages_translator(&req);
  auto events = parse_events(run_stream(
      *t, {call_piece(R"({"a":)", true), chunk({{"reasoning_content", "hmm"}}),
           chunk({{"content", "and text"}}), call_piece("1}"), chunk(json::object(), "tool_calls"),
           "[DONE]"}));
  auto b = blocks(events);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0]["type"], "tool_use");
  EXPECT_EQ(joined(events, 0, "partial_json"), R"({"a":1})");
  EXPECT_EQ(b[1]["type"], "thinking");
  EXPECT_EQ(joined(events, 1, "thinking"), "hmm");
  EXPECT_EQ(b[2]["type"], "text");
  EXPECT_EQ(joined(events, 2, "text"), "and text");
  EXPECT_EQ(names(events).back(), "message_stop");
  EXPECT_EQ(t->stream_failure(), nullptr);
}

// A whole answer whose call's arguments are not a JSON object is a bad answer naming the tool (it
// was `input: {}`); none at all is {}. answer_problem() says so before the answer is taken, so
// that the gateway retries elsewhere.
TEST(MessagesAnswer, ToolArgumentsThatAreNotAnObjectAreABadAnswer) {
  auto call = [](const std::string& args) {
    return chat_completion("", "tool_calls",
                           json::array({{{"id", "c"},
                                         {"type", "function"},
                                         {"function", {{"name", "weather"}, {"arguments", args}}}}}));
  };
  for (const std::string args : {R"({"city": Par)", "[1,2]", "\"Paris\"", "7"}) {
    auto t = messages_translator(nullptr);
    auto out = t->whole(call(args));
    ASSERT_FALSE(out) << args;
    EXPECT_EQ(out.error().code, "upstream_bad_answer");
    EXPECT_NE(out.error().message.find("\"weather\""), std::string::npos) << out.error().message;
    EXPECT_NE(t->answer_problem(call(args)).find("\"weather\""), std::string::npos) << args;
  }
  for (const std::string args : {"", "  ", R"({"city":"Paris"})"}) {
    auto t = messages_translator(nullptr);
    auto out = t->whole(call(args));
    ASSERT_TRUE(out) << args;
    EXPECT_TRUE(json::parse(*out)["content"][0]["input"].is_object());
    EXPECT_EQ(t->answer_problem(call(args)), "") << args;
  }
  EXPECT_EQ(messages_translator(nullptr)->answer_problem(chat_completion("hi")), "");
}

// Streamed, such arguments end the stream with an error event when their call's block closes
// (the deltas already went out; the stream is not passed off as a complete answer), and
// stream_failure() tells the gateway.
TEST(MessagesStream, ToolArgumentsThatAreNotAnObjectEndTheStreamWithAnError) {
  for (const std::string args : {R"({"city": Par)", "[1,2]"}) {
    auto t = messages_translator(nullptr);
    auto events = parse_events(
        run_stream(*t, {call_piece(args, true), chunk(json::object(), "tool_calls"), "[DONE]"}));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().name, "error") << args;
    EXPECT_EQ(events.back().data["error"]["type"], "api_error");
    EXPECT_NE(events.back().data["error"]["message"].get<std::string>().find("\"weather\""),
              std::string::npos);
    for (const auto& e : events) EXPECT_NE(e.name, "message_stop");
    ASSERT_NE(t->stream_failure(), nullptr);
    EXPECT_EQ(t->stream_failure()->code, "upstream_bad_answer");
    // Nothing after it: a later error (the gateway's) is not a second error event.
    EXPECT_EQ(t->error_event(make_error(ErrorKind::kUpstreamError, "x", "y")), "");
  }
  // The next call's start closes the bad one: the error comes before it opens.
  auto t = messages_translator(nullptr);
  auto events = parse_events(run_stream(*t, {call_piece("[1]", true), call_piece("{}", true, 1)}));
  EXPECT_EQ(blocks(events).size(), 1u);
  EXPECT_EQ(events.back().name, "error");
}

// An event that is not JSON ends the stream with an error event (it was skipped: the answer ended
// end_turn without what it carried).
TEST(MessagesStream, AnEventThatIsNotJsonEndsTheStreamWithAnError) {
  auto t = messages_translator(nullptr);
  auto events = parse_events(run_stream(
      *t, {chunk({{"role", "assistant"}}), chunk({{"content", "before"}}), "{not json at all",
           chunk({{"content", "after"}}), chunk(json::object(), "stop"), "[DONE]"}));
  EXPECT_EQ(events.back().name, "error");
  EXPECT_EQ(events.back().data["error"]["type"], "api_error");
  for (const auto& e : events) EXPECT_NE(e.name, "message_stop");
  EXPECT_EQ(joined(events, 0, "text"), "before");
  ASSERT_NE(t->stream_failure(), nullptr);
  EXPECT_EQ(t->stream_failure()->code, "upstream_bad_event");
  // JSON that is not an object too; an event without data is nothing.
  auto u = messages_translator(nullptr);
  EXPECT_EQ(u->event(""), "");
  EXPECT_EQ(u->stream_failure(), nullptr);
  EXPECT_EQ(parse_events(u->event("[1,2]")).back().name, "error");
  // An upstream's own error event is no failure of the translation (the meter tells it).
  auto w = messages_translator(nullptr);
  EXPECT_EQ(parse_events(w->event(R"({"error":{"message":"boom"}})")).back().name, "error");
  EXPECT_EQ(w->stream_failure(), nullptr);
}

// Without the upstream's usage, message_delta reports the gateway's estimate as the decision
// record counts it (the prompt's estimate, one token per content chunk); it said 0 output tokens.
// A whole answer likewise reports its text's estimate.
TEST(MessagesStream, WithoutUsageTheEstimateIsReported) {
  auto t = messages_translator(nullptr);
  t->set_prompt_tokens(42);
  auto events = parse_events(run_stream(
      *t, {chunk({{"content", "Hel"}}), chunk({{"content", "lo"}}), chunk(json::object(), "stop"),
           "[DONE]"}));
  ASSERT_EQ(events.at(events.size() - 2).name, "message_delta");
  EXPECT_EQ(events.at(events.size() - 2).data["usage"],
            (json{{"input_tokens", 42}, {"output_tokens", 2}}));

  json whole = json::parse(chat_completion("A reply of some forty characters or so."));
  whole.erase("usage");
  auto w = messages_translator(nullptr);
  w->set_prompt_tokens(42);
  json j = json::parse(*w->whole(whole.dump()));
  EXPECT_EQ(j["usage"]["input_tokens"], 42);
  EXPECT_GT(j["usage"]["output_tokens"].get<int>(), 0);
}

}  // namespace
}  // namespace switchboard::api
