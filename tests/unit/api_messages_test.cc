// The Anthropic Messages API translation (api/messages.h): requests to chat completions, answers
// and stream events back, errors in Anthropic's shape, malformed requests.
#include <gtest/gtest.h>

#include "api/messages.h"
#include "api_translate_util.h"

namespace switchboard::api {
namespace {

using namespace testing;

json chat_of(const std::string& body) {
  auto r = parse_messages_request(body);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? json::parse(r->chat_body) : json();
}

TEST(MessagesRequest, SystemMessagesStopAndParameters) {
  json chat = chat_of(R"({"model":"auto","max_tokens":64,"system":"Be brief.",
    "messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"text","text":"Hello"}]},
                {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
    "stop_sequences":["END"],"temperature":0.5,"top_k":3})");
  EXPECT_EQ(chat["model"], "auto");
  EXPECT_EQ(chat["max_tokens"], 64);
  EXPECT_EQ(chat["stop"], json::array({"END"}));
  EXPECT_EQ(chat["temperature"], 0.5);
  EXPECT_FALSE(chat.contains("top_k"));
  ASSERT_EQ(chat["messages"].size(), 4u);
  EXPECT_EQ(chat["messages"][0], (json{{"role", "system"}, {"content", "Be brief."}}));
  EXPECT_EQ(chat["messages"][1], (json{{"role", "user"}, {"content", "Hi"}}));
  EXPECT_EQ(chat["messages"][2]["content"], "Hello");
  EXPECT_EQ(chat["messages"][3]["content"], "a\nb");
  EXPECT_FALSE(chat.contains("stream"));
}

// A last turn of the assistant's text is a prefill (to be continued); one with a tool call, or a
// last turn of the user's, is not.
TEST(MessagesRequest, APrefillIsTheAssistantsTextLast) {
  auto prefill = [](const std::string& messages) {
    auto r = parse_messages_request(R"({"model":"m","max_tokens":5,"messages":)" + messages + "}");
    EXPECT_TRUE(r) << messages;
    return r && r->prefill;
  };
  EXPECT_TRUE(prefill(R"([{"role":"user","content":"q"},{"role":"assistant","content":"{"}])"));
  EXPECT_TRUE(prefill(
      R"([{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"Sure:"}]}])"));
  EXPECT_FALSE(prefill(R"([{"role":"user","content":"q"}])"));
  EXPECT_FALSE(prefill(R"([{"role":"assistant","content":"a"},{"role":"user","content":"q"}])"));
  EXPECT_FALSE(prefill(R"([{"role":"user","content":"q"},{"role":"assistant","content":[
      {"type":"tool_use","id":"t","name":"f","input":{}}]}])"));
}

TEST(MessagesRequest, UserImagesBecomeImageUrlParts) {
  json chat = chat_of(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
    {"type":"text","text":"Compare"},
    {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}},
    {"type":"image","source":{"type":"url","url":"https://example.com/b.png"}}]}]})");
  EXPECT_EQ(chat["messages"], json::parse(R"([{"role":"user","content":[
    {"type":"text","text":"Compare"},
    {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}},
    {"type":"image_url","image_url":{"url":"https://example.com/b.png"}}]}])"));
}

TEST(MessagesRequest, SystemAsBlocksAndStreamAsksForUsage) {
  json chat = chat_of(R"({"model":"m","max_tokens":5,"stream":true,
    "system":[{"type":"text","text":"one"},{"type":"text","text":"two"}],
    "messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(chat["messages"][0]["content"], "one\ntwo");
  EXPECT_EQ(chat["stream"], true);
  EXPECT_EQ(chat["stream_options"]["include_usage"], true);
}

TEST(MessagesRequest, ToolsToolUseAndToolResults) {
  json chat = chat_of(R"({"model":"m","max_tokens":50,
    "tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
    "tool_choice":{"type":"tool","name":"get_weather"},
    "messages":[{"role":"user","content":"Weather in Paris?"},
      {"role":"assistant","content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"tu_1","name":"get_weather","input":{"city":"Paris"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu_1","content":"18C"},{"type":"text","text":"Thanks"}]}]})");
  ASSERT_EQ(chat["tools"].size(), 1u);
  EXPECT_EQ(chat["tools"][0]["type"], "function");
  EXPECT_EQ(chat["tools"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(chat["tools"][0]["function"]["parameters"]["properties"]["city"]["type"], "string");
  EXPECT_EQ(chat["tool_choice"]["function"]["name"], "get_weather");
  const json& m = chat["messages"];
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[1]["role"], "assistant");
  EXPECT_EQ(m[1]["content"], "Let me look.");
  EXPECT_EQ(m[1]["tool_calls"][0]["id"], "tu_1");
  EXPECT_EQ(json::parse(m[1]["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            (json{{"city", "Paris"}}));
  EXPECT_EQ(m[2], (json{{"role", "tool"}, {"tool_call_id", "tu_1"}, {"content", "18C"}}));
  EXPECT_EQ(m[3], (json{{"role", "user"}, {"content", "Thanks"}}));
}

// Members of an unexpected JSON type are refused (or ignored) with a 400, never an exception: a
// tool_result's text block whose type is not a string (found by fuzz_client_apis), an is_error
// that is not a boolean.
TEST(MessagesRequest, MembersOfAnotherTypeAreRefusedNotThrown) {
  auto bad = parse_messages_request(R"({"model":"m","max_tokens":5,"messages":[
    {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":{"x":1},"text":"r"}]}]}]})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_request");
  EXPECT_NE(bad.error().message.find("must be a text block"), std::string::npos);
  auto odd = parse_messages_request(R"({"model":"m","max_tokens":5,"messages":[
    {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"r","is_error":"yes"}]}]})");
  ASSERT_TRUE(odd) << odd.error().message;
  EXPECT_EQ(nlohmann::json::parse(odd->chat_body)["messages"][1]["content"], "r")
      << "is_error only when it is true";
}

