// Chat completions over an Anthropic Messages upstream (api/chat_to_messages.h): the request
// translated to Messages, the answers (whole, streamed, errors) read back as chat completions.
#include "api/chat_to_messages.h"
#include "api/sse.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace switchboard::api {
namespace {

using json = nlohmann::json;

json request(const json& chat) {
  auto r = chat_to_messages_request(chat.dump(), "claude-x");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? json::parse(*r) : json();
}

TEST(ChatToMessages, SystemTurnsImagesToolsAndSettings) {
  const json chat = {
      {"model", "auto"},
      {"max_completion_tokens", 77},
      {"temperature", 0.3},
      {"top_p", 0.9},
      {"stop", "END"},
      {"user", "u1"},
      {"messages",
       {{{"role", "system"}, {"content", "Rule one."}},
        {{"role", "developer"}, {"content", {{{"type", "text"}, {"text", "Rule two."}}}}},
        {{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "look"}},
           {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}},
           {{"type", "image_url"}, {"image_url", {{"url", "https://x/y.jpg"}}}}}}},
        {{"role", "user"}, {"content", "and this"}},  // merged into the turn before
        {{"role", "assistant"},
         {"content", ""},
         {"tool_calls",
          {{{"id", "c1"},
            {"type", "function"},
            {"function", {{"name", "f"}, {"arguments", R"({"a":1})"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "42"}}}},
      {"tools",
       {{{"type", "function"},
         {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}}}}},
      {"tool_choice", {{"type", "function"}, {"function", {{"name", "f"}}}}},
      {"parallel_tool_calls", false}};
  const json m = request(chat);
  EXPECT_EQ(m["model"], "claude-x");
  EXPECT_EQ(m["max_tokens"], 77);
  EXPECT_EQ(m["system"], "Rule one.\n\nRule two.");
  EXPECT_DOUBLE_EQ(m["temperature"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(m["top_p"].get<double>(), 0.9);
  EXPECT_EQ(m["stop_sequences"], json({"END"}));
  EXPECT_EQ(m["metadata"], json({{"user_id", "u1"}}));
  ASSERT_EQ(m["messages"].size(), 3u);
  const json& user = m["messages"][0];
  EXPECT_EQ(user["role"], "user");
  ASSERT_EQ(user["content"].size(), 4u);
  EXPECT_EQ(user["content"][1],
            json::parse(R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}})"));
  EXPECT_EQ(user["content"][2],
            json::parse(R"({"type":"image","source":{"type":"url","url":"https://x/y.jpg"}})"));
  EXPECT_EQ(user["content"][3]["text"], "and this");
  EXPECT_EQ(m["messages"][1]["content"],  // the empty text left out
            json::parse(R"([{"type":"tool_use","id":"c1","name":"f","input":{"a":1}}])"));
  EXPECT_EQ(m["messages"][2]["content"],
            json::parse(R"([{"type":"tool_result","tool_use_id":"c1","content":"42"}])"));
  EXPECT_EQ(m["tools"], json::parse(R"([{"name":"f","input_schema":{"type":"object"}}])"));
  EXPECT_EQ(m["tool_choice"],
            json::parse(R"({"type":"tool","name":"f","disable_parallel_tool_use":true})"));
  EXPECT_FALSE(m.contains("stream"));
}

TEST(ChatToMessages, NullOptionalFieldsAreAbsentNotErrors) {
  // What parse_chat_request lets through must not throw here (the attempt would fail as a 500).
  const json m = request(json::parse(R"({"model":"a","stream":null,"logprobs":null,
    "parallel_tool_calls":null,"response_format":{"type":null},"temperature":null,"stop":null,
    "tool_choice":null,"user":null,"messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_FALSE(m.contains("stream"));
  EXPECT_FALSE(m.contains("temperature"));
  auto r = chat_to_messages_request(
      R"({"messages":[{"role":"user","content":"hi"}],"tools":[{"type":null}]})", "m");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "unsupported_for_anthropic");
  EXPECT_FALSE(chat_to_messages_request(R"({"messages":[{"role":null}]})", "m"));
}

TEST(ChatToMessages, DefaultsAndClamps) {
  const json m = request({{"model", "a"},
                          {"stream", true},
                          {"temperature", 1.8},
                          {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  EXPECT_EQ(m["max_tokens"], kDefaultMaxTokens);  // Anthropic requires one
  EXPECT_DOUBLE_EQ(m["temperature"].get<double>(), 1.0);
  EXPECT_EQ(m["stream"], true);
  EXPECT_FALSE(m.contains("system"));
}

TEST(ChatToMessages, ReasoningEffortBecomesExtendedThinking) {
  const json ask = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "why?"}}}}};
  // Without max_tokens: the effort's budget, and room for the default answer besides.
  json r = ask;
  r["reasoning_effort"] = "high";
  r["temperature"] = 0.2;
  r["top_p"] = 0.5;
  json out = request(r);
  EXPECT_EQ(out["thinking"], json::parse(R"({"type":"enabled","budget_tokens":24576})"));
  EXPECT_EQ(out["max_tokens"], 24576 + kDefaultMaxTokens);
  EXPECT_FALSE(out.contains("temperature"));  // Anthropic takes neither with thinking
  EXPECT_FALSE(out.contains("top_p"));
  // With max_tokens: at most half of it; top_p ≥ 0.95 kept.
  r["max_tokens"] = 6000;
  r["top_p"] = 0.97;
  out = request(r);
  EXPECT_EQ(out["thinking"]["budget_tokens"], 3000);
  EXPECT_EQ(out["max_tokens"], 6000);
  EXPECT_EQ(out["top_p"], 0.97);
  r["reasoning_effort"] = "low";
  EXPECT_EQ(request(r)["thinking"]["budget_tokens"], 2048);
  // No thinking: none asked, "none", unknown, too few tokens, a forced tool, a tool loop going on.
  for (auto [effort, max] : std::vector<std::pair<const char*, int>>{
           {"", 0}, {"none", 0}, {"extreme", 0}, {"high", 2047}}) {
    json q = ask;
    q["temperature"] = 0.2;
    if (*effort) q["reasoning_effort"] = effort;
    if (max) q["max_tokens"] = max;
    json o = request(q);
    EXPECT_FALSE(o.contains("thinking")) << effort << " " << max;
    EXPECT_EQ(o["temperature"], 0.2) << effort;
  }
  json forced = ask;
  forced["reasoning_effort"] = "medium";
  forced["response_format"] = {{"type", "json_object"}};
  EXPECT_FALSE(request(forced).contains("thinking"));
  json loop = ask;
  loop["reasoning_effort"] = "medium";
  loop["tools"] = json::parse(R"([{"type":"function","function":{"name":"f"}}])");
  loop["messages"].push_back(json::parse(
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]})"));
  loop["messages"].push_back(json::parse(R"({"role":"tool","tool_call_id":"c1","content":"sun"})"));
  EXPECT_FALSE(request(loop).contains("thinking"));
  loop["messages"].push_back(json::parse(R"({"role":"assistant","content":"It is sunny."})"));
  loop["messages"].push_back(json::parse(R"({"role":"user","content":"and tomorrow?"})"));
  EXPECT_EQ(request(loop)["thinking"]["budget_tokens"], 8192);  // the loop ended
  loop["messages"].push_back(json::parse(R"({"role":"assistant","content":"Tomorrow it will"})"));
  EXPECT_FALSE(request(loop).contains("thinking"));  // a prefill: Anthropic refuses it thinking
}

TEST(ChatToMessages, FilePartsWithDataBecomeDocuments) {
  json m = request({{"messages",
                     {{{"role", "user"},
                       {"content",
                        {{{"type", "file"}, {"file", {{"filename", "a.pdf"}, {"file_data", "data:application/pdf;base64,JVBE"}}}},
                         {{"type", "text"}, {"text", "summarise"}}}}}}}});
  EXPECT_EQ(m["messages"][0]["content"][0],
            (json{{"type", "document"},
                  {"source", {{"type", "base64"}, {"media_type", "application/pdf"}, {"data", "JVBE"}}},
                  {"title", "a.pdf"}}));
  json named = request({{"messages",
                         {{{"role", "user"},
                           {"content",
                            {{{"type", "file"}, {"file", {{"file_data", "data:application/pdf;name=a.pdf;base64,JVBE"}}}}}}}}}});
  EXPECT_EQ(named["messages"][0]["content"][0]["source"]["media_type"], "application/pdf");
  auto by_id = chat_to_messages_request(
      json{{"messages", {{{"role", "user"}, {"content", {{{"type", "file"}, {"file", {{"file_id", "file-1"}}}}}}}}}}.dump(), "m");
  ASSERT_FALSE(by_id);
  EXPECT_NE(by_id.error().message.find("without base64 file_data"), std::string::npos);
}

TEST(ChatToMessages, RefusesWhatItCannotCarry) {
  const json hi = {{{"role", "user"}, {"content", "hi"}}};
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"messages", hi}, {"n", 2}}, "n other than 1"},
      {{{"messages", hi}, {"logprobs", true}}, "logprobs"},
      {{{"messages", hi}, {"response_format", {{"type", "grammar"}}}}, "response_format grammar"},
      {{{"messages", hi},
        {"response_format",
         {{"type", "json_schema"}, {"json_schema", {{"name", "list"}, {"schema", {{"type", "array"}}}}}}}},
       "root is not an object"},
      {{{"messages", hi},
        {"response_format", {{"type", "json_object"}}},
        {"tools", {{{"type", "function"}, {"function", {{"name", "f"}}}}}}},
       "together with tools"},
      {{{"messages", {{{"role", "user"}, {"content", {{{"type", "input_audio"}}}}}}}},
       "input_audio"},
      {{{"messages", {{{"role", "function"}, {"content", "x"}}}}}, "role 'function'"},
      {{{"messages", hi}, {"tools", {{{"type", "web_search"}}}}}, "only function tools"},
  };
  for (const auto& [chat, needle] : cases) {
    auto r = chat_to_messages_request(chat.dump(), "m");
    ASSERT_FALSE(r) << chat.dump();
    EXPECT_EQ(r.error().code, "unsupported_for_anthropic");
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  }
  for (const char* bad : {"nope", "[]", R"({"messages":5})",
                          R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}]})",
                          R"({"messages":[{"role":"tool","content":"x"}]})"}) {
    auto r = chat_to_messages_request(bad, "m");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest) << bad;
  }
}

