// The upstream APIs a replica may speak, registered by name (pipeline/native/): what each sends,
// how each meters an answer, and which requests a pass-through API refuses.
#include "pipeline/native/native_api.h"

#include <gtest/gtest.h>

#include <iterator>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "pipeline/model_call.h"

namespace switchboard::pipeline {
namespace {

using json = nlohmann::json;
constexpr auto kAuto = config::ReasoningMode::kAuto;
constexpr auto kOn = config::ReasoningMode::kOn;
constexpr auto kOff = config::ReasoningMode::kOff;

const NativeApi& api(const std::string& name) {
  const NativeApi* a = find_native_api(name);
  EXPECT_NE(a, nullptr) << name;
  return *a;
}

TEST(NativeApis, RegisteredByTheirConfigName) {
  for (const char* name : {"chat", "anthropic", "responses"}) {
    EXPECT_EQ(api(name).name(), name);
  }
  EXPECT_EQ(find_native_api("grpc"), nullptr);
}

TEST(NativeApis, PathsAndCredentials) {
  RequestContext ctx;
  ctx.upstream_path = "/v1/embeddings";
  EXPECT_EQ(api("chat").path(ctx), "/v1/embeddings");  // the front end's path
  EXPECT_EQ(api("anthropic").path(ctx), "/v1/messages");
  EXPECT_EQ(api("responses").path(ctx), "/v1/responses");
  auto bearer = api("responses").credentials("sk-1");
  EXPECT_EQ(bearer.authorization, "Bearer sk-1");
  EXPECT_TRUE(bearer.headers.empty());
  EXPECT_EQ(api("chat").credentials("").authorization, "");
  auto anthropic = api("anthropic").credentials("sk-ant");
  EXPECT_EQ(anthropic.authorization, "");
  ASSERT_EQ(anthropic.headers.size(), 2u);
  EXPECT_EQ(anthropic.headers[0].first, "x-api-key");
  EXPECT_EQ(anthropic.headers[0].second, "sk-ant");
  EXPECT_EQ(anthropic.headers[1].first, "anthropic-version");
}

TEST(NativeApis, WholeAnswersAreMeteredInTheirOwnShape) {
  auto chat = api("chat").usage(R"({"usage":{"prompt_tokens":3,"completion_tokens":4}})");
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->prompt_tokens, 3);
  EXPECT_EQ(chat->completion_tokens, 4);
  const std::string responses_body =
      R"({"id":"resp_1","object":"response","usage":{"input_tokens":12,"output_tokens":5,"total_tokens":17}})";
  auto r = api("responses").usage(responses_body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->prompt_tokens, 12);
  EXPECT_EQ(r->completion_tokens, 5);
  // Chat completions' reader looks for prompt_tokens, not input_tokens: it cannot meter this.
  auto misread = api("chat").usage(responses_body);
  EXPECT_TRUE(!misread || misread->prompt_tokens != 12);
  auto a = api("anthropic").usage(R"({"usage":{"input_tokens":7,"output_tokens":2}})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->prompt_tokens, 7);
  // Anthropic's prompt-cache tokens count as prompt tokens (as the translation counts them);
  // negative counts from a broken upstream as none.
  a = api("anthropic").usage(
      R"({"usage":{"input_tokens":7,"cache_creation_input_tokens":100,"cache_read_input_tokens":900,"output_tokens":-2}})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->prompt_tokens, 1007);
  EXPECT_EQ(a->cached_prompt_tokens, 900);
  EXPECT_EQ(a->cache_write_prompt_tokens, 100);
  EXPECT_EQ(a->completion_tokens, 0);
  auto anthropic_meter = api("anthropic").stream_meter();
  anthropic_meter->on_event(
      R"({"type":"message_start","message":{"usage":{"input_tokens":3,"cache_read_input_tokens":40,"cache_creation_input_tokens":5,"output_tokens":1}}})");
  anthropic_meter->on_event(R"({"type":"message_delta","usage":{"output_tokens":9}})");
  ASSERT_TRUE(anthropic_meter->reported_usage());
  EXPECT_EQ(anthropic_meter->reported_usage()->prompt_tokens, 48);
  EXPECT_EQ(anthropic_meter->reported_usage()->cached_prompt_tokens, 40);
  EXPECT_EQ(anthropic_meter->reported_usage()->cache_write_prompt_tokens, 5);
  EXPECT_EQ(anthropic_meter->reported_usage()->completion_tokens, 9);
  EXPECT_FALSE(api("responses").usage("not json"));
  EXPECT_FALSE(api("responses").usage(R"({"usage":null})"));
}

TEST(NativeApis, ResponsesStreamMeterReadsTheCompletedEvent) {
  auto meter = api("responses").stream_meter();
  meter->on_event(R"({"type":"response.created","response":{"id":"r","usage":null}})");
  meter->on_event(R"({"type":"response.output_text.delta","delta":"Hel"})");
  meter->on_event(R"({"type":"response.output_text.delta","delta":"lo"})");
  EXPECT_FALSE(meter->saw_done());
  EXPECT_FALSE(meter->reported_usage());
  meter->on_event(
      R"({"type":"response.completed","response":{"id":"r","usage":{"input_tokens":9,"output_tokens":2}}})");
  EXPECT_TRUE(meter->saw_done());
  EXPECT_FALSE(meter->saw_error());
  EXPECT_EQ(meter->content_chunks(), 2);
  ASSERT_TRUE(meter->reported_usage());
  EXPECT_EQ(meter->reported_usage()->prompt_tokens, 9);
  EXPECT_EQ(meter->reported_usage()->completion_tokens, 2);

  auto failed = api("responses").stream_meter();
  failed->on_event(R"({"type":"error","message":"boom"})");
  EXPECT_TRUE(failed->saw_error());
  EXPECT_FALSE(failed->saw_done());
  // Each API's meter reads only its own events: a chat chunk stream means nothing to it.
  auto other = api("responses").stream_meter();
  other->on_event(R"({"choices":[{"delta":{"content":"x"}}]})");
  other->on_event("[DONE]");
  EXPECT_EQ(other->content_chunks(), 0);
  EXPECT_FALSE(other->saw_done());
  auto chat = api("chat").stream_meter();
  chat->on_event(R"({"choices":[{"delta":{"content":"x"}}]})");
  chat->on_event("[DONE]");
  EXPECT_EQ(chat->content_chunks(), 1);
  EXPECT_TRUE(chat->saw_done());
  EXPECT_FALSE(other->saw_bad_event());  // [DONE] is no bad event
}

// An event that is no JSON object before the answer's end is a bad event for the native APIs'
// meters too (the relay breaks the stream there); after the end nothing is read.
TEST(NativeApis, NativeMetersNoteEventsThatAreNoJsonObject) {
  struct Case {
    const char* api;
    const char* event;
    const char* end;
  } cases[] = {
      {"anthropic", R"({"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}})",
       R"({"type":"message_stop"})"},
      {"responses", R"({"type":"response.output_text.delta","delta":"x"})",
       R"({"type":"response.completed","response":{"usage":null}})"},
  };
  for (const auto& c : cases) {
    auto bad = api(c.api).stream_meter();
    bad->on_event(c.event);
    bad->on_event("   ");
    EXPECT_FALSE(bad->saw_bad_event()) << c.api;
    bad->on_event("{not json");
    EXPECT_TRUE(bad->saw_bad_event()) << c.api;
    auto after = api(c.api).stream_meter();
    after->on_event(c.event);
    after->on_event(c.end);
    after->on_event("trailing garbage");
    EXPECT_FALSE(after->saw_bad_event()) << c.api;
    EXPECT_TRUE(after->saw_done()) << c.api;
    EXPECT_EQ(after->content_chunks(), 1) << c.api;
  }
}