TEST(MessagesRequest, ToolChoiceKinds) {
  auto choice = [](const std::string& c) {
    return chat_of(
        R"({"model":"m","max_tokens":5,"tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":)" +
        c + R"(,"messages":[{"role":"user","content":"x"}]})")["tool_choice"];
  };
  EXPECT_EQ(choice(R"({"type":"auto"})"), "auto");
  EXPECT_EQ(choice(R"({"type":"any"})"), "required");
  EXPECT_EQ(choice(R"({"type":"none"})"), "none");
}

// What chat completions cannot carry is left out of the chat body and named in native_only
// (the first such part); reasoning sent back is dropped without it.
TEST(MessagesRequest, WhatOnlyAnthropicCanCarry) {
  auto chat_of = [](const MessagesRequest& r) { return nlohmann::json::parse(r.chat_body); };
  auto r = parse_messages_request(R"({"model":"m","max_tokens":5,"messages":[
      {"role":"user","content":"q"},
      {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},
        {"type":"redacted_thinking","data":"x"},{"type":"text","text":"a"}]},
      {"role":"user","content":"next"}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->native_only, "");
  EXPECT_EQ(chat_of(*r)["messages"][1], (nlohmann::json{{"role", "assistant"}, {"content", "a"}}));

  r = parse_messages_request(R"({"model":"m","max_tokens":5,"thinking":{"type":"disabled"},
      "messages":[{"role":"user","content":[
        {"type":"document","title":"Notes","context":"from a meeting","source":{"type":"text","media_type":"text/plain","data":"body"}},
        {"type":"document","source":{"type":"content","content":[{"type":"text","text":"p1"},{"type":"text","text":"p2"}]}},
        {"type":"text","text":"sum it up"}]}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->native_only, "");
  EXPECT_EQ(chat_of(*r)["messages"][0]["content"], "Notes\n\nfrom a meeting\n\nbody\np1\np2\nsum it up");
  // A base64 PDF is a chat file part (titled, else document.pdf), beside the text.
  r = parse_messages_request(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
      {"type":"document","title":"report.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"}},
      {"type":"text","text":"summarise it"}]}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->native_only, "");
  EXPECT_EQ(chat_of(*r)["messages"][0]["content"],
            nlohmann::json::parse(R"([{"type":"file","file":{"filename":"report.pdf","file_data":"data:application/pdf;base64,JVBE"}},
                                      {"type":"text","text":"summarise it"}])"));
  // Search results (RAG) are text: their title, source and text blocks, also inside a tool result.
  r = parse_messages_request(R"({"model":"m","max_tokens":5,"messages":[
      {"role":"user","content":[{"type":"search_result","source":"https://kb/1","title":"Policy",
        "content":[{"type":"text","text":"Refunds within 30 days."}]},{"type":"text","text":"refund window?"}]},
      {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"search","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[
        {"type":"search_result","source":"kb/2","title":"FAQ","content":[{"type":"text","text":"Ask support."}]}]}]}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->native_only, "");
  EXPECT_EQ(chat_of(*r)["messages"][0]["content"],
            "Policy (https://kb/1)\nRefunds within 30 days.\nrefund window?");
  EXPECT_EQ(chat_of(*r)["messages"][2]["content"], "FAQ (kb/2)\nAsk support.");
  // The system prompt takes text blocks only.
  EXPECT_FALSE(parse_messages_request(R"({"model":"m","max_tokens":5,"system":[{"type":"image","source":{}}],"messages":[{"role":"user","content":"x"}]})"));

  struct Case {
    const char* body;
    const char* reason;
  } cases[] = {
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://x/a.pdf"}},{"type":"text","text":"x"}]}]})",
       "messages[0].content[0]: a document that is neither plain text nor base64 data"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"mcp_tool_result","tool_use_id":"m","content":[]}]}]})",
       "messages[0].content[0]: content blocks of type \"mcp_tool_result\" in a user message"},
      {R"({"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"x"}]})",
       "tools[1]: server tool of type \"web_search_20250305\""},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"shot:"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]}]}]})",
       "messages[0].content[0].content[1]: blocks of type \"image\" in a tool_result"},
  };
  for (const auto& c : cases) {
    auto n = parse_messages_request(c.body);
    ASSERT_TRUE(n) << c.body << " -> " << n.error().message;
    EXPECT_EQ(n->native_only, std::string(c.reason) + ": passed only to replicas with api: anthropic")
        << c.body;
  }
  // The custom tool stays; the server tool is left out.
  auto t = parse_messages_request(cases[2].body);
  EXPECT_EQ(chat_of(*t)["tools"].size(), 1u);
  // Two reasons: the first is kept. Extended thinking is not one (chat answers without it).
  auto two = parse_messages_request(R"({"model":"m","max_tokens":5,"thinking":{"type":"enabled","budget_tokens":1024},
      "messages":[{"role":"user","content":[{"type":"container_upload","file_id":"f"},
        {"type":"document","source":{"type":"url","url":"https://x/a.pdf"}}]}]})");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->native_only, "messages[0].content[0]: content blocks of type \"container_upload\" in "
                              "a user message: passed only to replicas with api: anthropic");
  EXPECT_FALSE(chat_of(*two).contains("thinking"));
  auto thinking = parse_messages_request(R"({"model":"m","max_tokens":5,"thinking":{"type":"enabled","budget_tokens":1024},
      "messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(thinking);
  EXPECT_EQ(thinking->native_only, "");
}

