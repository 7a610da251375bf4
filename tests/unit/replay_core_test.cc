#include "replay/replay_core.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/sse.h"
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
  EXPECT_EQ(compute_usage(400, 8, 0.01, Prices{}).completion_tokens, 2);  // no output price
}

// A recorded cost below the prompt's estimate (chars / 4 overestimates tokens) is still billed as
// recorded, to within a token's price: fewer prompt tokens and one completion token (the response's
// length on top of the estimated prompt billed up to +4.9% over the recorded cost).
TEST(ReplayUsage, ACostBelowThePromptsEstimateIsStillReproduced) {
  Prices p{10, 30};
  const auto u = compute_usage(400, 8, 0.0005, p);  // the estimate, 100 tokens, costs $0.001
  EXPECT_EQ(u, (TokenUsage{47, 1, 48}));
  EXPECT_NEAR(u.prompt_tokens * 10e-6 + u.completion_tokens * 30e-6, 0.0005, 10e-6);
  EXPECT_EQ(compute_usage(400, 8, 0.0, p), (TokenUsage{1, 1, 2}));  // free: the least there is
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

TEST(ReplayCut, NamesAndFaultUpdates) {
  for (Cut c : {Cut::kEvent, Cut::kLine, Cut::kUtf8}) EXPECT_EQ(parse_cut(cut_name(c)), c);
  EXPECT_FALSE(parse_cut("byte"));
  FaultOptions base;
  EXPECT_EQ(base.cut, Cut::kEvent);
  auto u = apply_fault_update(R"({"drop_rate":1,"cut":"utf8"})", base);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->cut, Cut::kUtf8);
  EXPECT_EQ(u->drop_rate, 1.0);
  EXPECT_EQ(apply_fault_update(R"({"cut":"line"})", *u)->cut, Cut::kLine);
  EXPECT_EQ(apply_fault_update(R"({"ttft_ms":5})", *u)->cut, Cut::kUtf8);  // kept
  EXPECT_FALSE(apply_fault_update(R"({"cut":"middle"})", base).ok());
  EXPECT_FALSE(apply_fault_update(R"({"cut":1})", base).ok());
  LiveFaults live(*u);
  EXPECT_EQ(live.get().cut, Cut::kUtf8);
}

// The bytes a dropped stream sends, composed as ReplayService::chat does, and what an SSE client
// makes of them.
struct ClientState {
  bool boundary = false;  // the bytes end at an event boundary
  bool mid_line = false;  // the bytes end inside a line
};
struct Dropped {
  std::string bytes;
  std::vector<std::string> events;
  ClientState state;
};
Dropped drop_stream(std::string_view answer, Cut cut) {
  CompletionHead head{"chatcmpl-x", "m", 7};
  auto pieces = split_pieces(answer);
  DropPlan plan = plan_drop(pieces, cut);
  Dropped d;
  d.bytes = sse_event(role_chunk_json(head));
  for (std::size_t i = 0; i < plan.whole; ++i)
    d.bytes += sse_event(content_chunk_json(head, pieces[i]));
  if (plan.cut_piece) {
    std::string event = sse_event(content_chunk_json(head, *plan.cut_piece));
    std::size_t n = cut_offset(event, cut);
    EXPECT_GT(n, 0u);
    EXPECT_LT(n, event.size());
    d.bytes += event.substr(0, n);
  }
  api::SseParser client([&](std::string_view data) { d.events.emplace_back(data); });
  client.feed(d.bytes);
  d.state = {client.at_event_boundary(), client.mid_line()};
  return d;
}

bool ends_inside_utf8_character(std::string_view bytes) {
  return !bytes.empty() && static_cast<unsigned char>(bytes.back()) >= 0xC0;
}

TEST(ReplayCut, EventCutEndsOnABoundary) {
  auto d = drop_stream("abcdefghijklmnopqrstuvwxyz012345", Cut::kEvent);  // 8 pieces
  EXPECT_TRUE(d.state.boundary);
  EXPECT_EQ(d.events.size(), 1u + 4u);  // role + half the pieces
  EXPECT_TRUE(d.bytes.ends_with("\n\n"));
}

TEST(ReplayCut, LineCutEndsInsideADataLine) {
  for (std::string_view answer : {"abcdefghijklmnopqrstuvwxyz012345", "x", ""}) {
    auto d = drop_stream(answer, Cut::kLine);
    EXPECT_FALSE(d.state.boundary) << answer;
    EXPECT_TRUE(d.state.mid_line) << answer;
    EXPECT_EQ(d.events.size(), 1u + split_pieces(answer).size() / 2) << answer;
    auto last_line = std::string_view(d.bytes).substr(d.bytes.rfind('\n') + 1);
    EXPECT_TRUE(last_line.starts_with("data: {")) << last_line;
    EXPECT_EQ(d.bytes.back() == '\n', false);
  }
}

