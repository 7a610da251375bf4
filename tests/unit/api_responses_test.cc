// The OpenAI Responses API translation (api/responses.h): requests to chat completions, answers
// and the stream's event sequence back, malformed requests.
#include <gtest/gtest.h>

#include "api/responses.h"
#include "api_translate_util.h"

namespace switchboard::api {
namespace {

using namespace testing;

json chat_of(const std::string& body) {
  auto r = parse_responses_request(body);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? json::parse(r->chat_body) : json();
}

TEST(ResponsesRequest, StringInputInstructionsAndLimits) {
  json chat = chat_of(R"({"model":"auto","input":"Hello","instructions":"Be brief.",
    "max_output_tokens":100,"temperature":0.2,"store":true,"metadata":{"a":"b"}})");
  EXPECT_EQ(chat["model"], "auto");
  EXPECT_EQ(chat["messages"],
            json::parse(
                R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}])"));
  EXPECT_EQ(chat["max_tokens"], 100);
  EXPECT_EQ(chat["temperature"], 0.2);
  EXPECT_FALSE(chat.contains("stream"));
  EXPECT_FALSE(chat.contains("store"));
}

TEST(ResponsesRequest, MessageItemsWithPartsAndStream) {
  json chat = chat_of(R"({"model":"m","stream":true,"input":[
    {"role":"developer","content":"sys"},
    {"type":"message","role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_text","text":"b"}]},
    {"role":"assistant","content":[{"type":"output_text","text":"c"}]}]})");
  EXPECT_EQ(
      chat["messages"],
      json::parse(
          R"([{"role":"system","content":"sys"},{"role":"user","content":"a\nb"},{"role":"assistant","content":"c"}])"));
  EXPECT_EQ(chat["stream"], true);
  EXPECT_EQ(chat["stream_options"]["include_usage"], true);
}

TEST(ResponsesRequest, UserImagesBecomeImageUrlParts) {
  json chat = chat_of(R"({"model":"m","input":[{"role":"user","content":[
    {"type":"input_text","text":"What is this?"},
    {"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"},
    {"type":"input_image","image_url":"https://example.com/cat.jpg"}]}]})");
  EXPECT_EQ(chat["messages"], json::parse(R"([{"role":"user","content":[
    {"type":"text","text":"What is this?"},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}},
    {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}])"));
}

TEST(ResponsesRequest, FunctionToolsCallsAndOutputs) {
  json chat = chat_of(R"({"model":"m","tool_choice":"required",
    "tools":[{"type":"function","name":"get_weather","description":"d","parameters":{"type":"object"},"strict":true}],
    "input":[{"role":"user","content":"Weather?"},
             {"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
             {"type":"function_call_output","call_id":"c1","output":"18C"}]})");
  EXPECT_EQ(
      chat["tools"][0],
      json::parse(
          R"({"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object"},"strict":true}})"));
  EXPECT_EQ(chat["tool_choice"], "required");
  const json& m = chat["messages"];
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1]["role"], "assistant");
  EXPECT_EQ(m[1]["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(m[1]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(m[2], json::parse(R"({"role":"tool","tool_call_id":"c1","content":"18C"})"));
}

// A chat answer of text, a call and more text comes back as three items: one assistant turn again,
// the calls' results right after it (it was three assistant messages, which OpenAI refuses).
TEST(ResponsesRequest, AnAssistantTurnOfTextAndCallsIsOneMessage) {
  json chat = chat_of(R"({"model":"m","input":[{"role":"user","content":"Weather?"},
             {"role":"assistant","content":[{"type":"output_text","text":"Let me check. "}]},
             {"type":"function_call","call_id":"c1","name":"w","arguments":"{}"},
             {"type":"function_call","call_id":"c2","name":"w","arguments":"{}"},
             {"role":"assistant","content":[{"type":"output_text","text":"One moment."}]},
             {"type":"function_call_output","call_id":"c1","output":"18C"},
             {"type":"function_call_output","call_id":"c2","output":"20C"},
             {"role":"assistant","content":"Warm."},
             {"role":"assistant","content":"Anything else?"}]})");
  const json& m = chat["messages"];
  ASSERT_EQ(m.size(), 6u) << m.dump();
  EXPECT_EQ(m[1]["role"], "assistant");
  EXPECT_EQ(m[1]["content"], "Let me check. One moment.");
  ASSERT_EQ(m[1]["tool_calls"].size(), 2u);
  EXPECT_EQ(m[1]["tool_calls"][1]["id"], "c2");
  EXPECT_EQ(m[2]["role"], "tool");
  EXPECT_EQ(m[3]["role"], "tool");
  // Assistant messages without calls between them stay apart (the client's own turns).
  EXPECT_EQ(m[4]["content"], "Warm.");
  EXPECT_EQ(m[5]["content"], "Anything else?");
  // Texts not already separated by white space are joined with a blank line.
  json apart = chat_of(R"({"model":"m","input":[{"role":"user","content":"Q"},
             {"role":"assistant","content":"I will look it up."},
             {"type":"function_call","call_id":"c1","name":"w","arguments":"{}"},
             {"role":"assistant","content":"Also checking."},
             {"type":"function_call_output","call_id":"c1","output":"x"}]})");
  EXPECT_EQ(apart["messages"][1]["content"], "I will look it up.\n\nAlso checking.");
}