TEST(MessagesRequest, MalformedRequestsAreNamed) {
  struct Case {
    const char* body;
    const char* says;
  } cases[] = {
      {"{", "not valid JSON"},
      {"[]", "JSON object"},
      {R"({"max_tokens":5,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}]})", "max_tokens is required"},
      {R"({"model":"m","max_tokens":"5","messages":[{"role":"user","content":"x"}]})",
       "max_tokens"},
      {R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"model":"m","max_tokens":5})", "messages"},
      {R"({"model":"m","max_tokens":5,"messages":[]})", "messages"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})",
       "messages[0].role"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user"}]})", "messages[0].content"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]})",
       "(image) needs a base64 source"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]})",
       "\"image\" are not allowed in an assistant message"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f"}]}]})",
       "\"tool_use\" are not allowed in a user message"},
      {R"({"model":"m","max_tokens":5,"thinking":"on","messages":[{"role":"user","content":"x"}]})",
       "thinking must be an object"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result"}]}]})",
       "tool_use_id"},
      {R"({"model":"m","max_tokens":5,"stream":"yes","messages":[{"role":"user","content":"x"}]})",
       "stream"},
      {R"({"model":"m","max_tokens":5,"tools":[{"description":"no name"}],"messages":[{"role":"user","content":"x"}]})",
       "tools[0]"},
      {R"({"model":"m","max_tokens":5,"tool_choice":{"type":"maybe"},"messages":[{"role":"user","content":"x"}]})",
       "tool_choice"},
      // Beyond what the chat parser behind it accepts (found by fuzz_client_apis).
      {R"({"model":"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm","max_tokens":5,"messages":[{"role":"user","content":"x"}]})",
       "model must be at most 256 bytes long"},
      {R"({"model":"m","max_tokens":2666666660,"messages":[{"role":"user","content":"x"}]})",
       "max_tokens must be an integer between 1 and 2147483648"},
      {R"({"model":"m","max_tokens":5,"tool_choice":{"type":"auto","disable_parallel_tool_use":"yes"},"messages":[{"role":"user","content":"x"}]})",
       "disable_parallel_tool_use must be a boolean"},
  };
  for (const auto& c : cases) {
    auto r = parse_messages_request(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest) << c.body;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.body << " -> " << r.error().message;
  }
}

