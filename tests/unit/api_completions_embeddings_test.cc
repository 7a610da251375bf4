// The legacy Completions translation (api/completions.h) and the embeddings request parser
// (api/embeddings.h); the replay backend's deterministic vectors (replay/replay_embeddings.h).
#include <gtest/gtest.h>

#include <cmath>

#include "api/completions.h"
#include "api/embeddings.h"
#include "api_translate_util.h"
#include "replay/replay_embeddings.h"

namespace switchboard::api {
namespace {

using namespace testing;

TEST(CompletionsRequest, PromptBecomesOneUserMessage) {
  auto r = parse_completions_request(
      R"({"model":"auto","prompt":"Say hi","max_tokens":7,"stop":["\n"],"temperature":0,"stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->stream);
  json chat = json::parse(r->chat_body);
  EXPECT_EQ(chat["messages"], json::parse(R"([{"role":"user","content":"Say hi"}])"));
  EXPECT_EQ(chat["max_tokens"], 7);
  EXPECT_EQ(chat["stop"], json::array({"\n"}));
  EXPECT_EQ(chat["stream_options"]["include_usage"], true);
  auto one = parse_completions_request(R"({"model":"m","prompt":["only"]})");
  ASSERT_TRUE(one);
  EXPECT_EQ(json::parse(one->chat_body)["max_tokens"], 16);  // the API's default
}

TEST(CompletionsRequest, MalformedRequestsAreNamed) {
  struct Case {
    const char* body;
    const char* says;
  } cases[] = {
      {"{x", "not valid JSON"},
      {R"({"prompt":"x"})", "model"},
      {R"({"model":"m"})", "prompt is required"},
      {R"({"model":"m","prompt":[1,2,3]})", "token arrays"},
      {R"({"model":"m","prompt":["a","b"]})", "only one prompt"},
      {R"({"model":"m","prompt":{}})", "prompt must be"},
      {R"({"model":"m","prompt":"x","n":2})", "n: only 1"},
      {R"({"model":"m","prompt":"x","echo":true})", "echo"},
      {R"({"model":"m","prompt":"x","suffix":"y"})", "suffix"},
      {R"({"model":"m","prompt":"x","logprobs":2})", "logprobs"},
      {R"({"model":"m","prompt":"x","max_tokens":-1})", "max_tokens"},
  };
  for (const auto& c : cases) {
    auto r = parse_completions_request(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest);
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.body << " -> " << r.error().message;
  }
}

TEST(CompletionsAnswer, WholeAndStream) {
  CompletionsRequest req{"auto", true, /*include_usage=*/true, ""};
  auto t = completions_translator(&req);
  json j = json::parse(*t->whole(chat_completion("Hi!")));
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["id"], "cmpl-abc");
  EXPECT_EQ(j["model"], "auto");
  EXPECT_EQ(j["choices"][0]["text"], "Hi!");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["total_tokens"], 16);

