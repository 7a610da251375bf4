// Chat completions over an OpenAI Responses upstream (api/chat_to_responses.h): the request as
// Responses input items, the answers (whole, streamed, errors) read back as chat completions.
#include "api/chat_to_responses.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace switchboard::api {
namespace {

using json = nlohmann::json;

json request(const json& chat) {
  auto r = chat_to_responses_request(chat.dump(), "gpt-x");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? json::parse(*r) : json();
}

TEST(ChatToResponses, MessagesToolsFormatsAndSettings) {
  const json r = request(json::parse(R"({
    "model":"auto","max_completion_tokens":50,"temperature":0.2,"top_p":0.5,"user":"u",
    "parallel_tool_calls":false,"stream":true,
    "messages":[
      {"role":"system","content":"Rules."},
      {"role":"developer","content":[{"type":"text","text":"Dev."}]},
      {"role":"user","content":[{"type":"text","text":"Look"},
        {"type":"image_url","image_url":{"url":"https://x/a.png","detail":"high"}}]},
      {"role":"assistant","content":"Calling.","tool_calls":[
        {"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"42"}],
    "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"},"strict":true}}],
    "tool_choice":{"type":"function","function":{"name":"f"}},
    "response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"},"strict":true}}})"));
  EXPECT_EQ(r["model"], "gpt-x");
  EXPECT_EQ(r["store"], false);
  EXPECT_EQ(r["max_output_tokens"], 50);
  EXPECT_DOUBLE_EQ(r["temperature"].get<double>(), 0.2);
  EXPECT_EQ(r["parallel_tool_calls"], false);
  EXPECT_EQ(r["user"], "u");
  EXPECT_EQ(r["stream"], true);
  EXPECT_EQ(r["input"], json::parse(R"([
    {"type":"message","role":"system","content":"Rules."},
    {"type":"message","role":"developer","content":"Dev."},
    {"type":"message","role":"user","content":[{"type":"input_text","text":"Look"},
      {"type":"input_image","image_url":"https://x/a.png","detail":"high"}]},
    {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Calling."}]},
    {"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},
    {"type":"function_call_output","call_id":"c1","output":"42"}])"));
  EXPECT_EQ(r["tools"], json::parse(
      R"([{"type":"function","name":"f","description":"d","parameters":{"type":"object"},"strict":true}])"));
  EXPECT_EQ(r["tool_choice"], json::parse(R"({"type":"function","name":"f"})"));
  EXPECT_EQ(r["text"], json::parse(
      R"({"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}})"));
}

TEST(ChatToResponses, NullOptionalFieldsAreAbsentNotErrors) {
  const json r = request(json::parse(R"({"model":"a","stream":null,"logprobs":null,"stop":null,
    "parallel_tool_calls":null,"response_format":{"type":null},"temperature":null,"user":null,
    "messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_FALSE(r.contains("stream"));
  EXPECT_FALSE(r.contains("temperature"));
  EXPECT_FALSE(r.contains("text"));
}

TEST(ChatToResponses, FilePartsBecomeInputFiles) {
  const json chat = {{"messages",
                      {{{"role", "user"},
                        {"content",
                         {{{"type", "text"}, {"text", "summarise"}},
                          {{"type", "file"}, {"file", {{"filename", "a.pdf"}, {"file_data", "data:application/pdf;base64,JVBE"}}}},
                          {{"type", "file"}, {"file", {{"file_id", "file-1"}}}}}}}}}};
  auto r = chat_to_responses_request(chat.dump(), "m");
  ASSERT_TRUE(r) << r.error().message;
  const json parts = json::parse(*r)["input"][0]["content"];
  EXPECT_EQ(parts[1], (json{{"type", "input_file"}, {"filename", "a.pdf"}, {"file_data", "data:application/pdf;base64,JVBE"}}));
  EXPECT_EQ(parts[2], (json{{"type", "input_file"}, {"file_id", "file-1"}}));
  auto bad = chat_to_responses_request(
      json{{"messages", {{{"role", "user"}, {"content", {{{"type", "file"}, {"file", json::object()}}}}}}}}.dump(), "m");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("file_data or file_id"), std::string::npos);
}

TEST(ChatToResponses, RefusesWhatItCannotCarry) {
  const json hi = {{{"role", "user"}, {"content", "hi"}}};
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"messages", hi}, {"n", 3}}, "n other than 1"},
      {{{"messages", hi}, {"stop", "END"}}, "no stop sequences"},
      {{{"messages", hi}, {"tools", {{{"type", "custom"}}}}}, "only function tools"},
      {{{"messages", {{{"role", "user"}, {"content", {{{"type", "input_audio"}}}}}}}}, "'input_audio'"},
  };
  for (const auto& [chat, needle] : cases) {
    auto r = chat_to_responses_request(chat.dump(), "m");
    ASSERT_FALSE(r) << chat.dump();
    EXPECT_EQ(r.error().code, "unsupported_for_responses");
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(chat_to_responses_request("[1]", "m"));
  EXPECT_FALSE(chat_to_responses_request(R"({"messages":[{"role":"tool","content":"x"}]})", "m"));
}