TEST(MessagesToChat, WholeAnswersTextToolsUsageAndStopReasons) {
  auto c = messages_to_chat_completion(
      R"({"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[)"
      R"({"type":"thinking","thinking":"hmm"},{"type":"text","text":"Hi "},{"type":"text","text":"there"},)"
      R"({"type":"tool_use","id":"t1","name":"f","input":{"x":[1,2]}}],"stop_reason":"tool_use",)"
      R"("usage":{"input_tokens":10,"cache_read_input_tokens":90,"cache_creation_input_tokens":20,"output_tokens":5}})");
  ASSERT_TRUE(c);
  const json j = json::parse(*c);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["id"], "msg_1");
  EXPECT_EQ(j["model"], "claude");
  const json& choice = j["choices"][0];
  EXPECT_EQ(choice["message"]["content"], "Hi there");
  EXPECT_EQ(choice["message"]["reasoning_content"], "hmm");  // the thinking block
  EXPECT_EQ(choice["message"]["tool_calls"][0]["function"]["arguments"], R"({"x":[1,2]})");
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  // Cache reads and writes are prompt tokens; the writes under the name OpenAI-compatible proxies
  // of Anthropic models give them.
  EXPECT_EQ(j["usage"], json::parse(R"({"prompt_tokens":120,"completion_tokens":5,"total_tokens":125,
    "prompt_tokens_details":{"cached_tokens":90},"cache_creation_input_tokens":20})"));
  auto read_back = parse_usage(*c);
  ASSERT_TRUE(read_back);
  EXPECT_EQ(read_back->cached_prompt_tokens, 90);
  EXPECT_EQ(read_back->cache_write_prompt_tokens, 20);
  for (auto [reason, finish] : std::vector<std::pair<const char*, const char*>>{
           {"end_turn", "stop"}, {"stop_sequence", "stop"}, {"max_tokens", "length"},
           {"refusal", "content_filter"}}) {
    auto r = messages_to_chat_completion(std::string(R"({"type":"message","content":[],"stop_reason":")") +
                                         reason + "\"}");
    ASSERT_TRUE(r);
    EXPECT_EQ(json::parse(*r)["choices"][0]["finish_reason"], finish) << reason;
  }
  for (const char* bad : {"", "garbage", R"({"type":"error"})", R"({"type":"message"})"}) {
    auto r = messages_to_chat_completion(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "upstream_bad_answer");
  }
}