// Anthropic takes temperature and top_p in [0, 1] and top_k a non-negative integer: anything else
// is a 400 invalid_request_error naming the field (temperature 1.5 went on to a chat model, whose
// range is [0, 2]); the bounds themselves are accepted.
TEST(MessagesRequest, SamplingSettingsOutsideAnthropicsRangesAreRefused) {
  const std::string head = R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],)";
  struct Case {
    const char* setting;
    const char* says;
  } refused[] = {
      {R"("temperature":1.5)", "temperature must be a number between 0 and 1"},
      {R"("temperature":-0.1)", "temperature must be a number between 0 and 1"},
      {R"("temperature":"0.5")", "temperature must be a number between 0 and 1"},
      {R"("top_p":1.01)", "top_p must be a number between 0 and 1"},
      {R"("top_p":-1)", "top_p must be a number between 0 and 1"},
      {R"("top_k":-1)", "top_k must be a non-negative integer"},
      {R"("top_k":2.5)", "top_k must be a non-negative integer"},
      {R"("top_k":"5")", "top_k must be a non-negative integer"},
  };
  for (const auto& c : refused) {
    for (auto* parse : {&parse_messages_request, &parse_count_tokens_request}) {
      auto r = (*parse)(head + c.setting + "}");
      ASSERT_FALSE(r) << c.setting;
      EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest) << c.setting;
      EXPECT_EQ(r.error().message, c.says) << c.setting;
      json body = json::parse(messages_translator(nullptr)->error_body(r.error()));
      EXPECT_EQ(body["type"], "error");
      EXPECT_EQ(body["error"]["type"], "invalid_request_error");
      EXPECT_EQ(body["error"]["message"], c.says);
    }
  }
  for (const char* ok : {R"("temperature":0,"top_p":1,"top_k":0)", R"("temperature":1,"top_p":0)",
                         R"("temperature":null,"top_p":null,"top_k":null)", R"("top_k":500)"}) {
    auto r = parse_messages_request(head + ok + "}");
    ASSERT_TRUE(r) << ok << ": " << r.error().message;
    EXPECT_FALSE(json::parse(r->chat_body).contains("top_k")) << ok;
  }
  EXPECT_EQ(chat_of(head + R"("temperature":1,"top_p":0.25})")["temperature"], 1);
}

TEST(MessagesAnswer, WholeTextAnswer) {
  MessagesRequest req{"auto", false, "", ""};
  auto t = messages_translator(&req);
  auto out = t->whole(chat_completion("Hello there"));
  ASSERT_TRUE(out);
  json j = json::parse(*out);
  EXPECT_EQ(j["type"], "message");
  EXPECT_EQ(j["role"], "assistant");
  // A random id, not the upstream's (chatcmpl-abc): two answers never share one.
  const std::string id = j["id"];
  EXPECT_EQ(id.rfind("msg_", 0), 0u) << id;
  EXPECT_EQ(id.size(), 36u) << id;
  EXPECT_NE(json::parse(*t->whole(chat_completion("Hello there")))["id"], j["id"]);
  EXPECT_EQ(j["model"], "auto");
  EXPECT_EQ(j["content"], json::parse(R"([{"type":"text","text":"Hello there"}])"));
  EXPECT_EQ(j["stop_reason"], "end_turn");
  EXPECT_EQ(j["usage"], (json{{"input_tokens", 11}, {"output_tokens", 5}}));
  auto cut = t->whole(chat_completion("Hel", "length"));
  EXPECT_EQ(json::parse(*cut)["stop_reason"], "max_tokens");
  // An upstream's negative or absurd token counts reach the client clamped to [0, 2^40].
  json odd = json::parse(chat_completion("Hi"));
  odd["usage"] = {{"prompt_tokens", -7}, {"completion_tokens", std::int64_t{1} << 62}};
  EXPECT_EQ(json::parse(*t->whole(odd.dump()))["usage"],
            (json{{"input_tokens", 0}, {"output_tokens", std::int64_t{1} << 40}}));
}