TEST(ResponsesToChat, WholeAnswers) {
  auto reader = responses_to_chat(false);
  auto c = reader->whole(R"({"id":"resp_1","object":"response","created_at":1700000000,
    "model":"gpt-x","status":"completed","output":[
      {"type":"reasoning","summary":[]},
      {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi "},{"type":"output_text","text":"there"}]},
      {"type":"function_call","call_id":"c9","name":"f","arguments":"{}"}],
    "usage":{"input_tokens":12,"output_tokens":3,"total_tokens":15}})");
  ASSERT_TRUE(c);
  json j = json::parse(*c);
  EXPECT_EQ(j["id"], "resp_1");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hi there");
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["id"], "c9");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(j["usage"], json::parse(R"({"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,
    "prompt_tokens_details":{"cached_tokens":0}})"));

  c = reader->whole(R"({"object":"response","status":"incomplete",
    "incomplete_details":{"reason":"max_output_tokens"},"output":[
      {"type":"message","content":[{"type":"output_text","text":"cut"}]}]})");
  ASSERT_TRUE(c);
  EXPECT_EQ(json::parse(*c)["choices"][0]["finish_reason"], "length");
  c = reader->whole(R"({"object":"response","status":"completed","output":[
      {"type":"message","content":[{"type":"refusal","refusal":"No."}]}]})");
  ASSERT_TRUE(c);
  EXPECT_EQ(json::parse(*c)["choices"][0]["message"]["refusal"], "No.");
  for (const char* bad : {"", "[]", R"({"object":"chat.completion"})", R"({"object":"response"})"}) {
    auto r = reader->whole(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "upstream_bad_answer");
  }
  EXPECT_EQ(json::parse(reader->error_body(R"({"error":{"message":"nope","type":"x"}})"))["error"]["message"],
            "nope");
  EXPECT_EQ(json::parse(reader->error_body("oops"))["error"]["message"], "oops");
}

std::vector<json> chunks_of(UpstreamToChat& r, const std::vector<std::string>& events, bool* done) {
  std::vector<json> out;
  *done = false;
  for (const auto& e : events) {
    const std::string sse = r.event(e);
    std::size_t pos = 0;
    while ((pos = sse.find("data: ", pos)) != std::string::npos) {
      const auto end = sse.find("\n\n", pos);
      const std::string data = sse.substr(pos + 6, end - pos - 6);
      if (data == "[DONE]") *done = true;
      else out.push_back(json::parse(data));
      pos = end;
    }
  }
  return out;
}

