// The cache's pieces without weights: normalisation and the deterministic rule, guard features,
// answers (plain, streamed, incomplete), the in-process store's TTL and LRU bounds, the config.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/chat_request.h"
#include "api/messages.h"
#include "cache/answer.h"
#include "cache/semantic_index.h"
#include "cache/cache_config.h"
#include "cache/features.h"
#include "cache/memory_store.h"
#include "cache/request_key.h"
#include "config/config.h"

namespace switchboard::cache {
namespace {

NormalisedRequest norm(const std::string& body) {
  auto req = api::parse_chat_request(body);
  EXPECT_TRUE(req) << body;
  auto n = normalise(body, *req);
  EXPECT_TRUE(n);
  return *n;
}

TEST(CacheKey, WhitespaceKeyOrderStreamAndRouteDoNotMatter) {
  const auto a = norm(
      R"({"model":"r","messages":[{"role":"user","content":"Hello   world"}],"max_tokens":5})");
  const auto b = norm(R"({ "max_tokens": 5, "stream": true, "model": "other",
      "messages": [ {"content": "  Hello   world\n", "role": "user"} ], "user": "u1", "n": 1 })");
  EXPECT_EQ(a.exact, b.exact);
  EXPECT_EQ(a.partition, b.partition);
  EXPECT_EQ(a.last_text, "Hello world");
}

// Logprobs asked for are not cached: a cached answer keeps none to give back.
TEST(CacheKey, LogprobsAreNotCached) {
  EXPECT_TRUE(norm(R"({"model":"r","messages":[{"role":"user","content":"Hi"}],"logprobs":true})")
                  .logprobs);
  EXPECT_FALSE(norm(R"({"model":"r","messages":[{"role":"user","content":"Hi"}],"logprobs":false})")
                   .logprobs);
}

// Whitespace inside a text is part of the exact key: indentation is code's meaning (a sweep got
// the answer for unindented Python to the indented one, on an exact-only route).
TEST(CacheKey, WhitespaceInsideATextCounts) {
  const auto indented = norm(
      R"j({"model":"r","messages":[{"role":"user","content":"Fix:\nif x:\n    y()\nz()"}]})j");
  const auto flat = norm(
      R"j({"model":"r","messages":[{"role":"user","content":"Fix:\nif x:\ny()\nz()"}]})j");
  EXPECT_NE(indented.exact, flat.exact);
  const auto tabs = norm(R"({"model":"r","messages":[{"role":"user","content":"a\tb"}]})");
  const auto spaces = norm(R"({"model":"r","messages":[{"role":"user","content":"a b"}]})");
  EXPECT_NE(tabs.exact, spaces.exact);
  const auto sys1 = norm(
      R"({"model":"r","messages":[{"role":"system","content":"a  b"},{"role":"user","content":"q"}]})");
  const auto sys2 = norm(
      R"({"model":"r","messages":[{"role":"system","content":"a b"},{"role":"user","content":"q"}]})");
  EXPECT_NE(sys1.partition, sys2.partition);
}

TEST(CacheKey, ParametersAndHistoryChangeTheKey) {
  const std::string base = R"({"model":"r","messages":[{"role":"user","content":"Hi"}]})";
  const auto a = norm(base);
  EXPECT_NE(
      a.exact,
      norm(R"({"model":"r","messages":[{"role":"user","content":"Hi"}],"max_tokens":9})").exact);
  EXPECT_NE(a.exact, norm(R"({"model":"r","messages":[{"role":"user","content":"hi"}]})").exact);
  EXPECT_NE(
      a.exact,
      norm(R"({"model":"r","messages":[{"role":"user","content":"Hi"}],"temperature":0})").exact);
  // One setting written three ways is one key (0.0 missed the answer stored for 0).
  for (const char* zero : {"0.0", "0e0", "-0"})
    EXPECT_EQ(norm(R"({"model":"r","messages":[{"role":"user","content":"Hi"}],"temperature":0})").exact,
              norm(std::string(R"({"model":"r","messages":[{"role":"user","content":"Hi"}],"temperature":)") +
                   zero + "}").exact)
        << zero;
  const auto sys = norm(
      R"({"model":"r","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hi"}]})");
  EXPECT_NE(a.partition, sys.partition);
  EXPECT_NE(a.exact, sys.exact);
  // Same history and parameters, another last question: same partition, another key.
  const auto other = norm(R"({"model":"r","messages":[{"role":"user","content":"Bye"}]})");
  EXPECT_EQ(a.partition, other.partition);
  EXPECT_NE(a.exact, other.exact);
}

TEST(CacheKey, ImagesArePartOfTheKeyAndMatchOnlyExactly) {
  auto with_image = [](const std::string& url) {
    return norm(R"({"model":"r","messages":[{"role":"user","content":[)"
                R"({"type":"text","text":"What is in this picture?"},)"
                R"({"type":"image_url","image_url":{"url":")" + url + R"("}}]}]})");
  };
  const auto cat = with_image("data:image/png;base64,Y2F0");
  const auto dog = with_image("data:image/png;base64,ZG9n");
  EXPECT_NE(cat.exact, dog.exact);
  EXPECT_EQ(cat.exact, with_image("data:image/png;base64,Y2F0").exact);
  // Not in the partition of the same question without an image (no semantic match across).
  const auto text = norm(
      R"({"model":"r","messages":[{"role":"user","content":"What is in this picture?"}]})");
  EXPECT_NE(cat.partition, text.partition);
  EXPECT_NE(cat.partition, dog.partition);
  // Text parts alone normalise as before.
  const auto parts = norm(R"({"model":"r","messages":[{"role":"user","content":[)"
                          R"({"type":"text","text":"What is in this picture?"}]}]})");
  EXPECT_EQ(parts.exact, text.exact);
}

TEST(CacheKey, DeterministicRule) {
  EXPECT_TRUE(norm(R"({"model":"r","messages":[{"role":"user","content":"x"}]})").deterministic);
  EXPECT_TRUE(norm(R"({"model":"r","messages":[{"role":"user","content":"x"}],"temperature":0})")
                  .deterministic);
  EXPECT_TRUE(
      norm(R"({"model":"r","messages":[{"role":"user","content":"x"}],"tools":[]})").deterministic);
  auto t = norm(R"({"model":"r","messages":[{"role":"user","content":"x"}],"temperature":0.7})");
  EXPECT_FALSE(t.deterministic);
  EXPECT_EQ(t.not_deterministic, "temperature");
  // Tools are cached (exact matches only, decided by the stage); the legacy functions are not.
  const auto tools = norm(
      R"({"model":"r","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]})");
  EXPECT_TRUE(tools.deterministic);
  EXPECT_TRUE(tools.has_tools);
  EXPECT_FALSE(
      norm(R"({"model":"r","messages":[{"role":"user","content":"x"}],"tools":[]})").has_tools);
  auto f = norm(
      R"({"model":"r","messages":[{"role":"user","content":"x"}],"functions":[{"name":"f"}]})");
  EXPECT_FALSE(f.deterministic);
  EXPECT_EQ(f.not_deterministic, "functions");
  auto n = norm(R"({"model":"r","messages":[{"role":"user","content":"x"}],"n":2})");
  EXPECT_FALSE(n.deterministic);
  EXPECT_TRUE(n.multiple_choices);
}