// A chat answer ended by a stop string: vLLM names it in the choice's `stop_reason`, SGLang in
// `matched_stop` (an integer is a stop token's id). When it is one of the request's
// stop_sequences, the message says stop_reason "stop_sequence" and which (it said end_turn, null).
TEST(MessagesAnswer, TheStopSequenceThatEndedTheAnswerIsNamed) {
  auto request = parse_messages_request(
      R"({"model":"auto","max_tokens":9,"stop_sequences":["END","###"],"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->stop_sequences, (std::vector<std::string>{"END", "###"}));
  auto t = messages_translator(&*request);
  auto answer = [&](const char* key, json value, const std::string& finish = "stop") {
    json j = json::parse(chat_completion("Hello", finish));
    j["choices"][0][key] = std::move(value);
    return json::parse(*t->whole(j.dump()));
  };
  for (const char* key : {"stop_reason", "matched_stop"}) {
    json j = answer(key, "###");
    EXPECT_EQ(j["stop_reason"], "stop_sequence") << key;
    EXPECT_EQ(j["stop_sequence"], "###") << key;
    // A stop token's id, a string the request did not ask for, or no stop at all: end_turn.
    for (json other : {json(128009), json("<|eot|>"), json(nullptr)}) {
      json o = answer(key, other);
      EXPECT_EQ(o["stop_reason"], "end_turn") << key << " " << other;
      EXPECT_TRUE(o["stop_sequence"].is_null()) << key << " " << other;
    }
    // Cut by the token limit: max_tokens, whatever the string.
    EXPECT_EQ(answer(key, "END", "length")["stop_reason"], "max_tokens") << key;
    EXPECT_TRUE(answer(key, "END", "length")["stop_sequence"].is_null()) << key;
  }
  // A request without stop_sequences reports none, whatever the upstream names.
  MessagesRequest plain{"auto", false, "", ""};
  json j = json::parse(chat_completion("Hello"));
  j["choices"][0]["stop_reason"] = "END";
  json out = json::parse(*messages_translator(&plain)->whole(j.dump()));
  EXPECT_EQ(out["stop_reason"], "end_turn");
  EXPECT_TRUE(out["stop_sequence"].is_null());
}

// The same streamed: the finishing chunk names the stop; message_delta carries it.
TEST(MessagesStream, TheStopSequenceThatEndedTheAnswerIsInMessageDelta) {
  auto request = parse_messages_request(
      R"({"model":"auto","max_tokens":9,"stream":true,"stop_sequences":["END"],"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(request);
  for (const char* key : {"stop_reason", "matched_stop"}) {
    for (json named : {json("END"), json("OTHER"), json(2)}) {
      std::vector<std::string> stream = text_stream();
      json finishing = json::parse(stream[3]);
      finishing["choices"][0][key] = named;
      stream[3] = finishing.dump();
      auto t = messages_translator(&*request);
      auto events = parse_events(run_stream(*t, stream));
      ASSERT_EQ(events[5].name, "message_delta");
      const bool ours = named == "END";
      EXPECT_EQ(events[5].data["delta"]["stop_reason"], ours ? "stop_sequence" : "end_turn")
          << key << " " << named;
      EXPECT_EQ(events[5].data["delta"]["stop_sequence"], ours ? json("END") : json(nullptr))
          << key << " " << named;
    }
  }
}

// A content filter's stop is Anthropic's refusal (it was end_turn); tokens written to the prompt
// cache are cache_creation_input_tokens, out of input_tokens (they were dropped).
TEST(MessagesAnswer, AContentFilterIsARefusalAndCacheWritesAreCounted) {
  MessagesRequest req{"auto", false, "", ""};
  auto t = messages_translator(&req);
  EXPECT_EQ(json::parse(*t->whole(chat_completion("Part", "content_filter")))["stop_reason"],
            "refusal");
  json cached = json::parse(chat_completion("Hi"));
  cached["usage"] = {{"prompt_tokens", 50},
                     {"completion_tokens", 7},
                     {"prompt_tokens_details", {{"cached_tokens", 30}}},
                     {"cache_creation_input_tokens", 10}};
  EXPECT_EQ(json::parse(*t->whole(cached.dump()))["usage"],
            (json{{"input_tokens", 10},
                  {"output_tokens", 7},
                  {"cache_read_input_tokens", 30},
                  {"cache_creation_input_tokens", 10}}));
  // A whole answer without usage reports the gateway's estimate, as a stream's message_start does
  // (it reported 0), and its text's tokens as the decision record estimates them (since session
  // 35; it reported 0).
  auto estimated = messages_translator(&req);
  estimated->set_prompt_tokens(74);
  json bare = json::parse(chat_completion("Hi there"));
  bare.erase("usage");
  EXPECT_EQ(json::parse(*estimated->whole(bare.dump()))["usage"],
            (json{{"input_tokens", 74}, {"output_tokens", 2}}));
  auto s = messages_translator(&req);
  auto events = parse_events(
      run_stream(*s, {chunk({{"content", "Part"}}), chunk(json::object(), "content_filter"),
                      "[DONE]"}));
  EXPECT_EQ(events.at(events.size() - 2).data["delta"]["stop_reason"], "refusal");
}

// Tool calls the upstream sent without ids get unique toolu_ ids (they were "", so the client's
// tool_result blocks could name none of them), whole and streamed.
TEST(MessagesAnswer, ToolCallsWithoutIdsGetOnes) {
  MessagesRequest req{"auto", false, "", ""};
  auto t = messages_translator(&req);
  json j = json::parse(*t->whole(chat_completion("", "tool_calls", calls_without_ids())));
  ASSERT_EQ(j["content"].size(), 2u);
  const std::string a = j["content"][0]["id"], b = j["content"][1]["id"];
  EXPECT_EQ(a.rfind("toolu_", 0), 0u) << a;
  EXPECT_NE(a, b);
  auto s = messages_translator(&req);
  auto events = parse_events(run_stream(*s, tool_stream_without_id()));
  const std::string streamed = events.at(1).data["content_block"]["id"];
  EXPECT_EQ(streamed.rfind("toolu_", 0), 0u) << streamed;
}

TEST(MessagesAnswer, WholeToolCall) {
  auto t = messages_translator(nullptr);
  json calls = json::parse(
      R"([{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}])");
  auto out = t->whole(chat_completion("", "tool_calls", calls));
  ASSERT_TRUE(out);
  json j = json::parse(*out);
  ASSERT_EQ(j["content"].size(), 1u);
  EXPECT_EQ(j["content"][0]["type"], "tool_use");
  EXPECT_EQ(j["content"][0]["id"], "call_1");
  EXPECT_EQ(j["content"][0]["name"], "get_weather");
  EXPECT_EQ(j["content"][0]["input"], (json{{"city", "Paris"}}));
  EXPECT_EQ(j["stop_reason"], "tool_use");
  EXPECT_EQ(j["model"], "upstream-model");  // no request: the upstream's name
}

TEST(MessagesAnswer, ReasoningIsAThinkingBlockWhenThinkingWasAsked) {
  auto asked = parse_messages_request(
      R"({"model":"auto","max_tokens":64,"thinking":{"type":"enabled","budget_tokens":1024},
          "messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(asked);
  EXPECT_TRUE(asked->thinking);
  for (const char* key : {"reasoning_content", "reasoning"}) {
    json j = json::parse(*messages_translator(&*asked)->whole(reasoning_completion(key)));
    EXPECT_EQ(j["content"], json::parse(R"([{"type":"thinking","thinking":"Thinking.","signature":""},
                                            {"type":"text","text":"Hello"}])"))
        << key;
    // Chat's prompt_tokens count the cached ones; Anthropic's input_tokens do not.
    EXPECT_EQ(j["usage"], json::parse(R"({"input_tokens":7,"cache_read_input_tokens":4,
                                          "output_tokens":9})"));
  }
  EXPECT_EQ(asked->reasoning_effort, "low");  // 1,024 tokens of thinking
  for (auto [thinking, effort] : std::vector<std::pair<const char*, const char*>>{
           {R"({"type":"enabled","budget_tokens":4096})", "medium"},
           {R"({"type":"enabled","budget_tokens":32000})", "high"},
           {R"({"type":"adaptive"})", "medium"},
           {R"({"type":"disabled"})", ""}}) {
    auto r = parse_messages_request(std::string(R"({"model":"m","max_tokens":9,"thinking":)") +
                                    thinking + R"(,"messages":[{"role":"user","content":"hi"}]})");
    ASSERT_TRUE(r) << thinking;
    EXPECT_EQ(r->reasoning_effort, effort) << thinking;
    EXPECT_FALSE(json::parse(r->chat_body).contains("reasoning_effort")) << "not for every model";
  }
  // Not asked (no thinking, or thinking disabled): Anthropic sends no thinking, nor does the gateway.
  for (const char* body :
       {R"({"model":"auto","max_tokens":64,"messages":[{"role":"user","content":"hi"}]})",
        R"({"model":"auto","max_tokens":64,"thinking":{"type":"disabled"},
            "messages":[{"role":"user","content":"hi"}]})"}) {
    auto plain = parse_messages_request(body);
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->thinking) << body;
    json j = json::parse(*messages_translator(&*plain)->whole(reasoning_completion()));
    EXPECT_EQ(j["content"], json::parse(R"([{"type":"text","text":"Hello"}])")) << body;
  }
}

TEST(MessagesRequest, UnsignedThinkingIsLeftOutOfWhatAnthropicGets) {
  // A plain conversation: the client's body as is.
  auto plain = parse_messages_request(
      R"({"model":"m","max_tokens":9,"thinking":{"type":"enabled","budget_tokens":1024},
          "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[
            {"type":"thinking","thinking":"signed","signature":"EqQB"},{"type":"text","text":"yo"}]},
            {"role":"user","content":"and?"}]})");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->native_body);
  // A chat replica's thinking sent back (empty signature): left out; thinking kept, since the
  // last assistant turn does not begin with one.
  auto r = parse_messages_request(
      R"({"model":"m","max_tokens":9,"thinking":{"type":"enabled","budget_tokens":1024},
          "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[
            {"type":"thinking","thinking":"mine","signature":""},{"type":"text","text":"yo"}]},
            {"role":"user","content":"and?"},{"role":"assistant","content":"ok"},
            {"role":"user","content":"so?"}]})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->native_body);
  json native = json::parse(*r->native_body);
  EXPECT_EQ(native["messages"][1]["content"], json::parse(R"([{"type":"text","text":"yo"}])"));
  EXPECT_EQ(native["messages"][3]["content"], "ok");
  EXPECT_TRUE(native.contains("thinking"));
  EXPECT_EQ(native["max_tokens"], 9);
  // The last assistant turn began with one (a tool loop): Anthropic would require a signed one,
  // so thinking is off for that request.
  auto loop = parse_messages_request(
      R"({"model":"m","max_tokens":9,"thinking":{"type":"enabled","budget_tokens":1024},
          "messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":[
            {"type":"thinking","thinking":"call it"},
            {"type":"tool_use","id":"t1","name":"w","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"sun"}]}]})");
  ASSERT_TRUE(loop);
  ASSERT_TRUE(loop->native_body);
  native = json::parse(*loop->native_body);
  EXPECT_FALSE(native.contains("thinking"));
  EXPECT_EQ(native["messages"][1]["content"].size(), 1u);
  EXPECT_EQ(native["messages"][1]["content"][0]["type"], "tool_use");
  // A turn that was only such thinking (a chat replica cut off while reasoning) goes: Anthropic
  // refuses empty content and joins the user turns around it.
  auto cut = parse_messages_request(
      R"({"model":"m","max_tokens":9,"messages":[{"role":"user","content":"hi"},
          {"role":"assistant","content":[{"type":"thinking","thinking":"long...","signature":""}]},
          {"role":"user","content":"go on"}]})");
  ASSERT_TRUE(cut);
  ASSERT_TRUE(cut->native_body);
  native = json::parse(*cut->native_body);
  ASSERT_EQ(native["messages"].size(), 2u);
  EXPECT_EQ(native["messages"][1]["content"], "go on");
}

