#include "replay/replay_core.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "replay/replay_server.h"
#include "replay/replay_wire.h"

namespace switchboard::replay {
namespace {

TEST(ReplayRequest, KeyJoinsUserMessagesOnly) {
  auto r =
      parse_replay_request(R"({"model":"m","stream":true,"stream_options":{"include_usage":true},
    "messages":[{"role":"system","content":"sys"},{"role":"user","content":"first"},
                {"role":"assistant","content":"reply"},
                {"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{}},
                                          {"type":"text","text":"b"}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "m");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->prompt_key, "first\na\nb");
  EXPECT_EQ(r->prompt_chars, 3u + 5u + 5u + 3u);  // "sys" "first" "reply" "a\nb"
}

TEST(ReplayRequest, KeyMatchesARecordsUserText) {
  data::PromptRecord rec{"id", {{"user", "part one"}, {"user", "part two"}}, "", {}};
  auto r = parse_replay_request(
      R"({"model":"m","messages":[{"role":"user","content":"part one"},{"role":"user","content":"part two"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->prompt_key, rec.user_text());
  EXPECT_FALSE(r->stream);
}

TEST(ReplayRequest, Errors) {
  EXPECT_EQ(parse_replay_request("{oops").error().code, "invalid_json");
  for (const char* body : {"[]", R"({"messages":[]})", R"({"messages":"x"})", R"({"model":"m"})",
                           R"({"messages":[1]})", R"({"messages":[{"content":"x"}]})",
                           R"({"model":3,"messages":[{"role":"user","content":"x"}]})",
                           R"({"stream":"yes","messages":[{"role":"user","content":"x"}]})"}) {
    auto r = parse_replay_request(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest);
    EXPECT_EQ(r.error().code, "invalid_request") << body;
  }
}

TEST(ReplayUsage, ReproducesRecordedCost) {
  Prices p{10, 30};  // USD per million tokens
  // 400 chars → 100 prompt tokens = $0.001; the rest of $0.0025 is 50 completion tokens at $30/M.
  auto u = compute_usage(400, 9999, 0.0025, p);
  EXPECT_EQ(u, (TokenUsage{100, 50, 150}));
  double cost =
      u.prompt_tokens * p.input_per_mtok / 1e6 + u.completion_tokens * p.output_per_mtok / 1e6;
  EXPECT_NEAR(cost, 0.0025, 1e-12);
  EXPECT_EQ(compute_usage(400, 0, 0.0010004, p).completion_tokens, 1);  // rounds to 0 → at least 1
}

TEST(ReplayUsage, FallsBackToResponseLength) {
  Prices p{10, 30};
  EXPECT_EQ(compute_usage(1, 9, std::nullopt, p), (TokenUsage{1, 3, 4}));
  EXPECT_EQ(compute_usage(0, 0, std::nullopt, p), (TokenUsage{1, 1, 2}));
  EXPECT_EQ(compute_usage(400, 8, 0.0005, p).completion_tokens, 2);       // cost below the prompt's
  EXPECT_EQ(compute_usage(400, 8, 0.01, Prices{}).completion_tokens, 2);  // no output price
}

TEST(ReplayPlaceholder, DeterministicAndNamesModelAndHash) {
  std::string a = placeholder_response("mistral", "what is 2+2?");
  EXPECT_EQ(a, placeholder_response("mistral", "what is 2+2?"));
  EXPECT_NE(a, placeholder_response("mistral", "what is 2+3?"));
  EXPECT_NE(a.find("mistral"), std::string::npos);
  EXPECT_NE(a.find(prompt_hash("what is 2+2?")), std::string::npos);
  EXPECT_EQ(prompt_hash("abc").size(), 8u);
  EXPECT_EQ(prompt_hash("abc"), prompt_hash("abc"));
}

TEST(ReplayPieces, SplitsByCodePoints) {
  EXPECT_TRUE(split_pieces("").empty());
  auto p = split_pieces("abcdefghij");
  EXPECT_EQ(p, (std::vector<std::string_view>{"abcd", "efgh", "ij"}));
  auto u = split_pieces("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xE2\x82\xAC", 4);  // éééé€
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0], "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
  EXPECT_EQ(u[1], "\xE2\x82\xAC");
  EXPECT_EQ(utf8_length("\xC3\xA9\xE2\x82\xAC"
                        "a"),
            3u);
}

TEST(ReplayFaults, BandsAndUpdates) {
  EXPECT_EQ(pick_fault(0.05, 0.1, 0.1, 0.1), Fault::kError);
  EXPECT_EQ(pick_fault(0.15, 0.1, 0.1, 0.1), Fault::kHang);
  EXPECT_EQ(pick_fault(0.25, 0.1, 0.1, 0.1), Fault::kDrop);
  EXPECT_EQ(pick_fault(0.35, 0.1, 0.1, 0.1), Fault::kNone);
  EXPECT_EQ(pick_fault(0.0, 0, 0, 0), Fault::kNone);

  FaultOptions base{0.5, 0, 0, 10, 0};
  auto u = apply_fault_update(R"({"drop_rate":1,"tokens_per_sec":50})", base);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->error_rate, 0.5);
  EXPECT_EQ(u->drop_rate, 1.0);
  EXPECT_EQ(u->tokens_per_sec, 50.0);
  EXPECT_EQ(u->ttft_ms, 10.0);
  EXPECT_FALSE(apply_fault_update(R"({"error_rate":1.5})", base).ok());
  EXPECT_FALSE(apply_fault_update(R"({"ttft_ms":-1})", base).ok());
  EXPECT_FALSE(apply_fault_update(R"({"hang_rate":"0.1"})", base).ok());
  EXPECT_FALSE(apply_fault_update("nope", base).ok());
  // The pool's test knobs: a fake backlog on /metrics and a failing /health.
  auto pool = apply_fault_update(R"({"extra_waiting":40,"unhealthy":1})", base);
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->extra_waiting, 40.0);
  EXPECT_EQ(pool->unhealthy, 1.0);
  EXPECT_FALSE(apply_fault_update(R"({"unhealthy":2})", base).ok());
  EXPECT_FALSE(apply_fault_update(R"({"extra_waiting":-1})", base).ok());
}

TEST(ReplayBook, FindsRecordedAnswersAndFallsBack) {
  data::Outcomes o;
  data::PromptRecord first{"1", {{"system", "s"}, {"user", "Q?"}}, "qa", {}};
  first.outcomes["m"] = data::ModelOutcome{1, 0.0025, std::nullopt, std::nullopt};
  data::PromptRecord again{"2", {{"user", "Q?"}}, "qa", {}};
  again.outcomes["m"] = data::ModelOutcome{1, 0.0025, std::nullopt, "the answer"};
  data::PromptRecord other{"3", {{"user", "other"}}, "qa", {}};
  other.outcomes["n"] = data::ModelOutcome{1, 1, std::nullopt, "not m"};
  o.records = {first, again, other};
  auto book = ReplayBook::build(o, "m");
  EXPECT_EQ(book.size(), 1u);
  ASSERT_NE(book.find("Q?"), nullptr);
  EXPECT_EQ(book.find("Q?")->response, "the answer");  // the record with a response wins
  EXPECT_EQ(book.find("other"), nullptr);

  ReplayRequest req;
  req.prompt_key = "Q?";
  req.prompt_chars = 400;
  auto a = answer_for(book, req, "m-alias", Prices{10, 30});
  EXPECT_TRUE(a.recorded);
  EXPECT_EQ(a.text, "the answer");
  EXPECT_EQ(a.usage, (TokenUsage{100, 50, 150}));
  req.prompt_key = "unknown";
  auto b = answer_for(book, req, "m-alias", Prices{10, 30});
  EXPECT_FALSE(b.recorded);
  EXPECT_EQ(b.text, placeholder_response("m-alias", "unknown"));
}

TEST(ReplayWire, ShapesOfBodies) {
  CompletionHead head{"chatcmpl-x", "m", 7};
  auto c = nlohmann::json::parse(completion_json(head, "hi", TokenUsage{1, 2, 3}));
  EXPECT_EQ(c["object"], "chat.completion");
  EXPECT_EQ(c["choices"][0]["message"]["content"], "hi");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(c["usage"]["total_tokens"], 3);
  auto role = nlohmann::json::parse(role_chunk_json(head));
  EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
  auto piece = nlohmann::json::parse(content_chunk_json(head, "ab"));
  EXPECT_EQ(piece["choices"][0]["delta"]["content"], "ab");
  EXPECT_TRUE(piece["choices"][0]["finish_reason"].is_null());
  auto stop = nlohmann::json::parse(stop_chunk_json(head));
  EXPECT_EQ(stop["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(stop["choices"][0]["delta"].empty());
  auto usage = nlohmann::json::parse(usage_chunk_json(head, TokenUsage{1, 2, 3}));
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 2);
  EXPECT_EQ(nlohmann::json::parse(models_json("m"))["data"][0]["id"], "m");
  EXPECT_EQ(sse_event("{}"), "data: {}\n\n");
}

}  // namespace
}  // namespace switchboard::replay