TEST(ResponsesRequest, TextFormatBecomesResponseFormat) {
  json chat = chat_of(
      R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"r","schema":{"type":"object"},"strict":true}}})");
  EXPECT_EQ(chat["response_format"]["type"], "json_schema");
  EXPECT_EQ(chat["response_format"]["json_schema"]["name"], "r");
  EXPECT_EQ(chat_of(R"({"model":"m","input":"x","text":{"format":{"type":"text"}}})")
                .contains("response_format"),
            false);
}

// What chat completions cannot carry is left out of the chat body and named in native_only
// (the first such part); reasoning items sent back are dropped without it.
TEST(ResponsesRequest, WhatOnlyTheResponsesApiCanCarry) {
  auto r = parse_responses_request(R"({"model":"m","reasoning":{"effort":"high","summary":"auto"},
      "input":[{"role":"user","content":"q"},
        {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"x"},
        {"type":"message","role":"assistant","content":[{"type":"output_text","text":"a"},
          {"type":"refusal","refusal":"no"}]},
        {"role":"user","content":"next"}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->native_only, "");
  const auto chat = nlohmann::json::parse(r->chat_body);
  EXPECT_FALSE(chat.contains("reasoning_effort"));
  EXPECT_FALSE(chat.contains("reasoning"));
  ASSERT_EQ(chat["messages"].size(), 3u);
  EXPECT_EQ(chat["messages"][1]["content"], "a\nno");

  // An inline file (file_data) is a chat file part; by id or URL only natively.
  auto inline_file = parse_responses_request(R"({"model":"m","input":[{"role":"user","content":[
      {"type":"input_file","filename":"r.pdf","file_data":"data:application/pdf;base64,JVBE"},
      {"type":"input_text","text":"summarise"}]}]})");
  ASSERT_TRUE(inline_file) << inline_file.error().message;
  EXPECT_EQ(inline_file->native_only, "");
  EXPECT_EQ(nlohmann::json::parse(inline_file->chat_body)["messages"][0]["content"][0],
            nlohmann::json::parse(R"({"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"r.pdf"}})"));

  struct Case {
    const char* body;
    const char* reason;
  } cases[] = {
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"},{"type":"input_text","text":"x"}]}]})",
       "input[0].content[0]: an input_image without image_url (a file_id)"},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"},{"type":"input_text","text":"x"}]}]})",
       "input[0].content[0]: parts of type \"input_file\""},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:x"},{"type":"input_audio","input_audio":{}}]}]})",
       "input[0].content[1]: parts of type \"input_audio\""},
      {R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"},{"role":"user","content":"x"}]})",
       "input[0]: item_reference 'msg_1' (an item this gateway did not store: its replica's own)"},
      {R"({"model":"m","input":[{"type":"web_search_call","id":"ws_1"},{"role":"user","content":"x"}]})",
       "input[0]: input items of type \"web_search_call\""},
      {R"({"model":"m","input":"x","tools":[{"type":"function","name":"f"},{"type":"web_search"}]})",
       "tools[1]: tools of type \"web_search\""},
      {R"({"model":"m","input":"x","tool_choice":{"type":"file_search"}})",
       "tool_choice of type \"file_search\""},
      {R"({"model":"m","input":"and then?","conversation":"conv_123"})",
       "conversation (history kept by the provider)"},
  };
  for (const auto& c : cases) {
    auto n = parse_responses_request(c.body);
    ASSERT_TRUE(n) << c.body << " -> " << n.error().message;
    EXPECT_EQ(n->native_only, std::string(c.reason) + ": passed only to replicas with api: responses")
        << c.body;
  }
  // The function tool stays; the built-in one is left out.
  EXPECT_EQ(nlohmann::json::parse(parse_responses_request(cases[5].body)->chat_body)["tools"].size(),
            1u);
}

