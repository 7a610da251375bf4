// The decision records' batch encoding (store/record_codec.h): every field of DecisionRecord comes
// back as it went in, strings shared through the batch's dictionary, a damaged blob is refused.
#include "store/record_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace switchboard::store;

namespace {

DecisionRecord full_record(int n) {
  DecisionRecord r;
  r.id = new_decision_id();
  r.time_ms = 1'764'000'000'000 + n;
  r.route = "auto";
  r.api = "responses";
  r.key_name = "team-key";
  r.key_team = "research";
  r.policy = "cascade";
  r.model = "gpt-4o";
  r.replica = "r-1";
  r.reason = "cheapest over the quality floor";
  r.status = 502;
  r.outcome = "upstream_error";
  r.error_code = "upstream_status_502";
  r.error_message = "q\"uo\\te\n\xc3\xa9 " + std::to_string(n);
  r.stream = true;
  r.latency_ms = 12.345678901;
  r.upstream_ms = 0.1 + n;
  r.prompt_tokens = 1'000'000'000'000;
  r.completion_tokens = -3;
  r.tokens_source = "counted";
  r.cost_usd = 1.5e-7;
  switchboard::Candidate a;
  a.model = "gpt-4o";
  a.predicted_quality = 0.75;
  a.predicted_cost = 1.5e-05;
  a.utility = -0.25;
  a.note = "chosen";
  a.lambda = 0.5;
  a.price = 1e-9;
  switchboard::Candidate b;
  b.model = "small";
  b.eligible = false;
  b.note = "over the budget";
  r.candidates = {a, b};
  r.attempts = {{"gpt-4o", "r-1", "upstream_status_503", 12.5, false, 1},
                {"gpt-4o", "", "no_healthy_replica", std::nullopt, false, 2},
                {"small", "r-2", "ok", 3.25, true, 0}};
  r.stages = {{"parse", 4.5, "next"}, {"guard", 0, "off"}, {"execute", 1234.5, "next"},
              {"implicit_feedback", 0.1, "next"}};
  r.guard = {{"pii", "redact", {{"email", 2}, {"phone", 1}}, std::nullopt, std::nullopt, "", 12.5},
             {"jailbreak", "route", {}, 0.93, 0.5, "safe-model", 40}};
  CallRecord c1{"small", "r-2", 0, "ok", 20.5, 10, 5, 1e-6, 0.4, "B", "escalate", false};
  CallRecord c2{"gpt-4o", "", 1, "deadline", 0, 0, 0, 0, std::nullopt, "", "", true};
  r.calls = {c1, c2};
  r.cache = CacheRecord{"hit", "ce_" + std::to_string(n), 0.97, "semantic", 0.002, ""};
  r.session = SessionRecord{"header", "s_0123456789abcdef", 3, "stayed", "gpt-4o", "sticky"};
  return r;
}

void expect_same(const DecisionRecord& got, const DecisionRecord& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.time_ms, want.time_ms);
  EXPECT_EQ(got.route, want.route);
  EXPECT_EQ(got.api, want.api);
  EXPECT_EQ(got.key_name, want.key_name);
  EXPECT_EQ(got.key_team, want.key_team);
  EXPECT_EQ(got.policy, want.policy);
  EXPECT_EQ(got.model, want.model);
  EXPECT_EQ(got.replica, want.replica);
  EXPECT_EQ(got.reason, want.reason);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.outcome, want.outcome);
  EXPECT_EQ(got.error_code, want.error_code);
  EXPECT_EQ(got.error_message, want.error_message);
  EXPECT_EQ(got.stream, want.stream);
  EXPECT_EQ(got.latency_ms, want.latency_ms);  // exactly: doubles are stored whole
  EXPECT_EQ(got.upstream_ms, want.upstream_ms);
  EXPECT_EQ(got.prompt_tokens, want.prompt_tokens);
  EXPECT_EQ(got.completion_tokens, want.completion_tokens);
  EXPECT_EQ(got.tokens_source, want.tokens_source);
  EXPECT_EQ(got.cost_usd, want.cost_usd);
  ASSERT_EQ(got.candidates.size(), want.candidates.size());
  for (std::size_t i = 0; i < got.candidates.size(); ++i) {
    const auto& g = got.candidates[i];
    const auto& w = want.candidates[i];
    EXPECT_EQ(g.model, w.model);
    EXPECT_EQ(g.predicted_quality, w.predicted_quality);
    EXPECT_EQ(g.predicted_cost, w.predicted_cost);
    EXPECT_EQ(g.utility, w.utility);
    EXPECT_EQ(g.eligible, w.eligible);
    EXPECT_EQ(g.note, w.note);
    EXPECT_EQ(g.lambda, w.lambda);
    EXPECT_EQ(g.price, w.price);
  }
  EXPECT_EQ(got.attempts, want.attempts);
  ASSERT_EQ(got.stages.size(), want.stages.size());
  for (std::size_t i = 0; i < got.stages.size(); ++i) {
    EXPECT_EQ(got.stages[i].name, want.stages[i].name);
    EXPECT_NEAR(got.stages[i].us, want.stages[i].us, 0.05);  // kept to 0.1 µs
    EXPECT_EQ(got.stages[i].outcome, want.stages[i].outcome);
  }
  EXPECT_EQ(got.guard, want.guard);
  EXPECT_EQ(got.calls, want.calls);
  EXPECT_EQ(got.cache, want.cache);
  EXPECT_EQ(got.session, want.session);
  EXPECT_EQ(got.to_json(), want.to_json());
}