TEST(MessagesToChat, ErrorBodiesInOpenAIShape) {
  json e = json::parse(messages_error_to_openai(
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
  EXPECT_EQ(e["error"]["message"], "Overloaded");
  EXPECT_EQ(e["error"]["type"], "overloaded_error");
  e = json::parse(messages_error_to_openai("<html>bad gateway</html>"));
  EXPECT_EQ(e["error"]["message"], "<html>bad gateway</html>");
}

// The chunks' JSON objects and whether [DONE] came, from the translated SSE bytes.
struct Chunks {
  std::vector<json> events;
  bool done = false;
};
Chunks feed(MessagesToChatStream& s, const std::vector<std::string>& events) {
  Chunks out;
  for (const auto& e : events) {
    const std::string sse = s.event(e);
    std::size_t pos = 0;
    while ((pos = sse.find("data: ", pos)) != std::string::npos) {
      const auto end = sse.find("\n\n", pos);
      const std::string data = sse.substr(pos + 6, end - pos - 6);
      if (data == "[DONE]") out.done = true;
      else out.events.push_back(json::parse(data));
      pos = end;
    }
  }
  return out;
}

const std::vector<std::string> kToolStream = {
    R"({"type":"message_start","message":{"id":"msg_s","model":"claude","usage":{"input_tokens":7,"output_tokens":1}}})",
    R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})",
    R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"secret"}})",
    R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})",
    R"({"type":"ping"})",
    R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hel"}})",
    R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"lo"}})",
    R"({"type":"content_block_stop","index":1})",
    R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}})",
    R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}})",
    R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"1}"}})",
    R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}})",
    R"({"type":"message_stop"})"};