TEST(ResponsesRequest, ReasoningEffortIsKeptApartFromTheChatBody) {
  auto r = parse_responses_request(
      R"({"model":"m","input":"hi","reasoning":{"effort":"high","summary":"auto"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reasoning_effort, "high");
  EXPECT_FALSE(json::parse(r->chat_body).contains("reasoning_effort"));  // not for every model
  auto none = parse_responses_request(R"({"model":"m","input":"hi","reasoning":{"summary":"auto"}})");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->reasoning_effort, "");
  for (const char* bad : {R"({"model":"m","input":"hi","reasoning":"high"})",
                          R"({"model":"m","input":"hi","reasoning":{"effort":3}})"}) {
    auto e = parse_responses_request(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_NE(e.error().message.find("reasoning"), std::string::npos) << e.error().message;
  }
}

TEST(ResponsesRequest, MalformedRequestsAreNamed) {
  struct Case {
    const char* body;
    const char* code;
    const char* says;
  } cases[] = {
      {"nope", "invalid_json", "not valid JSON"},
      {"3", "invalid_request", "JSON object"},
      {R"({"input":"x"})", "invalid_request", "model"},
      {R"({"model":"m"})", "invalid_request", "input is required"},
      {R"({"model":"m","input":[]})", "invalid_request", "input must not be empty"},
      {R"({"model":"m","input":5})", "invalid_request", "input must be"},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":5}]}]})",
       "invalid_request", "input[0].content[0].text"},
      {R"({"model":"m","input":[{"role":"tool","content":"x"}]})", "invalid_request",
       "input[0].role"},
      {R"({"model":"m","input":"x","max_output_tokens":0})", "invalid_request",
       "max_output_tokens"},
      {R"({"model":"m","input":"x","stream":1})", "invalid_request", "stream"},
      {R"({"model":"m","input":"x","tools":[{"name":"f"}]})", "invalid_request", "tools[0]"},
      {R"({"model":"m","input":"x","tool_choice":"sometimes"})", "invalid_request", "tool_choice"},
      {R"({"model":"m","input":"x","max_output_tokens":2666666660})", "invalid_request",
       "max_output_tokens must be an integer between 1 and 2147483648"},
      {R"({"model":"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm","input":"x"})", "invalid_request",
       "model must be at most 256 bytes long"},
      // Nothing a model reads: refused here, not by the chat parser behind it (fuzz_client_apis).
      {R"({"model":"m","input":[{"type":"arch"}]})", "invalid_request", "no item has content"},
      // A non-string type once escaped as an exception (found by fuzz_client_apis).
      {R"({"model":"m","input":"x","tool_choice":{"type":{"type":"function"},"name":"f"}})",
       "invalid_request", "tool_choice"},
      {R"({"model":"m","input":"x","previous_response_id":"resp_1"})", "unsupported_parameter",
       "previous_response_id"},
      {R"({"model":"m","input":[{"type":"function_call","name":"f"}]})", "invalid_request",
       "call_id"},
      // A previous id that is no id is the client's mistake, not a setting of the gateway's (it
      // was answered "not enabled on this gateway"); `store` must be a boolean (was ignored).
      {R"({"model":"m","input":"x","previous_response_id":123})", "invalid_request",
       "previous_response_id must be a non-empty string"},
      {R"({"model":"m","input":"x","previous_response_id":""})", "invalid_request",
       "previous_response_id must be a non-empty string"},
      {R"({"model":"m","input":"x","store":"yes"})", "invalid_request", "store must be a boolean"},
      {R"({"model":"m","input":"x","previous_response_id":"resp_1","conversation":"conv_1"})",
       "invalid_request", "cannot be used together"},
      // Settings the response repeats are checked (they came back as sent).
      {R"({"model":"m","input":"x","parallel_tool_calls":"yes"})", "invalid_request",
       "parallel_tool_calls must be a boolean"},
      {R"({"model":"m","input":"x","text":"plain"})", "invalid_request", "text must be an object"},
      {R"({"model":"m","input":"x","metadata":[1,2]})", "invalid_request", "metadata must be"},
      {R"({"model":"m","input":"x","metadata":{"k":5}})", "invalid_request", "metadata must"},
  };
  for (const auto& c : cases) {
    auto r = parse_responses_request(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.body << " -> " << r.error().message;
  }
}

TEST(ResponsesAnswer, WholeTextAnswer) {
  ResponsesRequest req{"auto", false, "Be brief.", 100, "", ""};
  auto t = responses_translator(&req);
  auto out = t->whole(chat_completion("Hello there"));
  ASSERT_TRUE(out);
  json j = json::parse(*out);
  EXPECT_EQ(j["object"], "response");
  // The gateway's own id, 128 random bits, never the upstream's completion id ("chatcmpl-abc"):
  // stored conversations are found by it alone.
  const std::string id = j["id"];
  EXPECT_EQ(id.size(), 5u + 32u) << id;
  EXPECT_EQ(id.rfind("resp_", 0), 0u) << id;
  EXPECT_NE(id, "resp_abc") << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 5), std::string::npos) << id;
  EXPECT_NE(json::parse(*t->whole(chat_completion("Hello there")))["id"], id) << "unique";
  EXPECT_EQ(j["output"][0]["id"], "msg_" + id.substr(5));
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["model"], "auto");
  EXPECT_EQ(j["instructions"], "Be brief.");
  EXPECT_EQ(j["max_output_tokens"], 100);
  ASSERT_EQ(j["output"].size(), 1u);
  EXPECT_EQ(j["output"][0]["type"], "message");
  EXPECT_EQ(j["output"][0]["role"], "assistant");
  EXPECT_EQ(j["output"][0]["content"][0]["type"], "output_text");
  EXPECT_EQ(j["output"][0]["content"][0]["text"], "Hello there");
  EXPECT_EQ(j["usage"]["input_tokens"], 11);
  EXPECT_EQ(j["usage"]["output_tokens"], 5);
  EXPECT_EQ(j["usage"]["total_tokens"], 16);
}