  auto s = completions_translator(&req);
  auto events = parse_events(run_stream(*s, text_stream()));
  // The role chunk gives nothing; two pieces, the finish, usage, [DONE].
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].data["object"], "text_completion");
  EXPECT_EQ(events[0].data["choices"][0]["text"], "Hel");
  EXPECT_EQ(events[1].data["choices"][0]["text"], "lo");
  EXPECT_EQ(events[2].data["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(events[3].data["usage"]["completion_tokens"], 5);
  EXPECT_EQ(events[4].raw, "[DONE]");
  EXPECT_EQ(s->finish(), "");
  auto e = completions_translator(nullptr);
  auto err = parse_events(
      e->error_event(make_error(ErrorKind::kUpstreamError, "upstream_stream_broken", "cut")));
  ASSERT_EQ(err.size(), 2u);
  EXPECT_EQ(err[0].data["error"]["code"], "upstream_stream_broken");
  EXPECT_EQ(err[1].raw, "[DONE]");
}

// The chat body always asks the upstream for usage (records and budgets get its counts); the
// client gets the usage chunk only when it asked. logit_bias is passed on; chat-only parameters are
// refused (they were dropped, changing the answer silently).
TEST(CompletionsRequest, UsageAskedOfTheUpstreamLogitBiasKeptChatOnlyRefused) {
  auto r = parse_completions_request(R"({"model":"m","prompt":"p","stream":true,"logit_bias":{"50256":-100}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->include_usage);
  json chat = json::parse(r->chat_body);
  EXPECT_EQ(chat["stream_options"]["include_usage"], true);
  EXPECT_EQ(chat["logit_bias"]["50256"], -100);
  auto events = parse_events(run_stream(*completions_translator(&*r), text_stream()));
  for (const auto& e : events) EXPECT_FALSE(e.data.is_object() && e.data.contains("usage")) << e.raw;
  auto asked = parse_completions_request(
      R"({"model":"m","prompt":"p","stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(asked);
  EXPECT_TRUE(asked->include_usage);
  for (const char* k : {"response_format", "tools"}) {
    auto bad = parse_completions_request(std::string(R"({"model":"m","prompt":"p",")") + k + R"(":{}})");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find(k), std::string::npos);
  }
}

TEST(CompletionsAnswer, ARefusalIsTheText) {
  json j = json::parse(*completions_translator(nullptr)->whole(refusal_completion()));
  EXPECT_EQ(j["choices"][0]["text"], "I cannot.");
  const std::string sse = run_stream(*completions_translator(nullptr), refusal_stream());
  std::string text;
  for (const auto& e : parse_events(sse))
    if (e.data.is_object() && !e.data["choices"].empty()) text += e.data["choices"][0]["text"];
  EXPECT_EQ(text, "I cannot.");
}

TEST(EmbeddingsRequest, InputsBecomeOneMessageForRouting) {
  auto r = parse_embeddings_request(
      R"({"model":"embed","input":["def f(): pass","hello"],"encoding_format":"base64"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, "embed");
  EXPECT_FALSE(r->stream);
  EXPECT_EQ(r->prompt_text, "def f(): pass\nhello");
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(r->text_of(r->messages[0]), r->prompt_text);
  EXPECT_EQ(r->user_text(), r->prompt_text);
  EXPECT_GT(r->estimated_prompt_tokens, 0);
  EXPECT_TRUE(parse_embeddings_request(R"({"model":"e","input":"one","dimensions":8})"));
}

TEST(EmbeddingsRequest, MalformedRequestsAreNamed) {
  struct Case {
    std::string body;
    const char* says;
  } cases[] = {
      {"[", "not valid JSON"},
      {"[]", "JSON object"},
      {R"({"input":"x"})", "model"},
      {R"({"model":"e"})", "input is required"},
      {R"({"model":"e","input":""})", "empty string"},
      {R"({"model":"e","input":[]})", "empty array"},
      {R"({"model":"e","input":[1,2]})", "token arrays"},
      {R"({"model":"e","input":[[1,2]]})", "token arrays"},
      {R"({"model":"e","input":["a",""]})", "input[1]"},
      {R"({"model":"e","input":["a",null]})", "input[1]"},
      {R"({"model":"e","input":{}})", "input must be"},
      {R"({"model":"e","input":"x","encoding_format":"int8"})", "encoding_format"},
      {R"({"model":"e","input":"x","dimensions":0})", "dimensions"},
      {R"({"model":"e","input":"x","stream":true})", "stream"},
      {R"({"model":")" + std::string(300, 'm') + R"(","input":"x"})", "longer than"},
  };
  for (const auto& c : cases) {
    auto r = parse_embeddings_request(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest);
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.body << " -> " << r.error().message;
  }
  std::string many = R"({"model":"e","input":[)";
  for (std::size_t i = 0; i <= kMaxEmbeddingInputs; ++i) many += (i ? ",\"x\"" : "\"x\"");
  many += "]}";
  auto r = parse_embeddings_request(many);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("at most 2048"), std::string::npos) << r.error().message;
}

TEST(ReplayEmbeddings, DeterministicUnitVectorsPerModelAndInput) {
  auto a = replay::replay_embedding("m1", "hello", 16);
  auto b = replay::replay_embedding("m1", "hello", 16);
  auto c = replay::replay_embedding("m2", "hello", 16);
  auto d = replay::replay_embedding("m1", "hello!", 16);
  ASSERT_EQ(a.size(), 16u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  double norm = 0;
  for (float x : a) norm += double(x) * x;
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

TEST(ReplayEmbeddings, AnswerShapeFloatAndBase64) {
  auto out = replay::embeddings_answer(R"({"model":"m1","input":["a","bb"]})", "served", 8);
  ASSERT_TRUE(out);
  json j = json::parse(*out);
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["model"], "m1");
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["index"], 1);
  auto v = j["data"][0]["embedding"].get<std::vector<float>>();
  EXPECT_EQ(v, replay::replay_embedding("m1", "a", 8));
  EXPECT_EQ(j["usage"]["prompt_tokens"], 2);
  auto b64 = replay::embeddings_answer(R"({"input":"a","encoding_format":"base64","dimensions":4})",
                                       "served", 8);
  json k = json::parse(*b64);
  EXPECT_EQ(k["model"], "served");
  EXPECT_EQ(k["data"][0]["embedding"].get<std::string>().size(), 24u);  // 16 bytes -> 24 chars
  EXPECT_FALSE(replay::embeddings_answer(R"({"input":5})", "served", 8));
  EXPECT_FALSE(replay::embeddings_answer(R"({"input":"a","dimensions":0})", "served", 8));
}

}  // namespace
}  // namespace switchboard::api