TEST(MessagesToChatStream, TextToolCallsFinishAndUsageOnTheLastChunk) {
  MessagesToChatStream s(/*include_usage=*/false);
  const Chunks c = feed(s, kToolStream);
  ASSERT_TRUE(c.done);
  // role, the thinking, 2 texts, the tool call start, 2 argument deltas, finish
  ASSERT_EQ(c.events.size(), 8u);
  EXPECT_EQ(c.events[1]["choices"][0]["delta"], json::parse(R"({"reasoning_content":"secret"})"));
  EXPECT_EQ(c.events[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(c.events[0]["id"], "msg_s");
  std::string text, args;
  for (const auto& e : c.events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    const json& d = e["choices"][0]["delta"];
    if (d.contains("content")) text += d["content"].get<std::string>();
    if (d.contains("tool_calls")) {
      EXPECT_EQ(d["tool_calls"][0]["index"], 0);
      args += d["tool_calls"][0]["function"]["arguments"].get<std::string>();
    }
  }
  EXPECT_EQ(text, "Hello");  // the thinking delta is not content
  EXPECT_EQ(args, R"({"a":1})");
}

// An answer Anthropic ended on a stop sequence names it where vLLM does, the choice's
// `stop_reason`, whole and on the finishing chunk (it was dropped: a Messages client served through
// chat — a cascade's — and the cache could not say which one); other stops name none.
TEST(MessagesToChat, TheStopSequenceIsTheChoicesStopReason) {
  auto whole = [](const std::string& stop) {
    auto r = messages_to_chat_completion(
        R"({"type":"message","content":[{"type":"text","text":"a"}],)" + stop + "}");
    EXPECT_TRUE(r);
    return r ? json::parse(*r)["choices"][0] : json();
  };
  json c = whole(R"("stop_reason":"stop_sequence","stop_sequence":"END")");
  EXPECT_EQ(c["finish_reason"], "stop");
  EXPECT_EQ(c["stop_reason"], "END");
  EXPECT_FALSE(whole(R"("stop_reason":"end_turn","stop_sequence":null)").contains("stop_reason"));
  EXPECT_FALSE(whole(R"("stop_reason":"stop_sequence")").contains("stop_reason"));

  for (const char* stop : {R"("stop_reason":"stop_sequence","stop_sequence":"END")",
                           R"("stop_reason":"end_turn","stop_sequence":null)"}) {
    MessagesToChatStream s(/*include_usage=*/true);
    const Chunks chunks = feed(
        s, {R"({"type":"message_start","message":{"id":"m","model":"claude","usage":{}}})",
            R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
            R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}})",
            R"({"type":"content_block_stop","index":0})",
            std::string(R"({"type":"message_delta","delta":{)") + stop + R"(},"usage":{"output_tokens":1}})",
            R"({"type":"message_stop"})"});
    ASSERT_TRUE(chunks.done);
    const json& finishing = chunks.events.at(chunks.events.size() - 2)["choices"][0];
    EXPECT_EQ(finishing["finish_reason"], "stop") << stop;
    const bool named = std::string(stop).find("END") != std::string::npos;
    EXPECT_EQ(finishing.contains("stop_reason"), named) << stop;
    if (named) {
      EXPECT_EQ(finishing["stop_reason"], "END");
    }
  }
}