TEST(ResponsesAnswer, LengthIsIncompleteAndToolCallsAreItems) {
  auto t = responses_translator(nullptr);
  json cut = json::parse(*t->whole(chat_completion("Hel", "length")));
  EXPECT_EQ(cut["status"], "incomplete");
  EXPECT_EQ(cut["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(cut["output"][0]["status"], "incomplete");  // the message the limit cut
  json calls = json::parse(
      R"([{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}])");
  json j = json::parse(*t->whole(chat_completion("", "tool_calls", calls)));
  ASSERT_EQ(j["output"].size(), 1u);
  EXPECT_EQ(j["output"][0]["type"], "function_call");
  EXPECT_EQ(j["output"][0]["call_id"], "call_1");
  EXPECT_EQ(j["output"][0]["name"], "get_weather");
  EXPECT_EQ(j["output"][0]["arguments"], R"({"city":"Paris"})");
}

// A content filter's stop is an incomplete response (OpenAI's reason content_filter), whole and
// streamed; it was "completed", as if the answer were whole.
TEST(ResponsesAnswer, AContentFilterStopIsIncomplete) {
  auto t = responses_translator(nullptr);
  json j = json::parse(*t->whole(chat_completion("Part", "content_filter")));
  EXPECT_EQ(j["status"], "incomplete");
  EXPECT_EQ(j["incomplete_details"]["reason"], "content_filter");
  EXPECT_EQ(j["output"][0]["status"], "incomplete");
  auto s = responses_translator(nullptr);
  const auto events = parse_events(run_stream(
      *s, {chunk({{"content", "Part"}}), chunk(json::object(), "content_filter"), "[DONE]"}));
  EXPECT_EQ(events.back().name, "response.incomplete");
  EXPECT_EQ(events.back().data["response"]["incomplete_details"]["reason"], "content_filter");
  EXPECT_EQ(events.back().data["response"]["output"][0]["status"], "incomplete");
}

// The response repeats the settings the client sent (they were the defaults whatever was sent);
// metadata shaped like the final event's output cannot stand in for it.
TEST(ResponsesAnswer, TheRequestsSettingsAreRepeated) {
  auto r = parse_responses_request(
      R"({"model":"m","input":"x","temperature":0.3,"top_p":0.9,"metadata":{"output":"[]"},)"
      R"("tool_choice":"required","text":{"format":{"type":"json_object"}},)"
      R"("tools":[{"type":"function","name":"get_w","parameters":{"type":"object"}}]})");
  ASSERT_TRUE(r) << r.error().message;
  auto check = [](const json& resp) {
    EXPECT_EQ(resp["temperature"], 0.3);
    EXPECT_EQ(resp["top_p"], 0.9);
    EXPECT_EQ(resp["metadata"], json::parse(R"({"output":"[]"})"));
    EXPECT_EQ(resp["tool_choice"], "required");
    EXPECT_EQ(resp["text"]["format"]["type"], "json_object");
    ASSERT_EQ(resp["tools"].size(), 1u);
    EXPECT_EQ(resp["tools"][0]["name"], "get_w");
  };
  auto t = responses_translator(&*r);
  check(json::parse(*t->whole(chat_completion("{}", "stop"))));
  // A `text` without a format keeps the default format beside what it set.
  auto verbose = parse_responses_request(R"({"model":"m","input":"x","text":{"verbosity":"low"}})");
  ASSERT_TRUE(verbose);
  json v = json::parse(*responses_translator(&*verbose)->whole(chat_completion("ok", "stop")));
  EXPECT_EQ(v["text"], json::parse(R"({"verbosity":"low","format":{"type":"text"}})"));
  auto s = responses_translator(&*r);
  const auto events = parse_events(
      run_stream(*s, {chunk({{"content", "{}"}}), chunk(json::object(), "stop"), "[DONE]"}));
  check(events.front().data["response"]);
  check(events.back().data["response"]);
  EXPECT_EQ(events.back().data["response"]["output"][0]["content"][0]["text"], "{}");
}

// A tool call the upstream sent without an id gets one (the client's function_call_output must
// name it; it was "").
TEST(ResponsesAnswer, AToolCallWithoutAnIdGetsOne) {
  auto t = responses_translator(nullptr);
  json j = json::parse(*t->whole(chat_completion("", "tool_calls", calls_without_ids())));
  ASSERT_EQ(j["output"].size(), 2u);
  const std::string a = j["output"][0]["call_id"], b = j["output"][1]["call_id"];
  EXPECT_EQ(a.rfind("call_", 0), 0u) << a;
  EXPECT_NE(a, b);
  auto s = responses_translator(nullptr);
  const auto events = parse_events(run_stream(*s, tool_stream_without_id()));
  const std::string streamed = events.back().data["response"]["output"][0]["call_id"];
  EXPECT_EQ(streamed.rfind("call_", 0), 0u) << streamed;
  EXPECT_EQ(events[2].data["item"]["call_id"], streamed);
}

TEST(ResponsesStream, TextEventSequence) {
  ResponsesRequest req{"auto", true, "", std::nullopt, "", ""};
  auto t = responses_translator(&req);
  auto events = parse_events(run_stream(*t, text_stream()));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"response.created", "response.in_progress",
                                      "response.output_item.added", "response.content_part.added",
                                      "response.output_text.delta", "response.output_text.delta",
                                      "response.output_text.done", "response.content_part.done",
                                      "response.output_item.done", "response.completed"}));
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].data["type"], events[i].name);
    EXPECT_EQ(events[i].data["sequence_number"], i);
  }
  EXPECT_EQ(events[0].data["response"]["status"], "in_progress");
  EXPECT_EQ(events[4].data["delta"], "Hel");
  EXPECT_EQ(events[5].data["delta"], "lo");
  EXPECT_EQ(events[6].data["text"], "Hello");
  const json& done = events.back().data["response"];
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["model"], "auto");
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Hello");
  EXPECT_EQ(done["usage"]["output_tokens"], 5);
  EXPECT_EQ(done["id"], events[0].data["response"]["id"]);
}