// An agent's turn after a tool call: the call's id (and the tool result's tool_call_id) is keyed by
// its order of appearance, and a call's fields in any order, so the turn after a cached call
// (another id, fields as the cache writes them) matches the turn recorded after the original.
TEST(CacheKey, ToolCallIdsAndFieldOrderDoNotMatterTheirContentDoes) {
  auto turn = [](const std::string& call, const std::string& id, const std::string& result) {
    return norm(R"({"model":"r","tools":[{"type":"function","function":{"name":"w"}}],"messages":[)"
                R"({"role":"user","content":"Weather?"},)"
                R"({"role":"assistant","content":null,"tool_calls":[)" +
                call + R"(]},{"role":"tool","tool_call_id":")" + id + R"(","content":")" + result +
                R"("}]})");
  };
  const auto a = turn(
      R"({"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"c\":\"P\"}"}})",
      "call_1", "21C");
  const auto b = turn(
      R"({"function":{"arguments":"{\"c\":\"P\"}","name":"w"},"id":"call_x_0","type":"function"})",
      "call_x_0", "21C");
  EXPECT_EQ(a.exact, b.exact);
  EXPECT_EQ(a.partition, b.partition);
  EXPECT_NE(a.exact, turn(R"({"id":"call_1","type":"function","function":{"name":"w",)"
                          R"("arguments":"{\"c\":\"L\"}"}})",
                          "call_1", "21C")
                         .exact)
      << "other arguments";
  EXPECT_NE(a.exact, turn(R"({"id":"call_1","type":"function","function":{"name":"w",)"
                          R"("arguments":"{\"c\":\"P\"}"}})",
                          "call_1", "5C")
                         .exact)
      << "another tool result";
  EXPECT_NE(a.exact, turn(R"({"id":"call_1","type":"function","function":{"name":"w",)"
                          R"("arguments":"{\"c\":\"P\"}"}})",
                          "call_2", "21C")
                         .exact)
      << "a result for another call than the one made";
}

