// Per-key rate limits and budgets over a CounterTable (access/counters.h). No I/O, no clock of its
// own: every call takes the time (unix ms), so tests drive it.
//
// Rate limits (requests and tokens per minute) use a sliding-window counter: the count of the
// current minute plus the previous minute's weighted by the part of it still inside the last 60
// s. It never resets abruptly at a minute boundary (no double burst), needs two integers per
// window — INCRBY-able in Redis — and is exact within a minute.
// Budgets (USD per UTC day and per UTC calendar month) are micro-dollar counters per period; a
// request is admitted while the period's spend is below the budget. Its estimated cost is reserved
// in them (reserve_spend(): at admission, then replaced by a closer estimate once routed), and
// once answered its actual cost replaces the reservation (settle()): requests running at once
// count each other's estimates, so concurrent requests cannot all pass a nearly spent budget; one
// request may overshoot it by its own cost.
// Tokens: admit() reserves the request's estimated prompt tokens plus its max_tokens (as OpenAI
// counts them); settle() corrects the count to the actual prompt + completion tokens: what exceeds
// the reservation is counted in the minute the request ended (a long stream keeps weighing on the
// window), an unused reservation is refunded while its minute is still read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "access/counters.h"
#include "access/key.h"
#include "switchboard/result.h"

namespace switchboard::access {

// The sliding window estimate and its timings (pure; unit-tested).
struct SlidingWindow {
  std::int64_t prev = 0, cur = 0;  // counts of the previous and the current minute
  double elapsed_s = 0;            // seconds into the current minute, [0, 60)
  double used() const;
  // Seconds from now until `cost` more fits under `limit`; 0 when it fits now; a negative value
  // when it never fits (cost > limit).
  double until_fits(std::int64_t limit, std::int64_t cost) const;
  // Seconds until the estimate is back to 0 (the limit's "reset").
  double until_empty() const;
};

// "1s", "6m0s", "250ms": OpenAI's format of x-ratelimit-reset-*.
std::string reset_text(double seconds);

struct Admission {
  bool ok = true;
  std::optional<Error> error;  // when refused: rate_limit_exceeded or budget_exceeded (429)
  const char* outcome = "";    // the record's outcome: rate_limited | budget_exceeded
  std::int64_t retry_after_s = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // retry-after, x-ratelimit-*
  // For settle(): the windows the request was counted in and its token estimate.
  std::int64_t minute = 0, day = 0, month = 0;
  std::int64_t estimated_tokens = 0;
  std::int64_t reserved_micros = 0;  // USD × 1e6 reserved in the budgets (reserve_spend())
  bool counted = false;
};

class Limiter {
 public:
  explicit Limiter(CounterTable& table) : table_(table) {}
  // Checks the key's budgets and rate limits at `now_ms`; when everything fits, counts the request
  // (1 request, `estimated_tokens` tokens: its prompt's estimate plus max_tokens) and returns ok
  // with the x-ratelimit-* headers.
  Admission admit(const Key& key, std::int64_t estimated_tokens, std::int64_t now_ms);
  // Reserves the admitted request's estimated cost `usd` in the key's budgets (the day and month
  // it was admitted in), in place of what it reserved before (a later, closer estimate replaces
  // an earlier one, up or down); remembered in `a` for settle(). No-op for a key without budgets
  // or a request not counted.
  void reserve_spend(const Key& key, Admission& a, double usd);
  // Raises the admitted request's token reservation to `tokens` (never lowers it) in the minute it
  // was admitted: once routed, a multi-call plan reserves for each call it may make, so that
  // requests running at once see it; settle() corrects it as for the admission's.
  void reserve_tokens(const Key& key, Admission& a, std::int64_t tokens);
  // After the answer (at `now_ms`): the actual tokens replace the reservation and `cost_usd` is
  // spent (in the day and month the request was admitted in, as the usage meter records it)
  // in place of the reserved estimate.
  void settle(const Key& key, const Admission& a, std::int64_t actual_tokens, double cost_usd,
              std::int64_t now_ms);
  // Keeps the key's current budget counters in the table (access/counters.h watch()), so that with
  // Redis their totals are known before this gateway admits the key's first request.
  void watch(const Key& key, std::int64_t now_ms);
  // Adds spend recorded before this process started (the usage table, without Redis) to the
  // key's day and month budget counters of `now_ms`, so a restart does not renew a budget.
  void restore_spend(const Key& key, std::int64_t now_ms, double today_usd, double month_usd);
  // Spend so far in the UTC day / month of `now_ms` (for listings and tests), USD.
  double spent_today(const Key& key, std::int64_t now_ms);
  double spent_this_month(const Key& key, std::int64_t now_ms);

  // Window numbers: minutes and days since the epoch, months as year * 12 + month - 1 (UTC).
  static std::int64_t minute_of(std::int64_t ms) { return ms / 60'000; }
  static std::int64_t day_of(std::int64_t ms) { return ms / 86'400'000; }
  static std::int64_t month_of(std::int64_t ms);
  // Unix ms at which that month starts.
  static std::int64_t month_start_ms(std::int64_t month);

 private:
  // Keeps the key's next-minute rate counters in the table (zero until counted), so that with
  // Redis the sync thread reads the other gateways' counts in them before this gateway's first
  // check of that minute (without it, that check saw only its own count: one gateway admitted
  // what another had already admitted in the new minute's first moments).
  void watch_next_minute(const Key& key, std::int64_t minute);

  CounterTable& table_;
};

}  // namespace switchboard::access