TEST(MessagesAnswer, NotAChatCompletionIsAnError) {
  auto t = messages_translator(nullptr);
  auto out = t->whole(R"({"object":"list"})");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, "upstream_bad_answer");
}

TEST(MessagesStream, TextEventOrder) {
  MessagesRequest req{"auto", true, "", ""};
  auto t = messages_translator(&req);
  auto events = parse_events(run_stream(*t, text_stream()));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "message_delta",
                                      "message_stop"}));
  EXPECT_EQ(events[0].data["message"]["model"], "auto");
  EXPECT_EQ(events[0].data["message"]["id"].get<std::string>().rfind("msg_", 0), 0u);
  EXPECT_EQ(events[0].data["message"]["usage"]["input_tokens"], 0);  // no estimate given
  EXPECT_EQ(events[1].data["content_block"]["type"], "text");
  EXPECT_EQ(events[2].data["delta"], (json{{"type", "text_delta"}, {"text", "Hel"}}));
  EXPECT_EQ(events[3].data["delta"]["text"], "lo");
  EXPECT_EQ(events[5].data["delta"]["stop_reason"], "end_turn");
  EXPECT_EQ(events[5].data["usage"]["output_tokens"], 5);
  for (const auto& e : events) EXPECT_EQ(e.data["type"], e.name);
}

