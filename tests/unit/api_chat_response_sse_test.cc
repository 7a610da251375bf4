// A buffered chat.completion body re-sent to a streaming client (api/chat_response.h:
// completion_body_as_sse), as multi-call plans deliver their final answer: every choice, tool call,
// refusal and the usage survive; untrusted bodies never throw.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/chat_response.h"

namespace switchboard::api {
namespace {

std::vector<nlohmann::json> events_of(const std::string& sse) {
  std::vector<nlohmann::json> out;
  std::size_t at = 0;
  while ((at = sse.find("data: ", at)) != std::string::npos) {
    const std::size_t end = sse.find("\n\n", at);
    const std::string data = sse.substr(at + 6, end - at - 6);
    out.push_back(data == "[DONE]" ? nlohmann::json("[DONE]") : nlohmann::json::parse(data));
    at = end;
  }
  return out;
}

// The stop string that ended the answer (vLLM stop_reason, SGLang matched_stop) rides on the
// finishing chunk, where the Messages translator and the cache read it; a legacy function_call is
// a delta of its own.
TEST(CompletionBodyAsSse, StopStringAndLegacyFunctionCallSurvive) {
  const std::string body = R"({"id":"c1","object":"chat.completion","created":7,"model":"m",
    "choices":[{"index":0,"message":{"role":"assistant","content":"done END"},
      "finish_reason":"stop","stop_reason":"END"},
     {"index":1,"message":{"role":"assistant","content":null,
      "function_call":{"name":"get","arguments":"{}"}},"finish_reason":"function_call",
      "matched_stop":7}]})";
  const auto ev = events_of(*completion_body_as_sse(body, false));
  nlohmann::json finish0, finish1, call;
  for (const auto& e : ev) {
    if (!e.is_object()) continue;
    const auto& c = e["choices"][0];
    if (c["finish_reason"] == "stop") finish0 = c;
    if (c["finish_reason"] == "function_call") finish1 = c;
    if (c["delta"].contains("function_call")) call = c["delta"]["function_call"];
  }
  EXPECT_EQ(finish0["stop_reason"], "END");
  EXPECT_EQ(finish1["matched_stop"], 7);
  EXPECT_EQ(call, nlohmann::json({{"name", "get"}, {"arguments", "{}"}}));
}

TEST(CompletionBodyAsSse, ToolCallsChoicesAndUsageSurvive) {
  const std::string body = R"({"id":"c1","object":"chat.completion","created":7,"model":"m",
    "system_fingerprint":"fp","choices":[
      {"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
        {"id":"t1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}},
        {"id":"t2","type":"function","function":{"name":"put","arguments":"{}"}}]},
       "finish_reason":"tool_calls"},
      {"index":1,"message":{"role":"assistant","content":"héllo wörld, a longer answer"},
       "finish_reason":"length"}],
    "usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}})";
  auto sse = completion_body_as_sse(body, true, 8);
  ASSERT_TRUE(sse);
  const auto ev = events_of(*sse);
  ASSERT_GE(ev.size(), 7u);
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string content1;
  nlohmann::json tools;
  std::vector<std::string> finishes(2);
  for (const auto& e : ev) {
    if (e == "[DONE]") continue;
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["id"], "c1");
    EXPECT_EQ(e["system_fingerprint"], "fp");
    if (e["choices"].empty()) {
      EXPECT_EQ(e["usage"]["total_tokens"], 14);
      continue;
    }
    const auto& c = e["choices"][0];
    const std::size_t i = c["index"];
    const auto& d = c["delta"];
    if (i == 1 && d.contains("content")) content1 += d["content"].get<std::string>();
    if (d.contains("tool_calls")) tools = d["tool_calls"];
    if (c["finish_reason"].is_string()) finishes[i] = c["finish_reason"];
  }
  EXPECT_EQ(content1, "héllo wörld, a longer answer");
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0]["index"], 0);
  EXPECT_EQ(tools[1]["index"], 1);
  EXPECT_EQ(tools[0]["function"]["arguments"], "{\"a\":1}");
  EXPECT_EQ(finishes, (std::vector<std::string>{"tool_calls", "length"}));
  // Without include_usage: no usage chunk.
  const auto plain = events_of(*completion_body_as_sse(body, false));
  for (const auto& e : plain) EXPECT_FALSE(e.is_object() && e.contains("usage"));
}