// A JSON response_format over Anthropic: one forced tool whose input is the answer.
TEST(ChatToMessages, JsonResponseFormatsBecomeAForcedToolReadBackAsContent) {
  const json hi = {{{"role", "user"}, {"content", "hi"}}};
  const json schema = {{"type", "object"},
                       {"properties", {{"answer", {{"type", "integer"}}}}},
                       {"required", {"answer"}}};
  const json chat = {{"messages", hi},
                     {"response_format",
                      {{"type", "json_schema"},
                       {"json_schema", {{"name", "math_answer"}, {"description", "The sum."},
                                        {"schema", schema}, {"strict", true}}}}}};
  json m = request(chat);
  ASSERT_EQ(m["tools"].size(), 1u);
  EXPECT_EQ(m["tools"][0]["name"], "math_answer");
  EXPECT_EQ(m["tools"][0]["input_schema"], schema);
  EXPECT_NE(m["tools"][0]["description"].get<std::string>().find("The sum."), std::string::npos);
  EXPECT_EQ(m["tool_choice"], (json{{"type", "tool"}, {"name", "math_answer"}}));
  EXPECT_EQ(structured_output_tool(chat.dump()), "math_answer");
  // json_object: any object, under the default name; a schema name Anthropic refuses: the same.
  json any = request({{"messages", hi}, {"response_format", {{"type", "json_object"}}}});
  EXPECT_EQ(any["tools"][0]["name"], kStructuredOutputTool);
  EXPECT_EQ(any["tools"][0]["input_schema"], (json{{"type", "object"}}));
  EXPECT_EQ(structured_output_tool(
                json{{"messages", hi},
                     {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "a b"}}}}}}
                    .dump()),
            kStructuredOutputTool);
  EXPECT_EQ(structured_output_tool(json{{"messages", hi}}.dump()), "");
  EXPECT_EQ(structured_output_tool(json{{"messages", hi}, {"response_format", {{"type", "text"}}}}.dump()), "");

  // The answer: the tool's input as the content, finish stop; the words beside it left out.
  const std::string message = R"({"id":"msg_j","type":"message","model":"claude","role":"assistant",
      "content":[{"type":"text","text":"Here it is:"},
                 {"type":"tool_use","id":"t","name":"math_answer","input":{"answer":4}}],
      "stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":3}})";
  auto whole = messages_to_chat_completion(message, "math_answer");
  ASSERT_TRUE(whole);
  const json c = json::parse(*whole);
  EXPECT_EQ(c["choices"][0]["message"]["content"], R"({"answer":4})");
  EXPECT_FALSE(c["choices"][0]["message"].contains("tool_calls"));
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
  // The keys in the order the model wrote them; cut by max_tokens: length, not a finished answer.
  const std::string cut = R"({"id":"m","type":"message","model":"c","role":"assistant",
      "content":[{"type":"tool_use","id":"t","name":"math_answer","input":{"zeta":1,"alpha":{"y":2,"b":3}}}],
      "stop_reason":"max_tokens","usage":{"input_tokens":5,"output_tokens":3}})";
  const json cc = json::parse(*messages_to_chat_completion(cut, "math_answer"));
  EXPECT_EQ(cc["choices"][0]["message"]["content"], R"({"zeta":1,"alpha":{"y":2,"b":3}})");
  EXPECT_EQ(cc["choices"][0]["finish_reason"], "length");
  // Without the output tool it is an ordinary tool call.
  EXPECT_EQ(json::parse(*messages_to_chat_completion(message))["choices"][0]["finish_reason"],
            "tool_calls");

  MessagesToChatStream stream(false, "math_answer");
  const Chunks chunks = feed(stream, {
      R"({"type":"message_start","message":{"id":"msg_j","model":"claude","usage":{"input_tokens":5,"output_tokens":1}}})",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Here it is:"}})",
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"math_answer","input":{}}})",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"answer\""}})",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":":4}"}})",
      R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}})",
      R"({"type":"message_stop"})"});
  ASSERT_TRUE(chunks.done);
  std::string text, finish;
  for (const auto& e : chunks.events) {
    const json& d = e["choices"][0]["delta"];
    EXPECT_FALSE(d.contains("tool_calls"));
    if (d.contains("content")) text += d["content"].get<std::string>();
    if (!e["choices"][0]["finish_reason"].is_null()) finish = e["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, R"({"answer":4})");
  EXPECT_EQ(finish, "stop");
  MessagesToChatStream truncated(false, "math_answer");
  const Chunks t = feed(truncated, {
      R"({"type":"message_start","message":{"id":"msg_j","model":"claude","usage":{"input_tokens":5,"output_tokens":1}}})",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"math_answer","input":{}}})",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"answer\""}})",
      R"({"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":3}})",
      R"({"type":"message_stop"})"});
  EXPECT_EQ(t.events.back()["choices"][0]["finish_reason"], "length");
}