// message_start carries the gateway's estimate of the prompt's tokens (LangChain reads the input
// count there); message_delta the upstream's own count.
TEST(MessagesStream, MessageStartCarriesThePromptEstimate) {
  auto t = messages_translator(nullptr);
  t->set_prompt_tokens(42);
  auto events = parse_events(run_stream(*t, text_stream()));
  EXPECT_EQ(events[0].data["message"]["usage"]["input_tokens"], 42);
  EXPECT_EQ(events[5].data["usage"]["input_tokens"], 11);
}

// A chat refusal is the text of a Messages answer, with stop_reason "refusal" (it was an empty
// answer that ended its turn).
TEST(MessagesAnswer, ARefusalIsTextWithTheRefusalStopReason) {
  json j = json::parse(*messages_translator(nullptr)->whole(refusal_completion()));
  EXPECT_EQ(j["content"], json::parse(R"([{"type":"text","text":"I cannot."}])"));
  EXPECT_EQ(j["stop_reason"], "refusal");
  auto events = parse_events(run_stream(*messages_translator(nullptr), refusal_stream()));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "message_delta",
                                      "message_stop"}));
  EXPECT_EQ(events[2].data["delta"]["text"], "I can");
  EXPECT_EQ(events[5].data["delta"]["stop_reason"], "refusal");
}

TEST(MessagesStream, ReasoningStreamsAsAThinkingBlockBeforeTheText) {
  MessagesRequest req{"auto", true, "", "", true};
  auto t = messages_translator(&req);
  auto events = parse_events(run_stream(*t, reasoning_stream()));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop",
                                      "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "message_delta",
                                      "message_stop"}));
  EXPECT_EQ(events[1].data["content_block"],
            json::parse(R"({"type":"thinking","thinking":"","signature":""})"));
  EXPECT_EQ(events[1].data["index"], 0);
  EXPECT_EQ(events[2].data["delta"], json::parse(R"({"type":"thinking_delta","thinking":"Think"})"));
  EXPECT_EQ(events[3].data["delta"]["thinking"], "ing.");
  EXPECT_EQ(events[5].data["index"], 1);
  EXPECT_EQ(events[5].data["content_block"]["type"], "text");
  EXPECT_EQ(events[6].data["delta"]["text"], "Hel");
  EXPECT_EQ(events[9].data["usage"],
            json::parse(R"({"input_tokens":7,"cache_read_input_tokens":4,"output_tokens":9})"));

  req.thinking = false;  // not asked: the same stream without the thinking block
  auto plain = parse_events(run_stream(*messages_translator(&req), reasoning_stream()));
  EXPECT_EQ(names(plain),
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "message_delta",
                                      "message_stop"}));
  EXPECT_EQ(plain[1].data["content_block"]["type"], "text");
}