TEST(CompletionBodyAsSse, ReasoningStreamsBeforeTheContentUnderItsOwnName) {
  for (const char* key : {"reasoning_content", "reasoning"}) {
    nlohmann::json body = nlohmann::json::parse(
        R"({"id":"c1","object":"chat.completion","created":7,"model":"m","choices":[
            {"index":0,"message":{"role":"assistant","content":"42"},"finish_reason":"stop"}]})");
    body["choices"][0]["message"][key] = "six times seven, carried over";
    const auto ev = events_of(*completion_body_as_sse(body.dump(), false, 8));
    std::string reasoning, order;
    for (const auto& e : ev) {
      if (e == "[DONE]" || e["choices"].empty()) continue;
      const auto& d = e["choices"][0]["delta"];
      if (d.contains(key)) reasoning += d[key].get<std::string>(), order += "r";
      if (d.contains("content") && d["content"] != "") order += "c";
    }
    EXPECT_EQ(reasoning, "six times seven, carried over") << key;
    EXPECT_EQ(order, "rrrrc") << key;  // in pieces of about 8 characters, all before the answer
  }
  // Both names (vLLM sends both, the same text): each piece under both, in one delta — a reader of
  // either gets the reasoning once.
  const std::string both = R"({"choices":[{"index":0,"message":{"role":"assistant","content":"42",
      "reasoning_content":"why so","reasoning":"why so"},"finish_reason":"stop"}]})";
  std::string first, second;
  for (const auto& e : events_of(*completion_body_as_sse(both, false, 3))) {
    if (e == "[DONE]" || e["choices"].empty()) continue;
    const auto& d = e["choices"][0]["delta"];
    EXPECT_EQ(d.contains("reasoning_content"), d.contains("reasoning")) << d;
    if (d.contains("reasoning_content")) {
      first += d["reasoning_content"].get<std::string>();
      second += d["reasoning"].get<std::string>();
    }
  }
  EXPECT_EQ(first, "why so");
  EXPECT_EQ(second, "why so");
  // An empty first name does not hide the second.
  const std::string empty_first = R"({"choices":[{"index":0,"message":{"content":"42",
      "reasoning_content":"","reasoning":"because"},"finish_reason":"stop"}]})";
  std::string got;
  for (const auto& e : events_of(*completion_body_as_sse(empty_first, false))) {
    if (e == "[DONE]" || e["choices"].empty()) continue;
    const auto& d = e["choices"][0]["delta"];
    if (d.contains("reasoning")) got += d["reasoning"].get<std::string>();
  }
  EXPECT_EQ(got, "because");
}

// A streaming client that asked for logprobs gets them from a buffered answer too (they were
// dropped before session 26): whole tokens per chunk with their entries, as a streaming upstream
// sends them, so that joining the chunks' entries gives the message's.
TEST(CompletionBodyAsSse, LogprobsRideWithTheirTokens) {
  nlohmann::json body = nlohmann::json::parse(R"({"id":"c1","choices":[{"index":0,
      "message":{"role":"assistant","content":"The answer is B."},"finish_reason":"stop"}]})");
  nlohmann::json entries = nlohmann::json::array();
  double lp = -0.5;
  for (const char* t : {"The", " answer", " is", " B", "."}) {
    entries.push_back({{"token", t}, {"logprob", lp}, {"bytes", nullptr}, {"top_logprobs", {}}});
    lp -= 0.25;
  }
  body["choices"][0]["logprobs"] = {{"content", entries}, {"refusal", nullptr}};
  const auto joined = [](const std::vector<nlohmann::json>& ev, std::string& content,
                         std::vector<std::string>& chunk_texts) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& e : ev) {
      if (e == "[DONE]" || e["choices"].empty()) continue;
      const auto& c = e["choices"][0];
      const auto& d = c["delta"];
      std::string text = d.contains("content") ? d["content"].get<std::string>() : "";
      if (c.contains("logprobs") && c["logprobs"]["content"].is_array()) {
        std::string spelled;
        for (const auto& x : c["logprobs"]["content"]) {
          all.push_back(x);
          spelled += x["token"].get<std::string>();
        }
        chunk_texts.push_back(text + "|" + spelled);
      }
      content += text;
    }
    return all;
  };
  std::string content;
  std::vector<std::string> chunks;
  auto all = joined(events_of(*completion_body_as_sse(body.dump(), false, 8)), content, chunks);
  EXPECT_EQ(content, "The answer is B.");
  EXPECT_EQ(all, entries);
  // Each chunk's text is exactly the tokens it carries, cut after about 8 characters.
  EXPECT_EQ(chunks, (std::vector<std::string>{"The answer|The answer", " is B.| is B."}));

  // Entries that do not spell the content (bytes-only tokens, a server's own tokenisation): the
  // content goes in pieces and every entry rides on the last one.
  body["choices"][0]["logprobs"]["content"][0]["token"] = "bytes:\\x54";
  content.clear();
  chunks.clear();
  all = joined(events_of(*completion_body_as_sse(body.dump(), false, 8)), content, chunks);
  EXPECT_EQ(content, "The answer is B.");
  EXPECT_EQ(all.size(), entries.size());
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].substr(0, chunks[0].find('|')), "er is B.") << "the last piece";

  // A refusal's logprobs go with the refusal.
  nlohmann::json refusal = nlohmann::json::parse(R"({"choices":[{"index":0,"message":{
      "role":"assistant","content":null,"refusal":"No."},"finish_reason":"stop",
      "logprobs":{"content":null,"refusal":[{"token":"No.","logprob":-0.1}]}}]})");
  bool seen = false;
  for (const auto& e : events_of(*completion_body_as_sse(refusal.dump(), false))) {
    if (e == "[DONE]" || e["choices"].empty()) continue;
    const auto& c = e["choices"][0];
    if (!c["delta"].contains("refusal")) continue;
    seen = true;
    EXPECT_EQ(c["logprobs"]["refusal"][0]["token"], "No.");
  }
  EXPECT_TRUE(seen);
  // No logprobs in the body, none in the chunks.
  body["choices"][0].erase("logprobs");
  for (const auto& e : events_of(*completion_body_as_sse(body.dump(), false)))
    if (e != "[DONE]" && !e["choices"].empty()) {
      EXPECT_FALSE(e["choices"][0].contains("logprobs"));
    }
}