std::vector<DecisionRecord> decode_all(std::string_view blob, bool* ok = nullptr) {
  std::vector<DecisionRecord> out;
  const bool whole = decode_batch(blob, [&](DecisionRecord&& r) {
    out.push_back(std::move(r));
    return true;
  });
  if (ok) *ok = whole;
  return out;
}

}  // namespace

TEST(RecordCodec, EveryFieldRoundTrips) {
  std::vector<DecisionRecord> records;
  for (int i = 0; i < 5; ++i) records.push_back(full_record(i));
  DecisionRecord plain;  // no optional parts, default api, empty lists
  plain.id = "dec_plain";
  plain.time_ms = 7;
  records.push_back(plain);
  records[2].model = "another";  // a field that changes between records
  records[2].stages[1].name = "cache";
  BatchEncoder encoder;
  for (const auto& r : records) encoder.add(r);
  EXPECT_EQ(encoder.count(), records.size());
  const std::string blob = encoder.finish();
  EXPECT_EQ(encoder.count(), 0u);
  bool ok = false;
  auto got = decode_all(blob, &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(got.size(), records.size());
  for (std::size_t i = 0; i < got.size(); ++i) expect_same(got[i], records[i]);
  EXPECT_EQ(got.back().api, "chat");
  EXPECT_FALSE(got.back().cache);
  EXPECT_FALSE(got.back().session);
  // One record by id, without decoding the others.
  auto third = find_in_batch(blob, records[3].id);
  ASSERT_TRUE(third);
  expect_same(*third, records[3]);
  EXPECT_FALSE(find_in_batch(blob, "dec_none"));
}

TEST(RecordCodec, RepeatedStringsAreStoredOnce) {
  BatchEncoder encoder;
  std::vector<DecisionRecord> records;
  for (int i = 0; i < 100; ++i) records.push_back(full_record(i));
  for (const auto& r : records) encoder.add(r);
  const std::string blob = encoder.finish();
  // Per record: the id, the cache entry, the error message and ~35 dictionary indices and 25
  // doubles; the repeated strings (reason, model names, stage names, notes...) once per batch.
  EXPECT_LT(blob.size(), 100u * 400u);
  std::size_t reasons = 0;
  for (std::size_t p = 0; (p = blob.find("cheapest over the quality floor", p)) != std::string::npos; ++p)
    ++reasons;
  EXPECT_EQ(reasons, 1u);
  EXPECT_EQ(decode_all(blob).size(), 100u);
}

TEST(RecordCodec, EncoderIsReusableAfterFinish) {
  BatchEncoder encoder;
  auto a = full_record(1), b = full_record(2);
  b.model = "other";
  encoder.add(a);
  const std::string first = encoder.finish();
  encoder.add(b);
  const std::string second = encoder.finish();
  ASSERT_EQ(decode_all(first).size(), 1u);
  ASSERT_EQ(decode_all(second).size(), 1u);
  expect_same(decode_all(second)[0], b);
}

TEST(RecordCodec, TimeRangeComesFromTheIds) {
  BatchEncoder encoder;
  DecisionRecord a, b, odd;
  a.id = id_prefix(5000) + "0000000000001";
  a.time_ms = 1;  // ignored: the id carries the time
  b.id = id_prefix(4000) + "0000000000002";
  odd.id = "custom-id";
  odd.time_ms = 4500;  // an id of another form: its time_ms
  encoder.add(a);
  encoder.add(b);
  encoder.add(odd);
  EXPECT_EQ(encoder.min_ms(), 4000);
  EXPECT_EQ(encoder.max_ms(), 5000);
  EXPECT_EQ(id_time_ms(a.id), 5000);
  EXPECT_EQ(id_time_ms("dec_zzzzzzzzzzz0"), -1);
  EXPECT_EQ(id_time_ms("dec_123"), -1);
}

TEST(RecordCodec, DamagedBlobsAreRefusedWithoutReadingPastTheEnd) {
  BatchEncoder encoder;
  // The records outlive finish(): the encoder's dictionary refers to their strings.
  const std::vector<DecisionRecord> records = {full_record(0), full_record(1), full_record(2)};
  for (const auto& r : records) encoder.add(r);
  const std::string blob = encoder.finish();
  for (std::size_t cut = 0; cut < blob.size(); cut += 7) {
    bool ok = true;
    decode_all(std::string_view(blob).substr(0, cut), &ok);
    EXPECT_FALSE(ok) << cut;
  }
  std::string flipped = blob;
  for (std::size_t i = 0; i < flipped.size(); i += 13) flipped[i] = static_cast<char>(0xff);
  bool ok = true;
  decode_all(flipped, &ok);  // must not crash (ASan builds check the reads)
  EXPECT_FALSE(decode_all("", &ok).size());
  EXPECT_FALSE(ok);
  EXPECT_FALSE(find_in_batch("\x02garbage", "dec_x"));
}