TEST(MessagesToChatStream, FinishChunkCarriesUsageOrASeparateUsageChunkWhenAsked) {
  MessagesToChatStream plain(false);
  Chunks c = feed(plain, kToolStream);
  ASSERT_FALSE(c.events.empty());
  // The event before [DONE] is the finishing one, with the usage.
  const json& last = c.events.back();
  EXPECT_EQ(last["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(last["usage"], json::parse(R"({"prompt_tokens":7,"completion_tokens":9,"total_tokens":16,
    "prompt_tokens_details":{"cached_tokens":0}})"));

  MessagesToChatStream asked(true);
  c = feed(asked, kToolStream);
  ASSERT_GE(c.events.size(), 2u);
  EXPECT_FALSE(c.events[c.events.size() - 2].contains("usage"));
  EXPECT_EQ(c.events.back()["choices"], json::array());
  EXPECT_EQ(c.events.back()["usage"]["completion_tokens"], 9);
  EXPECT_TRUE(c.done);
  // Nothing after [DONE], whatever the upstream sends next.
  EXPECT_EQ(asked.event(R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"late"}})"), "");
  EXPECT_EQ(asked.event(R"({"type":"message_stop"})"), "");
}

TEST(MessagesToChatStream, ErrorEventsAndGarbage) {
  MessagesToChatStream s(false);
  Chunks c = feed(s, {"not json", R"({"type":"content_block_delta"})",  // before message_start
                      R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})"});
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0]["error"]["message"], "busy");
  EXPECT_EQ(c.events[0]["error"]["type"], "overloaded_error");
  EXPECT_FALSE(c.done);
}

}  // namespace
}  // namespace switchboard::api
