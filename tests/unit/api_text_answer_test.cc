// Reading one finished text answer from the Anthropic Messages and OpenAI Responses shapes
// (api/messages_answer.h, api/responses_answer.h): what the cache stores of an answer passed
// through natively. Only complete answers of text and function calls are taken.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/messages_answer.h"
#include "api/responses_answer.h"

namespace switchboard::api {
namespace {

std::string ev(const std::string& name, const std::string& data) {
  return "event: " + name + "\ndata: " + data + "\n\n";
}

TEST(AnthropicAnswer, ReadsTextBlocksStopReasonAndUsage) {
  auto a = anthropic_answer(
      R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x",)"
      R"("content":[{"type":"text","text":"Hello, "},{"type":"text","text":"world"}],)"
      R"("stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3}})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "Hello, world");
  EXPECT_EQ(a->finish_reason, "stop");
  EXPECT_EQ(a->model, "claude-x");
  EXPECT_EQ(a->prompt_tokens, 12);
  EXPECT_EQ(a->completion_tokens, 3);
  auto cut = anthropic_answer(
      R"({"type":"message","content":[{"type":"text","text":"Hel"}],"stop_reason":"max_tokens"})");
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->finish_reason, "length");
}

TEST(AnthropicAnswer, ReadsToolUseRefusesUnfinishedAndErrors) {
  auto call = anthropic_answer(
      R"({"type":"message","content":[{"type":"text","text":"x"},{"type":"tool_use","id":"t","name":"f","input":{"city":"Zürich","n":2}}],"stop_reason":"tool_use"})");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->content, "x");
  EXPECT_EQ(call->finish_reason, "tool_calls");
  ASSERT_EQ(call->tool_calls.size(), 1u);
  EXPECT_EQ(call->tool_calls[0], (ToolCall{"t", "f", R"({"city":"Zürich","n":2})"}));
  EXPECT_FALSE(anthropic_answer(
      R"({"type":"message","content":[{"type":"tool_use","id":"t","input":{}}],"stop_reason":"tool_use"})"))
      << "a call without a name";
  EXPECT_FALSE(anthropic_answer(
      R"({"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"max_tokens"})"))
      << "a call cut off";
  auto thought = anthropic_answer(
      R"({"type":"message","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"x"}],"stop_reason":"end_turn"})");
  ASSERT_TRUE(thought);
  EXPECT_EQ(thought->reasoning, "t");
  EXPECT_EQ(thought->reasoning_signature, "s");
  EXPECT_EQ(thought->content, "x");
  EXPECT_FALSE(anthropic_answer(
      R"({"type":"message","content":[{"type":"thinking","thinking":"a","signature":"s"},{"type":"thinking","thinking":"b","signature":"t"}],"stop_reason":"end_turn"})"))
      << "two thinking blocks: one signature is kept, so not stored";
  EXPECT_FALSE(anthropic_answer(
      R"({"type":"message","content":[{"type":"redacted_thinking","data":"x"},{"type":"text","text":"x"}],"stop_reason":"end_turn"})"));
  EXPECT_FALSE(anthropic_answer(R"({"type":"message","content":[{"type":"text","text":"x"}],"stop_reason":null})"));
  EXPECT_FALSE(anthropic_answer(R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})"));
  EXPECT_FALSE(anthropic_answer("not json"));
  EXPECT_FALSE(anthropic_answer(R"({"type":"message","content":"text","stop_reason":"end_turn"})"));
}

std::string anthropic_stream(const std::string& stop, bool with_stop_event) {
  std::string s = ev("message_start",
                     R"({"type":"message_start","message":{"model":"claude-x","content":[],"usage":{"input_tokens":9,"output_tokens":1}}})");
  s += ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  s += ev("ping", R"({"type":"ping"})");
  s += ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi "}})");
  s += ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"there"}})");
  s += ev("content_block_stop", R"({"type":"content_block_stop","index":0})");
  s += ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":")" + stop + R"("},"usage":{"output_tokens":4}})");
  if (with_stop_event) s += ev("message_stop", R"({"type":"message_stop"})");
  return s;
}