// Operators embed alike ("Compute 2 + 3" answered with the answer to "2 - 3", similarity 1.0):
// a swap of one keeps the cached answer away; hyphens and exclamation marks are no operators.
TEST(CacheFeatures, OperatorsAndSigns) {
  const auto same = [](std::string_view a, std::string_view b) {
    return compatible(extract_features(a), extract_features(b));
  };
  EXPECT_FALSE(same("Compute 2 + 3", "Compute 2 - 3"));
  EXPECT_FALSE(same("What is -5 squared?", "What is 5 squared?"));
  EXPECT_FALSE(same("Is x >= y?", "Is x <= y?"));
  EXPECT_FALSE(same("if a == b", "if a != b"));
  EXPECT_FALSE(same("p && q", "p || q"));
  EXPECT_FALSE(same("Add 15% tax", "Add 15 tax"));
  EXPECT_FALSE(same("a + b - c", "a - b + c"));
  EXPECT_TRUE(same("Compute 2 + 3", "compute 2 + 3, please"));
  EXPECT_TRUE(same("a well-known e-mail trick", "a well known e mail trick"));
  EXPECT_TRUE(same("Hello! How are you?", "Hello, how are you?"));
}

TEST(CacheFeatures, NumbersNegationsEntitiesLanguagesPolarity) {
  auto f = [](const char* s) { return extract_features(s); };
  EXPECT_EQ(f("How many calories in 2 eggs?"), f("how many calories in two eggs"));
  EXPECT_NE(f("How many calories in 2 eggs?"), f("How many calories in 3 eggs?"));
  EXPECT_NE(f("1,000 people"), f("1,001 people"));
  EXPECT_EQ(f("1,000 people"), f("1000 people"));
  EXPECT_NE(f("Why does it work?"), f("Why doesn't it work?"));
  EXPECT_NE(f("Why does it work?"), f("Why does it not work?"));
  EXPECT_EQ(f("What is the capital of France?"), f("Which city is the capital of France?"));
  EXPECT_NE(f("What is the capital of France?"), f("What is the capital of Germany?"));
  EXPECT_NE(f("Translate it into French."), f("Translate it into german."));
  EXPECT_EQ(f("Explain pointers in C++."), f("explain pointers in c++"));
  EXPECT_NE(f("Explain pointers in C++."), f("Explain pointers in C#."));
  EXPECT_NE(f("How do I enable it?"), f("How do I disable it?"));
  EXPECT_NE(f("Turn on the light"), f("Turn off the light"));
  EXPECT_NE(f("convert km to miles"), f("convert miles to km"));
  // Sentence-initial ordinary words are not entities.
  EXPECT_EQ(f("Explain the water cycle."), f("Describe the water cycle."));
}