TEST(ReplayCut, Utf8CutEndsInsideAMultiByteCharacter) {
  // A recorded answer with multi-byte characters after its half: cut inside the first of them.
  auto d = drop_stream("plain ascii text then caf\xC3\xA9 and more", Cut::kUtf8);
  EXPECT_TRUE(ends_inside_utf8_character(d.bytes));
  EXPECT_TRUE(d.state.mid_line);
  std::string seen;
  for (const auto& e : d.events) {
    auto j = nlohmann::json::parse(e);
    seen += j["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(seen, "plain ascii text then ca");  // the whole pieces before "fé a"
  // An all-ASCII answer: the filler's 'é' is cut after half the pieces.
  auto a = drop_stream("abcdefghijklmnopqrstuvwxyz012345", Cut::kUtf8);
  EXPECT_TRUE(ends_inside_utf8_character(a.bytes));
  EXPECT_EQ(a.events.size(), 1u + 4u);
  EXPECT_NE(a.bytes.find("\"content\":\"h\xC3"), std::string::npos);
  EXPECT_EQ(kCutFiller, "h\xC3\xA9llo \xE2\x9C\x93");
  // Multi-byte text only before the half does not count; an empty answer gets the filler too.
  EXPECT_TRUE(ends_inside_utf8_character(
      drop_stream("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9 ascii after", Cut::kUtf8).bytes));
  EXPECT_TRUE(ends_inside_utf8_character(drop_stream("", Cut::kUtf8).bytes));
}

TEST(ReplayCut, Offsets) {
  EXPECT_EQ(cut_offset("data: {}\n\n", Cut::kEvent), 0u);
  EXPECT_EQ(cut_offset("data: {}\n\n", Cut::kLine), 4u);
  EXPECT_EQ(cut_offset("data: {}\n\n", Cut::kUtf8), 0u);  // nothing to cut inside
  EXPECT_EQ(cut_offset("data: \xE2\x9C\x93\n\n", Cut::kUtf8), 7u);
  EXPECT_EQ(cut_offset("\n\n", Cut::kLine), 0u);
  EXPECT_EQ(cut_offset("d\n", Cut::kLine), 1u);
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
  const auto ask = [](std::string text, std::vector<data::Message> conversation = {}) {
    ReplayRequest r;
    r.prompt_key = std::move(text);
    for (const auto& m : conversation)
      data::append_conversation_part(r.conversation_key, m.role, m.content);
    return r;
  };
  ASSERT_NE(book.find(ask("Q?")), nullptr);
  EXPECT_EQ(book.find(ask("Q?"))->response, "the answer");  // the record with a response wins
  EXPECT_EQ(book.find(ask("other")), nullptr);
  // The very conversation recorded first (its system message included) is its own record.
  ASSERT_NE(book.find(ask("Q?", first.messages)), nullptr);
  EXPECT_EQ(book.find(ask("Q?", first.messages))->response, std::nullopt);

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

// Two records with one user text and different system prompts (or costs): each conversation is
// answered and billed as recorded, not as the first record sharing its user text.
TEST(ReplayBook, ConversationsSharingTheirUserTextAreToldApart) {
  data::Outcomes o;
  data::PromptRecord plain{"1", {{"user", "Q?"}}, "qa", {}};
  plain.outcomes["m"] = data::ModelOutcome{1, 0.01, std::nullopt, "plain"};
  data::PromptRecord with_system{"2", {{"system", "be brief"}, {"user", "Q?"}}, "qa", {}};
  with_system.outcomes["m"] = data::ModelOutcome{0, 1.00, std::nullopt, "brief"};
  o.records = {plain, with_system};
  auto book = ReplayBook::build(o, "m");
  auto req = parse_replay_request(
      R"({"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Q?"}]})");
  ASSERT_TRUE(req);
  ASSERT_NE(book.find(*req), nullptr);
  EXPECT_EQ(book.find(*req)->response, "brief");
  EXPECT_EQ(book.find(*req)->cost, 1.00);
  // A system prompt nobody recorded: the answer to its user text.
  req = parse_replay_request(
      R"({"model":"m","messages":[{"role":"system","content":"other"},{"role":"user","content":"Q?"}]})");
  ASSERT_TRUE(req);
  EXPECT_EQ(book.find(*req)->response, "plain");
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