TEST(AnthropicAnswer, ReadsAStreamThatEndsWithMessageStop) {
  auto a = read_stream(anthropic_stream("end_turn", true), *anthropic_answer_reader());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "Hi there");
  EXPECT_EQ(a->finish_reason, "stop");
  EXPECT_EQ(a->model, "claude-x");
  EXPECT_EQ(a->prompt_tokens, 9);
  EXPECT_EQ(a->completion_tokens, 4);
  EXPECT_FALSE(read_stream(anthropic_stream("end_turn", false), *anthropic_answer_reader()))
      << "a stream cut before message_stop";
  EXPECT_FALSE(read_stream(anthropic_stream("tool_use", true), *anthropic_answer_reader()));
  EXPECT_FALSE(read_stream(ev("error", R"({"type":"error","error":{"type":"overloaded_error"}})") +
                               anthropic_stream("end_turn", true),
                           *anthropic_answer_reader()));
  std::string tool = anthropic_stream("end_turn", true);
  tool.insert(tool.find("event: content_block_stop"),
              ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}})"));
  EXPECT_FALSE(read_stream(tool, *anthropic_answer_reader()));
}

// An answer ended by a stop sequence keeps which (a cache hit gives it back: it said end_turn).
TEST(AnthropicAnswer, KeepsTheStopSequenceThatEndedIt) {
  auto a = anthropic_answer(
      R"({"type":"message","content":[{"type":"text","text":"1, 2"}],)"
      R"("stop_reason":"stop_sequence","stop_sequence":", 3"})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->finish_reason, "stop");
  EXPECT_EQ(a->matched_stop, ", 3");
  auto ended = anthropic_answer(
      R"({"type":"message","content":[{"type":"text","text":"1"}],"stop_reason":"end_turn","stop_sequence":"x"})");
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->matched_stop, "");
  auto streamed = read_stream(anthropic_stream(R"(stop_sequence","stop_sequence":"END)", true),
                              *anthropic_answer_reader());
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->finish_reason, "stop");
  EXPECT_EQ(streamed->matched_stop, "END");
  EXPECT_EQ(read_stream(anthropic_stream("end_turn", true), *anthropic_answer_reader())->matched_stop,
            "");
}

TEST(AnthropicAnswer, ReadsAStreamedThinkingBlockAndItsSignature) {
  std::string s = ev("message_start", R"({"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":9}}})");
  s += ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}})");
  s += ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me "}})");
  s += ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"think."}})");
  s += ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkYIBxgC"}})");
  s += ev("content_block_stop", R"({"type":"content_block_stop","index":0})");
  const std::string text =
      ev("content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})") +
      ev("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"42"}})") +
      ev("content_block_stop", R"({"type":"content_block_stop","index":1})") +
      ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}})") +
      ev("message_stop", R"({"type":"message_stop"})");
  auto a = read_stream(s + text, *anthropic_answer_reader());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->reasoning, "Let me think.");
  EXPECT_EQ(a->reasoning_signature, "EqQBCkYIBxgC");
  EXPECT_EQ(a->content, "42");
  // A text delta inside the thinking block is not an answer this reader knows.
  std::string wrong = s;
  wrong.insert(wrong.find("event: content_block_stop"),
               ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}})"));
  EXPECT_FALSE(read_stream(wrong + text, *anthropic_answer_reader()));
}

TEST(AnthropicAnswer, ReadsAStreamedToolUse) {
  std::string s = ev("message_start", R"({"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":9}}})");
  s += ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  s += ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}})");
  s += ev("content_block_stop", R"({"type":"content_block_stop","index":0})");
  auto use = [](int index, const char* id, const char* name, std::vector<const char*> pieces) {
    std::string out = ev("content_block_start", std::string(R"({"type":"content_block_start","index":)") +
                                                    std::to_string(index) + R"(,"content_block":{"type":"tool_use","id":")" +
                                                    id + R"(","name":")" + name + R"(","input":{}}})");
    for (const char* p : pieces)
      out += ev("content_block_delta", std::string(R"({"type":"content_block_delta","index":)") + std::to_string(index) +
                                           R"(,"delta":{"type":"input_json_delta","partial_json":")" + p + R"("}})");
    return out + ev("content_block_stop", R"({"type":"content_block_stop","index":)" + std::to_string(index) + "}");
  };
  s += use(1, "toolu_a", "weather", {R"({\"city\")", R"(: \"Paris\"})"});
  s += use(2, "toolu_b", "time", {""});
  s += ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}})");
  s += ev("message_stop", R"({"type":"message_stop"})");
  auto a = read_stream(s, *anthropic_answer_reader());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "Checking.");
  EXPECT_EQ(a->finish_reason, "tool_calls");
  ASSERT_EQ(a->tool_calls.size(), 2u);
  EXPECT_EQ(a->tool_calls[0], (ToolCall{"toolu_a", "weather", R"({"city": "Paris"})"}));
  EXPECT_EQ(a->tool_calls[1], (ToolCall{"toolu_b", "time", "{}"})) << "no input: {}";
  EXPECT_EQ(a->completion_tokens, 30);
}