TEST(CacheAnswer, FromBodyAndBack) {
  const std::string body =
      R"({"id":"x","object":"chat.completion","model":"m1","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}})";
  auto a = answer_from_body(body);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->content, "Hi there");
  EXPECT_EQ(a->model, "m1");
  EXPECT_EQ(a->prompt_tokens, 3);
  auto again = answer_from_body(completion_body(*a, "chatcmpl-1", 1));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->content, a->content);
  EXPECT_EQ(Answer::deserialise(a->serialise())->content, "Hi there");
  // The routed model travels with the entry (Redis); an entry stored before it was kept reads "".
  a->routed_model = "fast";
  EXPECT_EQ(Answer::deserialise(a->serialise())->routed_model, "fast");
  EXPECT_EQ(Answer::deserialise(R"({"c":"x","f":"stop","m":"m1","p":1,"t":1,"u":0})")->routed_model,
            "");
  // Entries other writers put in Redis: counts that overflow or bill negative are refused.
  EXPECT_FALSE(Answer::deserialise(R"({"c":"x","f":"stop","m":"m1","p":-5,"t":1,"u":0})"));
  EXPECT_FALSE(
      Answer::deserialise(R"({"c":"x","f":"stop","m":"m1","p":9223372036854775807,"t":9,"u":0})"));
  EXPECT_FALSE(Answer::deserialise(R"({"c":"x","f":"stop","m":"m1","p":1,"t":1,"u":-1})"));
  // An embedding read from a store must be a finite unit vector (a NaN one matched any prompt).
  EXPECT_TRUE(unit_embedding({0.6f, 0.8f}));
  EXPECT_FALSE(unit_embedding({0.6f, std::nanf("")}));
  EXPECT_FALSE(unit_embedding({6.f, 8.f}));
  EXPECT_FALSE(unit_embedding({0.f, 0.f}));
  // Not storable: a malformed tool call, the legacy function_call, two choices, no
  // finish_reason, an error.
  EXPECT_FALSE(answer_from_body(
      R"({"choices":[{"message":{"content":null,"tool_calls":[{}]},"finish_reason":"tool_calls"}]})"));
  EXPECT_FALSE(answer_from_body(
      R"({"choices":[{"message":{"content":null,"function_call":{"name":"f","arguments":"{}"}},"finish_reason":"function_call"}]})"));
  EXPECT_FALSE(answer_from_body(
      R"({"choices":[{"message":{"content":null},"finish_reason":"stop"}]})"));
  EXPECT_FALSE(answer_from_body(
      R"({"choices":[{"message":{"content":"a"},"finish_reason":"stop"},{"message":{"content":"b"},"finish_reason":"stop"}]})"));
  EXPECT_FALSE(answer_from_body(R"({"choices":[{"message":{"content":"a"}}]})"));
  EXPECT_FALSE(answer_from_body(R"({"error":{"message":"x"}})"));
}

TEST(CacheAnswer, FromStreamOnlyWhenComplete) {
  Answer a{"Héllo wörld, a longer answer.", "stop", "m", 4, 7, 0.5};
  const std::string sse = completion_sse(a, "id", 1, true, 5);  // pieces of ≤ 5 bytes
  auto back = answer_from_sse(sse);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->content, a.content);  // UTF-8 never cut
  EXPECT_EQ(back->finish_reason, "stop");
  EXPECT_EQ(back->completion_tokens, 7);
  EXPECT_TRUE(sse.ends_with("data: [DONE]\n\n"));
  // Without [DONE], cut in the middle, or with an error event: not an answer.
  EXPECT_FALSE(answer_from_sse(sse.substr(0, sse.size() - 14)));
  EXPECT_FALSE(answer_from_sse(sse.substr(0, sse.size() / 2)));
  EXPECT_FALSE(answer_from_sse("data: {\"error\":{\"message\":\"x\"}}\n\ndata: [DONE]\n\n"));
}