// A chat refusal is a message whose part is a refusal, whole and streamed (refusal delta and
// done events); it was an empty output_text, and no message at all when streamed.
TEST(ResponsesAnswer, ARefusalIsARefusalPart) {
  json j = json::parse(*responses_translator(nullptr)->whole(refusal_completion()));
  EXPECT_EQ(j["output"][0]["content"], json::parse(R"([{"type":"refusal","refusal":"I cannot."}])"));
  auto events = parse_events(run_stream(*responses_translator(nullptr), refusal_stream()));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"response.created", "response.in_progress",
                                      "response.output_item.added", "response.content_part.added",
                                      "response.refusal.delta", "response.refusal.delta",
                                      "response.refusal.done", "response.content_part.done",
                                      "response.output_item.done", "response.completed"}));
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].data["sequence_number"], i);
  EXPECT_EQ(events[3].data["part"], json::parse(R"({"type":"refusal","refusal":""})"));
  EXPECT_EQ(events[6].data["refusal"], "I cannot.");
  EXPECT_EQ(events.back().data["response"]["output"][0]["content"][0]["refusal"], "I cannot.");
}

TEST(ResponsesAnswer, ReasoningIsAReasoningItemBeforeTheMessage) {
  for (const char* key : {"reasoning_content", "reasoning"}) {
    json j = json::parse(*responses_translator(nullptr)->whole(reasoning_completion(key)));
    ASSERT_EQ(j["output"].size(), 2u) << key;
    const std::string suffix = j["id"].get<std::string>().substr(5);
    EXPECT_EQ(j["output"][0], (json{{"type", "reasoning"},
                                    {"id", "rs_" + suffix},
                                    {"summary", json::array()},
                                    {"content", json::parse(
                                                    R"([{"type":"reasoning_text","text":"Thinking."}])")}}));
    EXPECT_EQ(j["output"][1]["content"][0]["text"], "Hello");
    EXPECT_EQ(j["usage"]["input_tokens_details"]["cached_tokens"], 4);
    EXPECT_EQ(j["usage"]["output_tokens_details"]["reasoning_tokens"], 3);
  }
  // No reasoning: no reasoning item, and zero details.
  json plain = json::parse(*responses_translator(nullptr)->whole(chat_completion("Hello")));
  ASSERT_EQ(plain["output"].size(), 1u);
  EXPECT_EQ(plain["output"][0]["type"], "message");
  EXPECT_EQ(plain["usage"]["output_tokens_details"]["reasoning_tokens"], 0);
}