constexpr const char* kResponse =
    R"({"id":"resp_1","object":"response","status":"completed","model":"gpt-x",)"
    R"("output":[{"type":"reasoning","summary":[]},{"type":"message","role":"assistant",)"
    R"("content":[{"type":"output_text","text":"Forty-two","annotations":[]}]}],)"
    R"("usage":{"input_tokens":7,"output_tokens":2}})";

TEST(ResponsesAnswer, ReadsMessageTextSkippingReasoning) {
  auto a = responses_answer(kResponse);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "Forty-two");
  EXPECT_EQ(a->finish_reason, "stop");
  EXPECT_EQ(a->model, "gpt-x");
  EXPECT_EQ(a->prompt_tokens, 7);
  EXPECT_EQ(a->completion_tokens, 2);
  auto cut = responses_answer(
      R"({"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[{"type":"message","content":[{"type":"output_text","text":"For"}]}]})");
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->finish_reason, "length");
}

TEST(ResponsesAnswer, ReadsFunctionCallsRefusesRefusalsAndUnfinishedResponses) {
  auto call = responses_answer(
      R"({"status":"completed","output":[{"type":"function_call","name":"f","arguments":"{\"a\":1}","call_id":"c"}]})");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->finish_reason, "tool_calls");
  ASSERT_EQ(call->tool_calls.size(), 1u);
  EXPECT_EQ(call->tool_calls[0], (ToolCall{"c", "f", R"({"a":1})"}));
  EXPECT_FALSE(responses_answer(
      R"({"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[{"type":"function_call","name":"f","arguments":"{\"a","call_id":"c"}]})"))
      << "a call cut off";
  EXPECT_FALSE(responses_answer(
      R"({"status":"completed","output":[{"type":"web_search_call","id":"ws","status":"completed"}]})"));
  EXPECT_FALSE(responses_answer(
      R"({"status":"completed","output":[{"type":"message","content":[{"type":"refusal","refusal":"no"}]}]})"));
  EXPECT_FALSE(responses_answer(
      R"({"status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[{"type":"message","content":[{"type":"output_text","text":"x"}]}]})"));
  EXPECT_FALSE(responses_answer(R"({"status":"failed","output":[]})"));
  EXPECT_FALSE(responses_answer(R"({"status":"completed","output":[]})"));
}

TEST(ResponsesAnswer, ReadsTheStreamsTerminalEvent) {
  const std::string deltas =
      ev("response.created", R"({"type":"response.created","response":{"status":"in_progress","output":[]}})") +
      ev("response.output_text.delta", R"({"type":"response.output_text.delta","delta":"Forty"})") +
      ev("response.output_text.delta", R"({"type":"response.output_text.delta","delta":"-two"})");
  auto a = read_stream(deltas + ev("response.completed", std::string(R"({"type":"response.completed","response":)") + kResponse + "}"),
                       *responses_answer_reader());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "Forty-two");
  EXPECT_FALSE(read_stream(deltas, *responses_answer_reader())) << "no terminal event";
  EXPECT_FALSE(read_stream(deltas + ev("response.failed", R"({"type":"response.failed","response":{"status":"failed"}})"),
                           *responses_answer_reader()));
  EXPECT_FALSE(read_stream(ev("error", R"({"type":"error","message":"boom"})") + deltas +
                               ev("response.completed", std::string(R"({"type":"response.completed","response":)") + kResponse + "}"),
                           *responses_answer_reader()));
}

}  // namespace
}  // namespace switchboard::api