TEST(CacheAnswer, ToolCallsAreKeptWholeStreamedAndInRedis) {
  const std::string body =
      R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,)"
      R"("tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather",)"
      R"("arguments":"{\"city\":\"Zürich\"}"}},{"id":"call_b","type":"function",)"
      R"("function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":"tool_calls"}],)"
      R"("usage":{"prompt_tokens":9,"completion_tokens":12}})";
  auto a = answer_from_body(body);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->tool_calls.size(), 2u);
  EXPECT_EQ(a->tool_calls[0], (ToolCall{"call_a", "get_weather", R"({"city":"Zürich"})"}));
  EXPECT_EQ(a->tool_calls[1].name, "get_time");
  EXPECT_EQ(a->content, "");
  EXPECT_EQ(a->finish_reason, "tool_calls");
  // Whole: content null beside the calls, as OpenAI sends it.
  const auto whole = nlohmann::json::parse(completion_body(*a, "chatcmpl-1", 1));
  EXPECT_TRUE(whole["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(whole["choices"][0]["message"]["tool_calls"][1]["type"], "function");
  EXPECT_EQ(answer_from_body(whole.dump())->tool_calls, a->tool_calls);
  // Streamed in pieces of 3 bytes (the arguments cut across deltas, UTF-8 whole) and read back.
  const std::string sse = completion_sse(*a, "id", 1, true, 3);
  auto back = answer_from_sse(sse);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->tool_calls, a->tool_calls);
  EXPECT_EQ(back->finish_reason, "tool_calls");
  // Text beside a call is kept too.
  a->content = "Let me look.";
  EXPECT_EQ(answer_from_sse(completion_sse(*a, "id", 1, false))->content, "Let me look.");
  EXPECT_EQ(answer_from_body(completion_body(*a, "id", 1))->content, "Let me look.");
  // The Redis form.
  EXPECT_EQ(Answer::deserialise(a->serialise())->tool_calls, a->tool_calls);
  EXPECT_FALSE(Answer::deserialise(R"({"c":"","f":"stop","m":"m","p":1,"t":1,"u":0,"k":{}})"));
  // A hit's calls get new ids, in the client API's form (toolu_… for a Messages client).
  a->renew_tool_call_ids("d_1");
  EXPECT_EQ(a->tool_calls[0].id, "call_d_1_0");
  EXPECT_EQ(a->tool_calls[1].id, "call_d_1_1");
  a->renew_tool_call_ids("d_2", "toolu_");
  EXPECT_EQ(a->tool_calls[0].id, "toolu_d_2_0");
  EXPECT_EQ(a->tool_calls[1].id, "toolu_d_2_1");
  // A stream whose call never got a name, or whose deltas skip an index: not stored.
  auto delta = [](const std::string& d, const char* finish = "null") {
    return "data: {\"choices\":[{\"index\":0,\"delta\":" + d +
           ",\"finish_reason\":" + finish + "}]}\n\n";
  };
  EXPECT_FALSE(answer_from_sse(
      delta(R"({"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]})") +
      delta("{}", "\"tool_calls\"") + "data: [DONE]\n\n"));
  EXPECT_FALSE(answer_from_sse(
      delta(R"({"tool_calls":[{"index":1,"id":"c","function":{"name":"f","arguments":"{}"}}]})") +
      delta("{}", "\"tool_calls\"") + "data: [DONE]\n\n"));
  EXPECT_TRUE(answer_from_sse(
      delta(R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]})") +
      delta("{}", "\"tool_calls\"") + "data: [DONE]\n\n"));
}