TEST(ResponsesStream, ReasoningTextEventsThenTheMessage) {
  auto events = parse_events(run_stream(*responses_translator(nullptr), reasoning_stream()));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{
                "response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.reasoning_text.delta",
                "response.reasoning_text.delta", "response.reasoning_text.done",
                "response.content_part.done", "response.output_item.done",
                "response.output_item.added", "response.content_part.added",
                "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done",
                "response.output_item.done", "response.completed"}));
  for (std::size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i].data["sequence_number"], i);
  const std::string id = events[2].data["item"]["id"];
  EXPECT_EQ(id.rfind("rs_", 0), 0u) << id;
  EXPECT_EQ(events[2].data["item"]["type"], "reasoning");
  EXPECT_EQ(events[3].data["part"], json::parse(R"({"type":"reasoning_text","text":""})"));
  EXPECT_EQ(events[4].data["delta"], "Think");
  EXPECT_EQ(events[4].data["item_id"], id);
  EXPECT_EQ(events[4].data["output_index"], 0);
  EXPECT_EQ(events[6].data["text"], "Thinking.");
  EXPECT_EQ(events[8].data["item"]["content"][0]["text"], "Thinking.");
  EXPECT_EQ(events[9].data["output_index"], 1);
  const json& done = events.back().data["response"];
  ASSERT_EQ(done["output"].size(), 2u);
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Thinking.");
  EXPECT_EQ(done["output"][1]["content"][0]["text"], "Hello");
  EXPECT_EQ(done["usage"]["output_tokens_details"]["reasoning_tokens"], 3);
  EXPECT_EQ(done["usage"]["input_tokens_details"]["cached_tokens"], 4);
}

TEST(ResponsesStream, TextAgainAfterReasoningIsANewMessageWithItsOwnText) {
  const std::vector<std::string> s = {chunk({{"content", "First."}}),
                                      chunk({{"reasoning_content", "Hmm."}}),
                                      chunk({{"content", "Second."}}), chunk(json::object(), "stop"),
                                      "[DONE]"};
  auto events = parse_events(run_stream(*responses_translator(nullptr), s));
  const json& output = events.back().data["response"]["output"];
  ASSERT_EQ(output.size(), 3u);
  EXPECT_EQ(output[0]["type"], "message");
  EXPECT_EQ(output[0]["content"][0]["text"], "First.");
  EXPECT_EQ(output[1]["type"], "reasoning");
  EXPECT_EQ(output[2]["type"], "message");
  EXPECT_EQ(output[2]["content"][0]["text"], "Second.");
  EXPECT_NE(output[0]["id"], output[2]["id"]);
  std::vector<std::string> done_texts;
  for (const auto& e : events)
    if (e.name == "response.output_text.done") done_texts.push_back(e.data["text"]);
  EXPECT_EQ(done_texts, (std::vector<std::string>{"First.", "Second."}));
}

TEST(ResponsesStream, FunctionCallEvents) {
  auto t = responses_translator(nullptr);
  auto events = parse_events(run_stream(*t, tool_stream()));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{
                "response.created", "response.in_progress", "response.output_item.added",
                "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done",
                "response.completed"}));
  EXPECT_EQ(events[2].data["item"]["type"], "function_call");
  EXPECT_EQ(events[2].data["item"]["call_id"], "call_1");
  EXPECT_EQ(events[5].data["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(events[5].data["name"], "get_weather");
  EXPECT_EQ(events.back().data["response"]["output"][0]["status"], "completed");
  EXPECT_EQ(events.back().data["response"]["output"][0]["arguments"], R"({"city":"Paris"})");
}

// The final response lists every closed item in order (they are kept serialised, not as trees),
// and an `"output":[]` in the client's instructions is not where they go.
TEST(ResponsesStream, ManyItemsReachTheFinalResponseInOrder) {
  ResponsesRequest r;
  r.model = "m";
  r.instructions = R"(answer with "output":[] and nothing else)";
  auto t = responses_translator(&r);
  std::vector<std::string> s = {chunk({{"reasoning_content", "Plan."}})};
  for (int i = 0; i < 50; ++i)
    s.push_back(chunk({{"tool_calls",
                        {{{"index", i},
                          {"id", "call_" + std::to_string(i)},
                          {"type", "function"},
                          {"function", {{"name", "f"}, {"arguments", "{\"i\":" + std::to_string(i) + "}"}}}}}}}));
  s.push_back(chunk({{"content", "Done."}}));
  s.push_back(chunk(json::object(), "stop"));
  s.push_back("[DONE]");
  const auto events = parse_events(run_stream(*t, s));
  const json& done = events.back().data["response"];
  EXPECT_EQ(done["instructions"], r.instructions);
  ASSERT_EQ(done["output"].size(), 52u);
  EXPECT_EQ(done["output"][0]["type"], "reasoning");
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(done["output"][i + 1]["call_id"], "call_" + std::to_string(i));
    EXPECT_EQ(done["output"][i + 1]["arguments"], "{\"i\":" + std::to_string(i) + "}");
    EXPECT_EQ(done["output"][i + 1]["status"], "completed");
  }
  EXPECT_EQ(done["output"][51]["content"][0]["text"], "Done.");
  // Each item as its output_item.done event gave it.
  std::size_t k = 0;
  for (const auto& e : events)
    if (e.name == "response.output_item.done") {
      EXPECT_EQ(e.data["item"], done["output"][k++]);
    }
  EXPECT_EQ(k, 52u);
}