TEST(NativeApis, PassThroughServesOnlyClientsOfItsOwnApi) {
  config::ReplicaConfig rc;
  rc.id = "r1";
  Replica replica;
  replica.config = &rc;
  replica.model = "m";
  RequestContext ctx;
  CallState st;
  // A chat client (no native API) on a Responses replica.
  EXPECT_NE(api("responses").refusal(ctx, st, replica).find("speaks the responses API"),
            std::string::npos);
  EXPECT_EQ(api("chat").refusal(ctx, st, replica), "");  // chat takes every (translated) request
  ctx.native_api = "anthropic";
  EXPECT_NE(api("responses").refusal(ctx, st, replica), "");
  ctx.native_api = "responses";
  EXPECT_EQ(api("responses").refusal(ctx, st, replica), "");
  ctx.native_body = R"({"model":"auto","input":"hi"})";
  ctx.req.model = "auto";
  EXPECT_EQ(api("responses").body(ctx, st, "gpt-up", kAuto), R"({"model":"gpt-up","input":"hi"})");
  st.buffered = "{}";  // a multi-call plan's call
  EXPECT_NE(api("responses").refusal(ctx, st, replica).find("multi-call"), std::string::npos);
  st.buffered.reset();
  ctx.rewritten_body = "{}";  // the guard rewrote it
  EXPECT_NE(api("responses").refusal(ctx, st, replica).find("guard"), std::string::npos);
}