// The stop string that ended an answer (vLLM's choice `stop_reason`, SGLang's `matched_stop`, an
// Anthropic answer's stop_sequence) is kept, whole, streamed and in Redis, and written back where
// vLLM puts it — so a Messages client's hit says stop_reason "stop_sequence" with the string, as
// the live answer did (it said end_turn).
TEST(CacheAnswer, TheMatchedStopIsKeptAndAMessagesHitNamesIt) {
  for (const char* key : {"stop_reason", "matched_stop"}) {
    nlohmann::json body = nlohmann::json::parse(
        R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"1, 2"},
            "finish_reason":"stop"}]})");
    body["choices"][0][key] = ", 3";
    auto a = answer_from_body(body.dump());
    ASSERT_TRUE(a) << key;
    EXPECT_EQ(a->matched_stop, ", 3") << key;
    body["choices"][0][key] = 128009;  // a stop token's id: no string
    EXPECT_EQ(answer_from_body(body.dump())->matched_stop, "") << key;
  }
  Answer a{"1, 2", "stop", "m", 4, 2, 0.5};
  a.matched_stop = ", 3";
  const auto whole = nlohmann::json::parse(completion_body(a, "chatcmpl-1", 1));
  EXPECT_EQ(whole["choices"][0]["stop_reason"], ", 3");
  const std::string sse = completion_sse(a, "id", 1, true, 3);
  for (auto back : {answer_from_body(whole.dump()), answer_from_sse(sse),
                    Answer::deserialise(a.serialise())}) {
    ASSERT_TRUE(back);
    EXPECT_EQ(back->matched_stop, ", 3");
  }
  EXPECT_EQ(Answer::deserialise(R"({"c":"x","f":"stop","m":"m1","p":1,"t":1,"u":0})")->matched_stop,
            "");
  EXPECT_FALSE(nlohmann::json::parse(completion_body(Answer{"x", "stop", "m"}, "c", 1))["choices"][0]
                   .contains("stop_reason"));

  // What a Messages client that asked for that stop sequence is given, whole and streamed.
  auto request = api::parse_messages_request(
      R"({"model":"auto","max_tokens":9,"stop_sequences":[", 3"],"messages":[{"role":"user","content":"count"}]})");
  ASSERT_TRUE(request);
  auto message = nlohmann::json::parse(*api::messages_translator(&*request)->whole(whole.dump()));
  EXPECT_EQ(message["stop_reason"], "stop_sequence");
  EXPECT_EQ(message["stop_sequence"], ", 3");
  auto t = api::messages_translator(&*request);
  std::string events;
  for (std::size_t pos = 0; (pos = sse.find("data: ", pos)) != std::string::npos;) {
    const auto end = sse.find("\n\n", pos);
    events += t->event(sse.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  events += t->finish();
  EXPECT_NE(events.find(R"("stop_reason":"stop_sequence","stop_sequence":", 3")"), std::string::npos)
      << events;
}

// An Anthropic model's thinking keeps its signature through the cache (a Messages client sends it
// back): written as LiteLLM's thinking_blocks, whole and streamed, and in Redis.
TEST(CacheAnswer, ThinkingSignatureIsKeptWholeStreamedAndInRedis) {
  Answer a{"42", "stop", "claude-x", 3, 5, 0.1};
  a.reasoning = "Let me think.";
  a.reasoning_signature = "EqQBCkYIBxgC";
  const auto whole = nlohmann::json::parse(completion_body(a, "chatcmpl-1", 1));
  EXPECT_EQ(whole["choices"][0]["message"]["thinking_blocks"][0]["signature"], "EqQBCkYIBxgC");
  for (auto back : {answer_from_body(whole.dump()), answer_from_sse(completion_sse(a, "id", 1, false, 4)),
                    Answer::deserialise(a.serialise())}) {
    ASSERT_TRUE(back);
    EXPECT_EQ(back->reasoning, a.reasoning);
    EXPECT_EQ(back->reasoning_signature, a.reasoning_signature);
  }
}

TEST(CacheAnswer, ReasoningIsKeptWholeStreamedAndInRedis) {
  // Under either name a server gives it, from a whole body and from a stream.
  for (const char* key : {"reasoning_content", "reasoning"}) {
    nlohmann::json body = nlohmann::json::parse(
        R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"42"},
            "finish_reason":"stop"}]})");
    body["choices"][0]["message"][key] = "six times seven";
    auto a = answer_from_body(body.dump());
    ASSERT_TRUE(a) << key;
    EXPECT_EQ(a->reasoning, "six times seven") << key;
  }
  Answer a{"Forty-two.", "stop", "m", 4, 7, 0.5};
  a.reasoning = "Six times sevén is forty-two.";
  const std::string sse = completion_sse(a, "id", 1, false, 5);
  EXPECT_LT(sse.find("reasoning_content"), sse.find("\"content\":\"Forty"))
      << "the reasoning streams first";
  auto back = answer_from_sse(sse);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->reasoning, a.reasoning);  // UTF-8 never cut
  EXPECT_EQ(back->content, a.content);
  auto whole = answer_from_body(completion_body(a, "chatcmpl-1", 1));
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->reasoning, a.reasoning);
  EXPECT_EQ(nlohmann::json::parse(completion_body(a, "c", 1))["choices"][0]["message"]
                                                              ["reasoning_content"],
            a.reasoning);
  EXPECT_EQ(Answer::deserialise(a.serialise())->reasoning, a.reasoning);
  // No reasoning: none in the body, and an entry stored before it was kept reads "".
  a.reasoning.clear();
  EXPECT_FALSE(nlohmann::json::parse(completion_body(a, "c", 1))["choices"][0]["message"].contains(
      "reasoning_content"));
  EXPECT_EQ(completion_sse(a, "id", 1, false).find("reasoning"), std::string::npos);
  EXPECT_EQ(Answer::deserialise(R"({"c":"x","f":"stop","m":"m1","p":1,"t":1,"u":0})")->reasoning,
            "");
}