TEST(MessagesStream, ToolUseEvents) {
  auto t = messages_translator(nullptr);
  auto events = parse_events(run_stream(*t, tool_stream()));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "message_delta",
                                      "message_stop"}));
  EXPECT_EQ(events[1].data["content_block"], (json{{"type", "tool_use"},
                                                   {"id", "call_1"},
                                                   {"name", "get_weather"},
                                                   {"input", json::object()}}));
  EXPECT_EQ(events[2].data["delta"]["type"], "input_json_delta");
  EXPECT_EQ(events[2].data["delta"]["partial_json"].get<std::string>() +
                events[3].data["delta"]["partial_json"].get<std::string>(),
            R"({"city":"Paris"})");
  EXPECT_EQ(events[5].data["delta"]["stop_reason"], "tool_use");
}

TEST(MessagesStream, TextThenToolGetsTwoBlocks) {
  auto t = messages_translator(nullptr);
  std::vector<std::string> s = {chunk({{"content", "Looking."}})};
  auto tools = tool_stream();
  s.insert(s.end(), tools.begin() + 1, tools.end());
  auto events = parse_events(run_stream(*t, s));
  std::vector<json> starts;
  for (const auto& e : events)
    if (e.name == "content_block_start") starts.push_back(e.data);
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0]["index"], 0);
  EXPECT_EQ(starts[0]["content_block"]["type"], "text");
  EXPECT_EQ(starts[1]["index"], 1);
  EXPECT_EQ(starts[1]["content_block"]["type"], "tool_use");
}

TEST(MessagesStream, FinishWithoutDoneClosesOnceAndErrorEndsTheStream) {
  auto t = messages_translator(nullptr);
  std::string out = t->event(chunk({{"content", "x"}}));
  out += t->finish();
  EXPECT_EQ(t->finish(), "");
  EXPECT_EQ(t->event("[DONE]"), "");
  EXPECT_EQ(names(parse_events(out)).back(), "message_stop");

  auto t2 = messages_translator(nullptr);
  t2->event(chunk({{"content", "x"}}));
  auto err = parse_events(
      t2->error_event(make_error(ErrorKind::kUpstreamError, "upstream_stream_broken", "cut")));
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0].name, "error");
  EXPECT_EQ(err[0].data,
            json::parse(R"({"type":"error","error":{"type":"api_error","message":"cut"}})"));
  EXPECT_EQ(t2->finish(), "");
}

TEST(MessagesErrors, AnthropicShape) {
  auto t = messages_translator(nullptr);
  json j = json::parse(t->error_body(make_error(ErrorKind::kBadRequest, "invalid_request", "bad")));
  EXPECT_EQ(j, json::parse(
                   R"({"type":"error","error":{"type":"invalid_request_error","message":"bad"}})"));
  EXPECT_EQ(json::parse(t->error_body(
                make_error(ErrorKind::kNotFound, "model_not_found", "x")))["error"]["type"],
            "not_found_error");
  EXPECT_EQ(
      json::parse(t->error_body(make_error(ErrorKind::kRateLimited, "r", "x")))["error"]["type"],
      "rate_limit_error");
  json up = json::parse(
      t->upstream_error_body(500, R"({"error":{"message":"boom","type":"server_error"}})"));
  EXPECT_EQ(up, json::parse(R"({"type":"error","error":{"type":"api_error","message":"boom"}})"));
}

}  // namespace
}  // namespace switchboard::api

namespace switchboard::api {
namespace {
// Found by fuzz_client_apis: an assistant message whose blocks all drop out (an empty thinking
// block, an unknown type) left the chat translation with no messages, which chat's own parser
// refuses — the request must be refused at the front door, with the reason.
TEST(MessagesRequest, AllBlocksDroppedIsRefusedNotTranslatedEmpty) {
  for (bool counting : {false, true}) {
    const std::string body =
        R"({"model":"claude","max_tokens":5,"messages":[{"role":"assistant","content":[)"
        R"({"type":"thinking","thinking":"t","signatwre":"s"},{"type":"te_result","tool_use_id":"t0"}]}]})";
    auto r = counting ? parse_count_tokens_request(body) : parse_messages_request(body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_request");
    EXPECT_NE(r.error().message.find("no message has content"), std::string::npos) << r.error().message;
  }
}
}  // namespace
}  // namespace switchboard::api