TEST(NativeApis, WhatThePassThroughCannotTakeIsServedByTheTranslation) {
  config::ReplicaConfig rc;
  rc.id = "r1";
  Replica replica;
  replica.config = &rc;
  RequestContext ctx;
  CallState st;
  ctx.body = R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"END"})";
  for (const char* name : {"anthropic", "responses"}) {
    SCOPED_TRACE(name);
    const NativeApi& registered = api(name);
    ctx.native_api = {};  // a chat client
    const NativeApi& chat = registered.serving(ctx, st);
    EXPECT_NE(&chat, &registered);
    EXPECT_EQ(chat.name(), name);
    EXPECT_EQ(chat.path(ctx), registered.path(ctx));
    ctx.native_api = name;  // a client of the replica's own API: passed through
    EXPECT_EQ(&registered.serving(ctx, st), &registered);
    CallState plan;  // a multi-call plan's call: its own state, its own body
    plan.buffered = R"({"model":"m","messages":[{"role":"user","content":"x"}]})";
    EXPECT_EQ(&registered.serving(ctx, plan), &chat);
    EXPECT_EQ(chat.refusal(ctx, plan, replica), "");
    // The translation reads the chat body: the Responses API has no stop sequences.
    const std::string why = chat.refusal(ctx, st, replica);
    EXPECT_EQ(why.empty(), std::string(name) == "anthropic") << why;
    // Translated once per state and API, then renamed per model.
    EXPECT_EQ(chat.refusal(ctx, st, replica), why);
    if (why.empty()) {
      const auto a = json::parse(chat.body(ctx, st, "claude-a", kAuto));
      const auto b = json::parse(chat.body(ctx, st, "claude-b", kAuto));
      EXPECT_EQ(a["model"], "claude-a");
      EXPECT_EQ(b["model"], "claude-b");
      EXPECT_EQ(a["stop_sequences"], json::array({"END"}));
      auto same = b;
      same["model"] = "claude-a";
      EXPECT_EQ(same, a);
      EXPECT_EQ(std::distance(st.translations.begin(), st.translations.end()), 1);
    }
    ctx.kind = RequestKind::kEmbeddings;
    EXPECT_NE(chat.refusal(ctx, st, replica).find("no embeddings"), std::string::npos);
    ctx.kind = RequestKind::kChat;
  }
  // The chat API serves everything itself.
  EXPECT_EQ(&api("chat").serving(ctx, st), &api("chat"));
}

TEST(NativeApis, ReasoningSettingsPerModel) {
  RequestContext ctx;
  ctx.req.model = "auto";
  // A chat client's reasoning_effort: as sent (auto, on), removed (off).
  ctx.body = R"({"model":"auto","reasoning_effort":"high","messages":[{"role":"user","content":"hi"}]})";
  {
    CallState st;
    const NativeApi& chat = api("chat");
    EXPECT_EQ(json::parse(chat.body(ctx, st, "o3", kAuto))["reasoning_effort"], "high");
    EXPECT_EQ(json::parse(chat.body(ctx, st, "o4", kOn))["reasoning_effort"], "high");
    const auto off = json::parse(chat.body(ctx, st, "gpt-4o", kOff));
    EXPECT_FALSE(off.contains("reasoning_effort"));
    EXPECT_EQ(off["model"], "gpt-4o");
    EXPECT_EQ(off["messages"][0]["content"], "hi");
    // Over Anthropic: thinking unless off.
    ctx.native_api = {};
    const NativeApi& claude = api("anthropic").serving(ctx, st);
    EXPECT_TRUE(json::parse(claude.body(ctx, st, "claude", kAuto)).contains("thinking"));
    EXPECT_FALSE(json::parse(claude.body(ctx, st, "claude-3-haiku", kOff)).contains("thinking"));
  }
  // Another API's setting (Messages thinking, Responses reasoning.effort): only for `on`.
  ctx.body = R"({"model":"auto","messages":[{"role":"user","content":"hi"}]})";
  ctx.reasoning_effort = "medium";
  CallState st;
  const NativeApi& chat = api("chat");
  EXPECT_FALSE(json::parse(chat.body(ctx, st, "o3", kAuto)).contains("reasoning_effort"));
  EXPECT_FALSE(json::parse(chat.body(ctx, st, "gpt-4o", kOff)).contains("reasoning_effort"));
  const auto on = json::parse(chat.body(ctx, st, "o3", kOn));
  EXPECT_EQ(on["reasoning_effort"], "medium");
  EXPECT_EQ(on["model"], "o3");
  // The same upstream name with another setting is its own body.
  EXPECT_FALSE(json::parse(chat.body(ctx, st, "o3", kAuto)).contains("reasoning_effort"));
  const NativeApi& claude = api("anthropic").serving(ctx, st);
  EXPECT_FALSE(json::parse(claude.body(ctx, st, "claude", kAuto)).contains("thinking"));
  EXPECT_EQ(json::parse(claude.body(ctx, st, "claude", kOn))["thinking"]["budget_tokens"], 8192);
}

}  // namespace
}  // namespace switchboard::pipeline