Entry entry(std::uint64_t n, std::size_t content_bytes = 10) {
  Entry e;
  e.exact = {n, n};
  e.partition = 1;
  e.answer.content = std::string(content_bytes, 'x');
  return e;
}
Query query(std::uint64_t n) {
  Query q;
  q.exact = {n, n};
  q.partition = 1;
  return q;
}

TEST(CacheMemoryStore, TtlExpires) {
  Limits l;
  l.ttl = std::chrono::seconds(10);
  MemoryStore s(l, 4);
  const auto t0 = MemoryStore::Clock::now();
  s.put(entry(1), t0);
  EXPECT_TRUE(s.find(query(1), t0 + std::chrono::seconds(9)));
  EXPECT_FALSE(s.find(query(1), t0 + std::chrono::seconds(11)));
  EXPECT_EQ(s.size(), 0u);  // removed when met
}

TEST(CacheMemoryStore, MaxEntriesEvictsLeastRecentlyUsed) {
  Limits l;
  l.max_entries = 3;
  MemoryStore s(l, 4);
  for (std::uint64_t i = 1; i <= 3; ++i) s.put(entry(i));
  EXPECT_TRUE(s.find(query(1)));  // 1 is now the most recent; 2 the least
  s.put(entry(4));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_FALSE(s.find(query(2)));
  EXPECT_TRUE(s.find(query(1)));
  EXPECT_TRUE(s.find(query(3)));
  EXPECT_TRUE(s.find(query(4)));
}