TEST(ResponsesStream, LengthEndsIncompleteAndErrorsEndTheStream) {
  auto t = responses_translator(nullptr);
  std::string out = t->event(chunk({{"content", "x"}}));
  out += t->event(chunk(json::object(), "length"));
  out += t->finish();
  EXPECT_EQ(names(parse_events(out)).back(), "response.incomplete");
  EXPECT_EQ(parse_events(out).back().data["response"]["output"][0]["status"], "incomplete");

  auto t2 = responses_translator(nullptr);
  t2->event(chunk({{"content", "x"}}));
  auto err = parse_events(t2->event(R"({"error":{"message":"overloaded"}})"));
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0].name, "error");
  EXPECT_EQ(err[0].data["message"], "overloaded");
  EXPECT_EQ(t2->finish(), "");
}

// Token logprobs: asked for with include (and top_logprobs), sent upstream as chat's logprobs,
// and returned on the answer's output_text, whole and per text delta.
TEST(ResponsesRequest, IncludeLogprobsAsksChatForThem) {
  json chat = chat_of(R"({"model":"m","input":"hi","include":["message.output_text.logprobs"],
                          "top_logprobs":3})");
  EXPECT_EQ(chat["logprobs"], true);
  EXPECT_EQ(chat["top_logprobs"], 3);
  EXPECT_EQ(chat_of(R"({"model":"m","input":"hi","top_logprobs":2})")["logprobs"], true);
  for (const char* body : {R"({"model":"m","input":"hi"})",
                           R"({"model":"m","input":"hi","include":["reasoning.encrypted_content"]})",
                           R"({"model":"m","input":"hi","top_logprobs":0})"}) {
    json c = chat_of(body);
    EXPECT_FALSE(c.contains("logprobs")) << body;
    EXPECT_FALSE(c.contains("top_logprobs")) << body;
  }
  for (const char* bad : {R"({"model":"m","input":"hi","include":"message.output_text.logprobs"})",
                          R"({"model":"m","input":"hi","include":[1]})",
                          R"({"model":"m","input":"hi","top_logprobs":21})",
                          R"({"model":"m","input":"hi","top_logprobs":1.5})"}) {
    auto r = parse_responses_request(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid_request") << bad;
  }
}

json token(const std::string& t, double lp) {
  return {{"token", t}, {"logprob", lp}, {"bytes", json::array()},
          {"top_logprobs", {{{"token", t}, {"logprob", lp}, {"bytes", json::array()}}}}};
}

TEST(ResponsesAnswer, LogprobsOnTheOutputTextWhenAsked) {
  json body = json::parse(chat_completion("Hello"));
  body["choices"][0]["logprobs"] = {{"content", {token("Hel", -0.1), token("lo", -0.2)}}};
  auto req = parse_responses_request(
      R"({"model":"m","input":"hi","include":["message.output_text.logprobs"]})");
  ASSERT_TRUE(req);
  json j = json::parse(*responses_translator(&*req)->whole(body.dump()));
  const json& lp = j["output"][0]["content"][0]["logprobs"];
  ASSERT_EQ(lp.size(), 2u) << j.dump();
  EXPECT_EQ(lp[0]["token"], "Hel");
  EXPECT_EQ(lp[1]["logprob"], -0.2);
  EXPECT_EQ(lp[1]["top_logprobs"][0]["token"], "lo");
  // Not asked for: none, whatever the upstream sent.
  auto plain = parse_responses_request(R"({"model":"m","input":"hi"})");
  json k = json::parse(*responses_translator(&*plain)->whole(body.dump()));
  EXPECT_EQ(k["output"][0]["content"][0]["logprobs"], json::array());
}