TEST(CompletionBodyAsSse, UntrustedBodiesNeverThrow) {
  for (const char* bad : {"", "nope", "[]", "{}", R"({"choices":7})"})
    EXPECT_FALSE(completion_body_as_sse(bad, true)) << bad;
  for (const char* odd : {R"({"choices":[1,"x",null]})", R"({"choices":[{"message":7}]})",
                          R"({"choices":[{"message":{"content":5,"tool_calls":"x"}}]})",
                          R"({"choices":[{"index":-3,"message":{"role":9}}],"usage":"u"})"}) {
    auto sse = completion_body_as_sse(odd, true);
    ASSERT_TRUE(sse) << odd;
    EXPECT_EQ(events_of(*sse).back(), "[DONE]") << odd;
  }
}

TEST(WithoutUnrequestedLogprobs, OnlyWhatTheClientAskedFor) {
  const std::string body =
      R"({"id":"c","choices":[{"index":0,"message":{"content":"B"},"logprobs":{"content":[]}}]})";
  const std::string asked = R"({"model":"r","messages":[],"logprobs":true})";
  const std::string not_asked = R"({"model":"r","messages":[]})";
  EXPECT_EQ(without_unrequested_logprobs(asked, body), body);
  const auto stripped = nlohmann::json::parse(without_unrequested_logprobs(not_asked, body));
  EXPECT_FALSE(stripped["choices"][0].contains("logprobs"));
  EXPECT_EQ(stripped["choices"][0]["message"]["content"], "B");
  const std::string plain = R"({"choices":[{"message":{"content":"x"}}]})";
  EXPECT_EQ(without_unrequested_logprobs(not_asked, plain), plain) << "nothing to remove";
  EXPECT_EQ(without_unrequested_logprobs(not_asked, "not json \"logprobs\""),
            "not json \"logprobs\"");
}

// A `logprobs` judge asks the upstream for 5 alternatives per token: the client gets as many as it
// asked for (none when it named no count), not the judge's.
TEST(WithoutUnrequestedLogprobs, TopAlternativesCutToWhatTheClientAsked) {
  const nlohmann::json alts = nlohmann::json::parse(
      R"([{"token":"B","logprob":-0.1},{"token":"A","logprob":-2},{"token":"C","logprob":-3},
          {"token":"D","logprob":-4},{"token":"E","logprob":-5}])");
  nlohmann::json body = {{"choices", {{{"index", 0}, {"message", {{"content", "B"}}},
                                       {"logprobs", {{"content", {{{"token", "B"},
                                                                   {"logprob", -0.1},
                                                                   {"top_logprobs", alts}}}},
                                                     {"refusal", nullptr}}}}}}};
  const auto tops = [&](const std::string& client) {
    const auto out = nlohmann::json::parse(without_unrequested_logprobs(client, body.dump()));
    return out["choices"][0]["logprobs"]["content"][0]["top_logprobs"].size();
  };
  EXPECT_EQ(tops(R"({"model":"r","messages":[],"logprobs":true})"), 0u);
  EXPECT_EQ(tops(R"({"model":"r","messages":[],"logprobs":true,"top_logprobs":2})"), 2u);
  EXPECT_EQ(tops(R"({"model":"r","messages":[],"logprobs":true,"top_logprobs":20})"), 5u);
  // The token's own entry stays.
  const auto out = nlohmann::json::parse(
      without_unrequested_logprobs(R"({"model":"r","messages":[],"logprobs":true})", body.dump()));
  EXPECT_EQ(out["choices"][0]["logprobs"]["content"][0]["logprob"], -0.1);
}

}  // namespace
TEST(SynthesisCallBody, KeepsTheConversationAndAddsTheSynthesisTurn) {
  // The system prompt and earlier turns shape the final answer: kept (before session 30 the
  // messages were replaced by the synthesis prompt alone).
  const std::string body =
      R"({"model":"ens","stream":true,"stream_options":{"include_usage":true},"temperature":0.2,)"
      R"("messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"2+2?"}]})";
  const auto j = nlohmann::json::parse(switchboard::api::synthesis_call_body(body, "strong", "SYNTH"));
  EXPECT_EQ(j["model"], "strong");
  EXPECT_EQ(j["stream"], false);
  EXPECT_FALSE(j.contains("stream_options"));
  EXPECT_EQ(j["temperature"], 0.2);
  ASSERT_EQ(j["messages"].size(), 3u);
  EXPECT_EQ(j["messages"][0]["content"], "Answer in French.");
  EXPECT_EQ(j["messages"][2], (nlohmann::json{{"role", "user"}, {"content", "SYNTH"}}));
}

}  // namespace switchboard::api
