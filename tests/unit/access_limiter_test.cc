// Rate limits and budgets (access/limiter.h) over the counter table (access/counters.h).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "access/counters.h"
#include "access/limiter.h"

namespace switchboard::access {
namespace {

constexpr std::int64_t kT0 = 1'764'633'600'000;  // 2025-12-02T00:00:00Z, a minute boundary

Key key_with(KeyLimits l) {
  Key k;
  k.id = "key_test";
  k.name = "test";
  k.limits = l;
  return k;
}

std::string header(const Admission& a, const std::string& name) {
  for (const auto& [n, v] : a.headers)
    if (n == name) return v;
  return "<absent>";
}

TEST(SlidingWindow, WeightsThePreviousMinuteByWhatIsLeftOfIt) {
  SlidingWindow w{10, 4, 15};  // a quarter into this minute: 3/4 of the previous one counts
  EXPECT_DOUBLE_EQ(w.used(), 7.5 + 4);
  EXPECT_DOUBLE_EQ(w.until_fits(20, 1), 0);
  // 11.5 + 1 - 12 = 0.5 over; the weight falls by 10/60 per second: 3 s.
  EXPECT_NEAR(w.until_fits(12, 1), 3.0, 1e-9);
  // Not within this minute: 11.5 + 1 > 5 until the previous minute is gone (45 s), then the
  // current 4 weigh until 4 * (1 - e/60) + 1 <= 5: at once.
  EXPECT_NEAR(w.until_fits(5, 1), 45.0, 1e-9);
  EXPECT_NEAR(w.until_fits(4, 1), 45.0 + 15.0, 1e-9);  // 4 * (1 - e/60) <= 3: e = 15
  EXPECT_LT(w.until_fits(3, 4), 0) << "a cost above the limit never fits";
  EXPECT_DOUBLE_EQ(w.until_empty(), 45.0 + 60.0);
  EXPECT_DOUBLE_EQ((SlidingWindow{3, 0, 30}).until_empty(), 30.0);
  EXPECT_DOUBLE_EQ((SlidingWindow{0, 0, 30}).until_empty(), 0.0);
}

TEST(SlidingWindow, ResetText) {
  EXPECT_EQ(reset_text(0), "0s");
  EXPECT_EQ(reset_text(0.25), "250ms");
  EXPECT_EQ(reset_text(6.2), "7s");
  EXPECT_EQ(reset_text(360), "6m0s");
  EXPECT_EQ(reset_text(61.5), "1m2s");
}

TEST(Limiter, RequestsPerMinuteAreEnforcedWithHeaders) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.requests_per_minute = 3;
  const Key k = key_with(l);
  for (int i = 0; i < 3; ++i) {
    auto a = lim.admit(k, 10, kT0 + 1000 * i);
    ASSERT_TRUE(a.ok) << i;
    EXPECT_EQ(header(a, "x-ratelimit-limit-requests"), "3");
    EXPECT_EQ(header(a, "x-ratelimit-remaining-requests"), std::to_string(2 - i));
    EXPECT_EQ(header(a, "x-ratelimit-limit-tokens"), "<absent>");
  }
  auto refused = lim.admit(k, 10, kT0 + 5000);
  ASSERT_FALSE(refused.ok);
  EXPECT_EQ(refused.error->code, "rate_limit_exceeded");
  EXPECT_EQ(refused.error->kind, ErrorKind::kRateLimited);
  EXPECT_STREQ(refused.outcome, "rate_limited");
  EXPECT_EQ(header(refused, "x-ratelimit-remaining-requests"), "0");
  // 3 in this minute, none before: the next minute, 3 * (1 - e/60) + 1 <= 3 at e = 20 s; from 5 s
  // into this minute that is 55 + 20 = 75 s.
  EXPECT_EQ(refused.retry_after_s, 75);
  EXPECT_EQ(header(refused, "retry-after"), "75");
  EXPECT_EQ(header(refused, "x-should-retry"), "<absent>") << "retrying later helps";
  EXPECT_FALSE(refused.counted);
  // Refusals are not counted: at 75 s it fits again.
  EXPECT_FALSE(lim.admit(k, 10, kT0 + 79'000).ok);
  EXPECT_TRUE(lim.admit(k, 10, kT0 + 80'000).ok);
}

TEST(Limiter, TokensCountTheEstimateThenTheActualUsage) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.tokens_per_minute = 1000;
  const Key k = key_with(l);
  auto a = lim.admit(k, 400, kT0);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(header(a, "x-ratelimit-remaining-tokens"), "600");
  auto b = lim.admit(k, 400, kT0 + 1);
  ASSERT_TRUE(b.ok);
  // 800 counted; 300 more does not fit...
  EXPECT_FALSE(lim.admit(k, 300, kT0 + 2).ok);
  // ...until the first request turns out to have used 100 tokens in all (its estimate refunded).
  lim.settle(k, a, 100, 0, kT0 + 2);
  auto c = lim.admit(k, 300, kT0 + 3);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(header(c, "x-ratelimit-remaining-tokens"), "200");
  // A request larger than the whole limit is refused with a clear message.
  auto huge = lim.admit(k, 5000, kT0 + 4);
  ASSERT_FALSE(huge.ok);
  EXPECT_NE(huge.error->message.find("exceed"), std::string::npos);
  EXPECT_EQ(header(huge, "x-should-retry"), "false") << "it never fits: no retry helps";
}

// A multi-call plan, once routed, reserves for each call it may make: requests admitted meanwhile
// see it; its answer then settles the reservation like the admission's.
TEST(Limiter, APlansTokenReservationRaisesTheAdmissionsAndSettlesTheSameWay) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.tokens_per_minute = 1000;
  const Key k = key_with(l);
  auto a = lim.admit(k, 200, kT0);
  ASSERT_TRUE(a.ok);
  lim.reserve_tokens(k, a, 600);  // three calls of 200
  EXPECT_EQ(a.estimated_tokens, 600);
  EXPECT_FALSE(lim.admit(k, 401, kT0 + 1).ok);
  lim.reserve_tokens(k, a, 300);  // never lowered
  EXPECT_EQ(a.estimated_tokens, 600);
  // The plan stopped after two calls (350 tokens): the rest is refunded.
  lim.settle(k, a, 350, 0, kT0 + 2);
  EXPECT_TRUE(lim.admit(k, 650, kT0 + 3).ok);
}

TEST(Limiter, TokensBeyondTheReservationCountInTheMinuteTheRequestEnded) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.tokens_per_minute = 1000;
  const Key k = key_with(l);
  // A stream admitted with 100 reserved ends two minutes later having used 900.
  auto a = lim.admit(k, 100, kT0 + 10'000);
  ASSERT_TRUE(a.ok);
  lim.settle(k, a, 900, 0, kT0 + 130'000);
  // The 800 beyond the reservation weigh on the minute it ended in (its admission minute is no
  // longer read): 800 + 201 > 1000.
  EXPECT_FALSE(lim.admit(k, 201, kT0 + 131'000).ok);
  EXPECT_TRUE(lim.admit(k, 200, kT0 + 131'000).ok);
}

TEST(Limiter, AnUnusedReservationIsRefundedWhileItsMinuteIsRead) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.tokens_per_minute = 1000;
  const Key k = key_with(l);
  // 50 prompt tokens + max_tokens 800 reserved; the answer took 100 in all.
  auto a = lim.admit(k, 850, kT0);
  ASSERT_TRUE(a.ok);
  EXPECT_FALSE(lim.admit(k, 800, kT0 + 1'000).ok) << "reserved until answered";
  lim.settle(k, a, 100, 0, kT0 + 30'000);
  EXPECT_TRUE(lim.admit(k, 800, kT0 + 31'000).ok);
}

TEST(Limiter, DailyBudgetIsSpentAfterTheAnswerAndRenewsAtMidnightUtc) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.usd_per_day = 1.0;
  const Key k = key_with(l);
  const std::int64_t noon = kT0 + 12 * 3'600'000;
  auto a = lim.admit(k, 10, noon);
  ASSERT_TRUE(a.ok);
  auto b = lim.admit(k, 10, noon + 1);  // admitted: nothing is spent until an answer
  ASSERT_TRUE(b.ok);
  lim.settle(k, a, 10, 0.6, noon);
  EXPECT_NEAR(lim.spent_today(k, noon), 0.6, 1e-9);
  ASSERT_TRUE(lim.admit(k, 10, noon + 2).ok);  // 0.6 < 1.0
  lim.settle(k, b, 10, 0.6, noon);                   // may overshoot by one request's cost
  auto refused = lim.admit(k, 10, noon + 3);
  ASSERT_FALSE(refused.ok);
  EXPECT_EQ(refused.error->code, "budget_exceeded");
  EXPECT_STREQ(refused.outcome, "budget_exceeded");
  EXPECT_EQ(refused.retry_after_s, 12 * 3600) << "until 00:00 UTC";
  EXPECT_EQ(header(refused, "x-should-retry"), "false") << "SDKs must not retry on their own";
  EXPECT_TRUE(lim.admit(k, 10, kT0 + 86'400'000).ok) << "a new day";
}

TEST(Limiter, ARunningRequestsReservedEstimateCountsUntilItsActualCostReplacesIt) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.usd_per_day = 1.0;
  l.usd_per_month = 5.0;
  const Key k = key_with(l);
  const std::int64_t noon = kT0 + 12 * 3'600'000;
  auto a = lim.admit(k, 10, noon);
  ASSERT_TRUE(a.ok);
  lim.reserve_spend(k, a, 1.2);  // routed: its estimate fills the day's budget
  EXPECT_NEAR(lim.spent_today(k, noon), 1.2, 1e-9);
  EXPECT_NEAR(lim.spent_this_month(k, noon), 1.2, 1e-9);
  auto b = lim.admit(k, 10, noon + 1);
  ASSERT_FALSE(b.ok) << "another request while the first runs";
  EXPECT_EQ(b.error->code, "budget_exceeded");
  lim.settle(k, a, 10, 0.3, noon + 2);  // it cost less than estimated: the rest goes back
  EXPECT_NEAR(lim.spent_today(k, noon), 0.3, 1e-9);
  EXPECT_NEAR(lim.spent_this_month(k, noon), 0.3, 1e-9);
  auto c = lim.admit(k, 10, noon + 3);
  ASSERT_TRUE(c.ok);
  lim.reserve_spend(k, c, 0.1);
  lim.settle(k, c, 10, 0.5, noon + 4);  // and more than estimated: the excess is spent
  EXPECT_NEAR(lim.spent_today(k, noon), 0.8, 1e-9);
  // A refused request reserves nothing.
  lim.reserve_spend(k, b, 3.0);
  EXPECT_NEAR(lim.spent_today(k, noon), 0.8, 1e-9);
}

TEST(Limiter, ALaterEstimateReplacesTheReservationUpOrDown) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.usd_per_day = 10.0;
  const Key k = key_with(l);
  const std::int64_t noon = kT0 + 12 * 3'600'000;
  auto a = lim.admit(k, 10, noon);
  ASSERT_TRUE(a.ok);
  lim.reserve_spend(k, a, 2.0);  // at admission: the most it could cost
  EXPECT_NEAR(lim.spent_today(k, noon), 2.0, 1e-9);
  lim.reserve_spend(k, a, 0.25);  // routed to a cheaper model: replaced, not added
  EXPECT_NEAR(lim.spent_today(k, noon), 0.25, 1e-9);
  lim.reserve_spend(k, a, 0.5);
  EXPECT_NEAR(lim.spent_today(k, noon), 0.5, 1e-9);
  lim.reserve_spend(k, a, -1.0);  // nonsense estimates reserve nothing
  EXPECT_NEAR(lim.spent_today(k, noon), 0.0, 1e-9);
  lim.reserve_spend(k, a, 0.5);
  lim.settle(k, a, 10, 0.125, noon + 1);  // the actual cost replaces the last estimate
  EXPECT_NEAR(lim.spent_today(k, noon), 0.125, 1e-9);
}

TEST(Limiter, MonthlyBudgetRenewsOnTheFirst) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.usd_per_month = 2.0;
  const Key k = key_with(l);
  auto a = lim.admit(k, 1, kT0);
  lim.settle(k, a, 1, 2.5, kT0);
  const std::int64_t later = kT0 + 10LL * 86'400'000;  // Dec 12
  auto refused = lim.admit(k, 1, later);
  ASSERT_FALSE(refused.ok);
  EXPECT_EQ(refused.error->code, "budget_exceeded");
  EXPECT_EQ(refused.retry_after_s, 20LL * 86'400) << "until 2026-01-01T00:00Z";
  EXPECT_TRUE(lim.admit(k, 1, later + 20LL * 86'400'000).ok);
  EXPECT_EQ(Limiter::month_of(kT0), 2025 * 12 + 11);
  EXPECT_EQ(Limiter::month_start_ms(2025 * 12 + 11), kT0 - 86'400'000);
}

TEST(Limiter, KeysWithoutLimitsAreNotCounted) {
  CounterTable t;
  Limiter lim(t);
  const Key k = key_with({});
  auto a = lim.admit(k, 100, kT0);
  EXPECT_TRUE(a.ok);
  EXPECT_TRUE(a.headers.empty());
  EXPECT_EQ(t.size(), 0u);
}

TEST(Limiter, NextMinutesCountsFromOtherGatewaysAreKnownBeforeItsFirstCheck) {
  CounterTable t;
  Limiter lim(t);
  KeyLimits l;
  l.requests_per_minute = 6;
  const Key k = key_with(l);
  ASSERT_TRUE(lim.admit(k, 0, kT0 + 59'000).ok);  // this gateway's only request of the minute
  // A sync at the minute's end: the next minute's counter is among those read back, and other
  // gateways have admitted 5 in its first moments.
  auto taken = t.take(kT0 + 59'500);
  std::vector<std::optional<std::int64_t>> totals;
  bool next_minute_read = false;
  const std::string next_minute = "key_test:r:" + std::to_string(kT0 / 60'000 + 1);
  for (const auto& d : taken) {
    const bool next = d.name == next_minute;
    next_minute_read |= next && d.delta == 0;
    totals.push_back(next ? std::optional<std::int64_t>(5) : std::optional<std::int64_t>(1));
  }
  ASSERT_TRUE(next_minute_read);
  t.settle(taken, totals);
  // Half a second into the new minute: 1 * (1 - 0.5/60) + 5 + 1 > 6.
  auto a = lim.admit(k, 0, kT0 + 60'500);
  EXPECT_FALSE(a.ok) << "the first check of a minute counts what the others admitted in it";
}

TEST(CounterTable, SyncMovesDeltasAndSettlesGlobalTotals) {
  CounterTable t;
  t.add_locked("a", 3, kT0 + 60'000);
  auto taken = t.take(kT0);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].delta, 3);
  EXPECT_EQ(t.value("a"), 3) << "in flight still counts";
  t.add_locked("a", 2, kT0 + 60'000);
  // Redis answered: 3 from us plus 10 from other gateways.
  t.settle(taken, {13});
  EXPECT_EQ(t.value("a"), 15);
  // A failed send puts the delta back.
  auto again = t.take(kT0);
  EXPECT_EQ(again[0].delta, 2);
  t.restore(again);
  EXPECT_EQ(t.value("a"), 15);
  auto third = t.take(kT0);
  EXPECT_EQ(third[0].delta, 2);
  t.settle(third, {std::nullopt});  // no total in the answer: the local view stays
  EXPECT_EQ(t.value("a"), 15);
  // Expired with something to send: kept until sent; expired and idle: dropped.
  t.add_locked("a", 1, kT0 + 60'000);
  auto fourth = t.take(kT0 + 60'000);
  ASSERT_EQ(fourth.size(), 1u);
  EXPECT_EQ(t.size(), 1u);
  t.settle(fourth, {16});
  t.take(kT0 + 60'000);
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace switchboard::access