const std::vector<std::string> kStream = {
    R"({"type":"response.created","response":{"id":"resp_s","model":"gpt-x","status":"in_progress"}})",
    R"({"type":"response.in_progress","response":{}})",
    R"({"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning"}})",
    R"({"type":"response.output_item.added","output_index":1,"item":{"type":"message"}})",
    R"({"type":"response.output_text.delta","output_index":1,"delta":"Hel"})",
    R"({"type":"response.output_text.delta","output_index":1,"delta":"lo"})",
    R"({"type":"response.output_item.added","output_index":2,"item":{"type":"function_call","call_id":"c1","name":"f","arguments":""}})",
    R"({"type":"response.function_call_arguments.delta","output_index":2,"delta":"{\"a\""})",
    R"({"type":"response.function_call_arguments.delta","output_index":2,"delta":":1}"})",
    R"({"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":4,"output_tokens":6}}})",
    R"({"type":"response.output_text.delta","delta":"late"})"};

TEST(ResponsesToChat, StreamTextToolCallFinishUsageThenNothing) {
  auto reader = responses_to_chat(false);
  bool done = false;
  const auto c = chunks_of(*reader, kStream, &done);
  ASSERT_TRUE(done);
  ASSERT_EQ(c.size(), 7u);  // role, 2 texts, the call's start, 2 argument deltas, finish
  EXPECT_EQ(c[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(c[0]["id"], "resp_s");
  EXPECT_EQ(c[1]["choices"][0]["delta"]["content"], "Hel");
  EXPECT_EQ(c[3]["choices"][0]["delta"]["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(c[3]["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
  EXPECT_EQ(c[5]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], ":1}");
  EXPECT_EQ(c[6]["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(c[6]["usage"]["total_tokens"], 10);

  auto asked = responses_to_chat(true);
  const auto u = chunks_of(*asked, kStream, &done);
  ASSERT_EQ(u.size(), 8u);
  EXPECT_FALSE(u[6].contains("usage"));
  EXPECT_EQ(u[7]["choices"], json::array());
  EXPECT_EQ(u[7]["usage"]["prompt_tokens"], 4);
}

// A streamed refusal reaches chat clients as delta.refusal pieces (it was dropped: the whole answer
// carried it, the stream did not).
TEST(ResponsesToChat, AStreamedRefusalIsDeltaRefusal) {
  auto reader = responses_to_chat(false);
  bool done = false;
  const auto c = chunks_of(
      *reader,
      {R"({"type":"response.created","response":{"id":"resp_r","model":"gpt-x"}})",
       R"({"type":"response.refusal.delta","item_id":"m","output_index":0,"content_index":0,"delta":"No."})",
       R"({"type":"response.completed","response":{"status":"completed","output":[]}})"},
      &done);
  ASSERT_TRUE(done);
  ASSERT_GE(c.size(), 2u);
  EXPECT_EQ(c[1]["choices"][0]["delta"]["refusal"], "No.");
}

// A chat client's logprobs ask the Responses upstream for output_text logprobs; they come back as
// the choice's logprobs.content, whole and per streamed delta.
TEST(ResponsesToChat, LogprobsBothWays) {
  const json hi = {{{"role", "user"}, {"content", "hi"}}};
  const json r = request({{"messages", hi}, {"logprobs", true}, {"top_logprobs", 2}});
  EXPECT_EQ(r["include"], json::array({"message.output_text.logprobs"}));
  EXPECT_EQ(r["top_logprobs"], 2);
  EXPECT_FALSE(request({{"messages", hi}, {"logprobs", false}}).contains("include"));
  EXPECT_FALSE(chat_to_responses_request(
      json{{"messages", hi}, {"logprobs", true}, {"top_logprobs", 99}}.dump(), "m"));

  const json lp = json::parse(
      R"([{"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.5,"bytes":[72,105]}]}])");
  json answer = {{"object", "response"}, {"id", "resp_l"}, {"model", "gpt-x"}, {"status", "completed"},
                 {"output", {{{"type", "message"}, {"role", "assistant"},
                              {"content", {{{"type", "output_text"}, {"text", "Hi"}, {"logprobs", lp}}}}}}}};
  auto whole = responses_to_chat(false)->whole(answer.dump());
  ASSERT_TRUE(whole);
  const json c = json::parse(*whole);
  EXPECT_EQ(c["choices"][0]["logprobs"]["content"], lp);
  answer["output"][0]["content"][0]["logprobs"] = json::array();
  EXPECT_FALSE(json::parse(*responses_to_chat(false)->whole(answer.dump()))["choices"][0].contains("logprobs"));

  auto reader = responses_to_chat(false);
  reader->event(R"({"type":"response.created","response":{"id":"resp_l","model":"gpt-x"}})");
  const std::string chunk = reader->event(
      json{{"type", "response.output_text.delta"}, {"delta", "Hi"}, {"logprobs", lp}}.dump());
  const json d = json::parse(chunk.substr(6));
  EXPECT_EQ(d["choices"][0]["delta"]["content"], "Hi");
  EXPECT_EQ(d["choices"][0]["logprobs"]["content"], lp);
}

TEST(ResponsesToChat, ReasoningBothWays) {
  // reasoning_effort → reasoning.effort.
  json chat = {{"model", "m"},
               {"reasoning_effort", "low"},
               {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  EXPECT_EQ(request(chat)["reasoning"], json::parse(R"({"effort":"low"})"));
  chat.erase("reasoning_effort");
  EXPECT_FALSE(request(chat).contains("reasoning"));
  // Reasoning items → reasoning_content: their text, else their summary's.
  for (auto [item, text] : std::vector<std::pair<const char*, const char*>>{
           {R"({"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"step 1"}]})", "step 1"},
           {R"({"type":"reasoning","summary":[{"type":"summary_text","text":"in short"}]})", "in short"}}) {
    auto c = responses_to_chat(false)->whole(
        std::string(R"({"object":"response","status":"completed","output":[)") + item +
        R"(,{"type":"message","content":[{"type":"output_text","text":"42"}]}]})");
    ASSERT_TRUE(c);
    EXPECT_EQ(json::parse(*c)["choices"][0]["message"]["reasoning_content"], text) << item;
  }
  auto reader = responses_to_chat(false);
  bool done = false;
  const auto c = chunks_of(
      *reader,
      {R"({"type":"response.created","response":{"id":"r","model":"m"}})",
       R"({"type":"response.reasoning_text.delta","output_index":0,"delta":"thin"})",
       R"({"type":"response.reasoning_summary_text.delta","output_index":0,"delta":"king"})",
       R"({"type":"response.output_text.delta","output_index":1,"delta":"42"})",
       R"({"type":"response.completed","response":{"status":"completed"}})"},
      &done);
  ASSERT_TRUE(done);
  // The reasoning's text; its summary only when no text came (as a whole answer reads it).
  EXPECT_EQ(c[1]["choices"][0]["delta"], json::parse(R"({"reasoning_content":"thin"})"));
  EXPECT_EQ(c[2]["choices"][0]["delta"]["content"], "42");
  auto summary_only = responses_to_chat(false);
  const auto d = chunks_of(
      *summary_only,
      {R"({"type":"response.created","response":{"id":"r","model":"m"}})",
       R"({"type":"response.reasoning_summary_text.delta","output_index":0,"delta":"in short"})",
       R"({"type":"response.completed","response":{"status":"completed"}})"},
      &done);
  EXPECT_EQ(d[1]["choices"][0]["delta"], json::parse(R"({"reasoning_content":"in short"})"));
}

TEST(ResponsesToChat, FailedAndErrorEvents) {
  auto reader = responses_to_chat(false);
  bool done = false;
  auto c = chunks_of(*reader,
                     {R"({"type":"response.created","response":{"id":"r"}})",
                      R"({"type":"response.failed","response":{"error":{"code":"server_error","message":"boom"}}})"},
                     &done);
  EXPECT_FALSE(done);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1]["error"]["message"], "boom");
  auto other = responses_to_chat(false);
  c = chunks_of(*other, {"garbage", R"({"type":"error","code":"rate_limit","message":"slow down"})"}, &done);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["error"]["type"], "rate_limit");
}

}  // namespace
}  // namespace switchboard::api