TEST(CacheMemoryStore, MaxBytesBoundsTheStore) {
  Limits l;
  l.max_bytes = 10'000;
  MemoryStore s(l, 4);
  for (std::uint64_t i = 1; i <= 50; ++i) s.put(entry(i, 1'000));
  EXPECT_LE(s.bytes(), 10'000u);
  EXPECT_GE(s.size(), 5u);
  EXPECT_TRUE(s.find(query(50)));
  EXPECT_FALSE(s.find(query(1)));
  s.put(entry(99, 20'000));  // larger than the whole cache: not stored, nothing evicted
  EXPECT_FALSE(s.find(query(99)));
  EXPECT_TRUE(s.find(query(50)));
}

TEST(CacheMemoryStore, SemanticNeedsPartitionThresholdAndGuards) {
  MemoryStore s(Limits{}, 4);
  Entry e = entry(1);
  e.embedding = {1, 0, 0, 0};
  e.features = extract_features("What is the capital of France?");
  s.put(e);
  Query q = query(2);
  q.embedding = {0.96f, 0.28f, 0, 0};  // cos 0.96
  q.threshold = 0.9f;
  q.features = extract_features("Which city is the capital of France?");
  auto h = s.find(q);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->exact);
  EXPECT_NEAR(h->similarity, 0.96, 1e-3);
  q.threshold = 0.97f;
  EXPECT_FALSE(s.find(q));
  q.threshold = 0.9f;
  q.partition = 2;
  EXPECT_FALSE(s.find(q));
  q.partition = 1;
  q.features = extract_features("Which city is the capital of Spain?");
  EXPECT_FALSE(s.find(q));
}

TEST(CacheMemoryStore, IndexSurvivesManyEvictions) {
  Limits l;
  l.max_entries = 50;
  MemoryStore s(l, 4);
  for (std::uint64_t i = 1; i <= 5000; ++i) {
    Entry e = entry(i);
    e.embedding = {float(i % 7), 1, float(i % 3), 1};
    float n = 0;
    for (float v : e.embedding) n += v * v;
    for (float& v : e.embedding) v /= std::sqrt(n);
    s.put(std::move(e));
  }
  EXPECT_EQ(s.size(), 50u);
  EXPECT_TRUE(s.find(query(5000)));
}

std::shared_ptr<const config::Config> parse(const std::string& yaml) {
  auto c = config::parse_config(yaml, "gw.yaml");
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return c ? *c : nullptr;
}
const char* kModels = R"(
models:
  - name: m
    replicas: [{url: "http://127.0.0.1:1"}]
)";

TEST(CacheConfig, RoutesStoresAndErrorsWithLocations) {
  auto c = parse(std::string(kModels) + R"(
cache:
  stores:
    shared: {redis: "redis://127.0.0.1:7000/2", timeout_ms: 20}
routes:
  - name: a
    policy: {type: static, model: m}
    cache: {name: faq, store: shared, threshold: 0.9, ttl_s: 60, max_entries: 10}
  - name: b
    policy: {type: static, model: m}
    cache: {name: faq, store: shared, ttl_s: 60, max_entries: 10, semantic: false}
  - name: c
    policy: {type: static, model: m}
    cache: on
  - name: d
    policy: {type: static, model: m}
)");
  auto s = parse_cache_settings(*c);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->routes.size(), 3u);
  EXPECT_EQ(s->routes.at("a").cache, "faq");
  EXPECT_EQ(s->routes.at("b").cache, "faq");
  EXPECT_FLOAT_EQ(s->routes.at("a").threshold, 0.9f);
  EXPECT_FLOAT_EQ(s->routes.at("c").threshold, kDefaultThreshold);
  EXPECT_EQ(s->caches.at("faq").store, "shared");
  EXPECT_EQ(s->caches.at("c").store, "memory");
  EXPECT_EQ(s->stores.at("shared").port, 7000);
  EXPECT_EQ(s->stores.at("shared").db, 2);

  auto bad = [&](const std::string& routes, const std::string& top = "") {
    auto cfg = parse(std::string(kModels) + top +
                     "routes:\n  - name: a\n    policy: {type: static, model: m}\n" + routes);
    auto r = parse_cache_settings(*cfg);
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(bad("    cache: {threshold: 2}\n").rfind("gw.yaml:8:", 0), 0u);
  EXPECT_NE(bad("    cache: {thresold: 0.9}\n").find("unknown key 'thresold'"), std::string::npos);
  EXPECT_NE(bad("    cache: {store: nowhere}\n").find("no cache store 'nowhere'"),
            std::string::npos);
  EXPECT_NE(bad("    cache: on\n", "cache: {redis: \"http://x\"}\n").find("not a redis URL"),
            std::string::npos);
  EXPECT_NE(
      bad("    cache: {name: x, ttl_s: 5}\n  - name: b\n    policy: {type: static, model: m}\n"
          "    cache: {name: x, ttl_s: 6}\n")
          .find("shares cache 'x'"),
      std::string::npos);
}

}  // namespace
}  // namespace switchboard::cache