TEST(ResponsesStream, LogprobsRideWithTheirDeltas) {
  auto req = parse_responses_request(
      R"({"model":"m","input":"hi","stream":true,"include":["message.output_text.logprobs"]})");
  ASSERT_TRUE(req);
  auto t = responses_translator(&*req);
  auto with_lp = [](const std::string& text, double lp) {
    json c = json::parse(chunk({{"content", text}}));
    c["choices"][0]["logprobs"] = {{"content", {token(text, lp)}}};
    return c.dump();
  };
  auto events = parse_events(run_stream(
      *t, {chunk({{"role", "assistant"}, {"content", ""}}), with_lp("Hel", -0.1), with_lp("lo", -0.2),
           chunk(json::object(), "stop"), usage_chunk(), "[DONE]"}));
  std::vector<json> deltas;
  json done, final_text;
  for (const auto& e : events) {
    if (e.name == "response.output_text.delta") deltas.push_back(e.data["logprobs"]);
    if (e.name == "response.output_text.done") done = e.data["logprobs"];
    if (e.name == "response.completed") final_text = e.data["response"]["output"][0]["content"][0];
  }
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[0][0]["token"], "Hel");
  EXPECT_EQ(deltas[1][0]["logprob"], -0.2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(final_text["logprobs"].size(), 2u);
  EXPECT_EQ(final_text["text"], "Hello");
}

// Settings chat completions has too: text.verbosity as chat's `verbosity`, an allowed_tools
// tool_choice as chat's; max_tool_calls (a bound on built-in tool calls, which only a Responses
// replica runs) accepted and repeated. They were left out without a word.
TEST(ResponsesRequest, VerbosityAllowedToolsAndMaxToolCalls) {
  auto r = parse_responses_request(R"({"model":"m","input":"x","max_tool_calls":2,
      "text":{"verbosity":"low"},"tools":[{"type":"function","name":"f"},{"type":"function","name":"g"}],
      "tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"g"}]}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->native_only, "");
  const json chat = json::parse(r->chat_body);
  EXPECT_EQ(chat["verbosity"], "low");
  EXPECT_EQ(chat["tool_choice"], json::parse(R"({"type":"allowed_tools","allowed_tools":
      {"mode":"required","tools":[{"type":"function","function":{"name":"g"}}]}})"));
  EXPECT_FALSE(chat.contains("max_tool_calls"));
  const json echoed = json::parse(r->echoed);
  EXPECT_EQ(echoed["max_tool_calls"], 2);
  EXPECT_EQ(echoed["text"]["verbosity"], "low");
  // A stored prompt template is filled in by the provider, and an allowed tool of a built-in
  // type only a Responses replica runs: native-only (they were dropped without a word).
  struct Native {
    const char* body;
    const char* reason;
  } native[] = {
      {R"({"model":"m","input":"x","prompt":{"id":"pmpt_1","version":"2","variables":{"city":"Paris"}}})",
       "prompt (a prompt template stored by the provider)"},
      {R"({"model":"m","input":"x","tools":[{"type":"function","name":"f"}],
          "tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"f"},{"type":"web_search"}]}})",
       "tool_choice.tools[1]: tools of type \"web_search\""},
  };
  for (const auto& c : native) {
    auto n = parse_responses_request(c.body);
    ASSERT_TRUE(n) << c.body << " -> " << n.error().message;
    EXPECT_EQ(n->native_only, std::string(c.reason) + ": passed only to replicas with api: responses");
  }
  for (const char* bad :
       {R"({"model":"m","input":"x","text":{"verbosity":"loud"}})",
        R"({"model":"m","input":"x","max_tool_calls":-1})",
        R"({"model":"m","input":"x","max_tool_calls":"2"})",
        R"({"model":"m","input":"x","tool_choice":{"type":"allowed_tools","mode":"none","tools":[{"type":"function","name":"f"}]}})",
        R"({"model":"m","input":"x","tool_choice":{"type":"allowed_tools","mode":"auto","tools":[]}})",
        R"({"model":"m","input":"x","tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function"}]}})"}) {
    auto b = parse_responses_request(bad);
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error().kind, ErrorKind::kBadRequest) << bad;
  }
}

TEST(ResponsesErrors, OpenAIShape) {
  auto t = responses_translator(nullptr);
  json j = json::parse(t->error_body(make_error(ErrorKind::kBadRequest, "invalid_request", "bad")));
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["code"], "invalid_request");
}

}  // namespace
}  // namespace switchboard::api
