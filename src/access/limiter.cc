#include "access/limiter.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace switchboard::access {
namespace {

constexpr std::int64_t kMinuteMs = 60'000, kDayMs = 86'400'000;

std::string name_of(const Key& k, char kind, std::int64_t window) {
  return k.id + ":" + kind + ":" + std::to_string(window);
}

// Whole micro-dollars, saturating: a negative or NaN amount is 0, and anything from a trillion
// dollars up is a trillion (llround of a double beyond INT64_MAX is undefined).
std::int64_t micros(double usd) {
  constexpr double kMost = 1e12;
  if (!(usd > 0)) return 0;
  return static_cast<std::int64_t>(std::llround(std::min(usd, kMost) * 1e6));
}

Error limited(std::string code, std::string message) {
  return make_error(ErrorKind::kRateLimited, std::move(code), std::move(message));
}

std::string money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", usd);
  return buf;
}

}  // namespace

double SlidingWindow::used() const {
  const double weight = std::clamp(1.0 - elapsed_s / 60.0, 0.0, 1.0);
  return static_cast<double>(prev) * weight + static_cast<double>(cur);
}

double SlidingWindow::until_fits(std::int64_t limit, std::int64_t cost) const {
  if (cost > limit) return -1;
  const double need = used() + static_cast<double>(cost) - static_cast<double>(limit);
  if (need <= 1e-9) return 0;
  if (prev > 0) {  // the previous minute's weight falls linearly over this minute
    const double t = need / (static_cast<double>(prev) / 60.0);
    if (elapsed_s + t <= 60.0) return t;
  }
  // In the next minute, the current count becomes the weighted previous one.
  double into_next = 0;
  if (cur + cost > limit)
    into_next = 60.0 * (1.0 - static_cast<double>(limit - cost) / static_cast<double>(cur));
  return (60.0 - elapsed_s) + into_next;
}

double SlidingWindow::until_empty() const {
  if (cur > 0) return (60.0 - elapsed_s) + 60.0;
  if (prev > 0) return 60.0 - elapsed_s;
  return 0;
}

std::string reset_text(double s) {
  if (s <= 0) return "0s";
  if (s < 1) return std::to_string(static_cast<int>(std::ceil(s * 1000))) + "ms";
  const auto total = static_cast<std::int64_t>(std::ceil(s));
  if (total < 60) return std::to_string(total) + "s";
  return std::to_string(total / 60) + "m" + std::to_string(total % 60) + "s";
}

std::int64_t Limiter::month_of(std::int64_t ms) {
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(sys_time<milliseconds>(milliseconds(ms)))};
  return static_cast<int>(ymd.year()) * 12 + static_cast<int>(static_cast<unsigned>(ymd.month())) -
         1;
}

std::int64_t Limiter::month_start_ms(std::int64_t month) {
  using namespace std::chrono;
  const year_month_day ymd{year(static_cast<int>(month / 12)),
                           std::chrono::month(static_cast<unsigned>(month % 12 + 1)), day(1)};
  return duration_cast<milliseconds>(sys_days(ymd).time_since_epoch()).count();
}

Admission Limiter::admit(const Key& key, std::int64_t estimated_tokens, std::int64_t now_ms) {
  Admission a;
  a.minute = minute_of(now_ms);
  a.day = day_of(now_ms);
  a.month = month_of(now_ms);
  a.estimated_tokens = std::max<std::int64_t>(estimated_tokens, 0);
  const auto& l = key.limits;
  if (!l.any()) return a;
  const double elapsed_s = static_cast<double>(now_ms - a.minute * kMinuteMs) / 1000.0;
  // `final_answer`: retrying soon cannot help (a spent budget, a request larger than the limit):
  // x-should-retry: false, which the official OpenAI and Anthropic SDKs obey instead of retrying
  // a 429 on their own.
  auto refuse = [&](Error e, const char* outcome, double retry_s, bool final_answer = false) {
    a.ok = false;
    if (final_answer) a.headers.emplace_back("x-should-retry", "false");
    a.error = std::move(e);
    a.outcome = outcome;
    a.retry_after_s = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(retry_s)));
    a.headers.emplace_back("retry-after", std::to_string(a.retry_after_s));
    a.headers.emplace_back("retry-after-ms",
                           std::to_string(static_cast<std::int64_t>(std::ceil(retry_s * 1000))));
  };

  auto lock = table_.lock();
  // Budgets first: a spent budget is the more lasting refusal.
  if (l.usd_per_day > 0) {
    const std::int64_t spent = table_.watch(name_of(key, 'd', a.day), (a.day + 2) * kDayMs);
    if (spent >= micros(l.usd_per_day)) {
      refuse(limited("budget_exceeded", "key '" + key.name + "' spent its daily budget ($" +
                                            money(spent / 1e6) + " of $" + money(l.usd_per_day) +
                                            " today, UTC); it renews at 00:00 UTC"),
             "budget_exceeded", static_cast<double>((a.day + 1) * kDayMs - now_ms) / 1000.0, true);
      return a;
    }
  }
  if (l.usd_per_month > 0) {
    const std::int64_t spent =
        table_.watch(name_of(key, 'm', a.month), month_start_ms(a.month + 2));
    if (spent >= micros(l.usd_per_month)) {
      refuse(limited("budget_exceeded", "key '" + key.name + "' spent its monthly budget ($" +
                                            money(spent / 1e6) + " of $" + money(l.usd_per_month) +
                                            " this month, UTC); it renews on the 1st"),
             "budget_exceeded", static_cast<double>(month_start_ms(a.month + 1) - now_ms) / 1000.0,
             true);
      return a;
    }
  }
  const std::int64_t expires = (a.minute + 2) * kMinuteMs;
  SlidingWindow rq, tk;
  rq.elapsed_s = tk.elapsed_s = elapsed_s;
  if (l.requests_per_minute > 0) {
    rq.prev = table_.get(name_of(key, 'r', a.minute - 1));
    rq.cur = table_.watch(name_of(key, 'r', a.minute), expires);
  }
  if (l.tokens_per_minute > 0) {
    tk.prev = table_.get(name_of(key, 't', a.minute - 1));
    tk.cur = table_.watch(name_of(key, 't', a.minute), expires);
  }
  watch_next_minute(key, a.minute);
  auto limit_headers = [&](const char* kind, std::int64_t limit, const SlidingWindow& w,
                           std::int64_t now_cost) {
    // (In double and clamped before the cast: a limit stored before they were bounded may be huge.)
    const double left = std::clamp(
        std::floor(static_cast<double>(limit) - w.used() - static_cast<double>(now_cost)), 0.0,
        9.0e18);
    const auto remaining = static_cast<std::int64_t>(left);
    a.headers.emplace_back(std::string("x-ratelimit-limit-") + kind, std::to_string(limit));
    a.headers.emplace_back(std::string("x-ratelimit-remaining-") + kind, std::to_string(remaining));
    SlidingWindow after = w;
    after.cur += now_cost;
    a.headers.emplace_back(std::string("x-ratelimit-reset-") + kind,
                           reset_text(after.until_empty()));
  };
  if (l.requests_per_minute > 0 && rq.until_fits(l.requests_per_minute, 1) != 0) {
    const double t = rq.until_fits(l.requests_per_minute, 1);
    limit_headers("requests", l.requests_per_minute, rq, 0);
    if (l.tokens_per_minute > 0) limit_headers("tokens", l.tokens_per_minute, tk, 0);
    refuse(limited("rate_limit_exceeded",
                   "key '" + key.name + "' is over its limit of " +
                       std::to_string(l.requests_per_minute) +
                       " requests per minute; retry after the retry-after header's seconds"),
           "rate_limited", t);
    return a;
  }
  if (l.tokens_per_minute > 0) {
    const double t = tk.until_fits(l.tokens_per_minute, a.estimated_tokens);
    if (t != 0) {
      if (l.requests_per_minute > 0) limit_headers("requests", l.requests_per_minute, rq, 0);
      limit_headers("tokens", l.tokens_per_minute, tk, 0);
      if (t < 0) {
        refuse(limited("rate_limit_exceeded",
                       "the request's ~" + std::to_string(a.estimated_tokens) +
                           " tokens (its prompt's estimate plus max_tokens) exceed key '" +
                           key.name + "''s limit of " +
                           std::to_string(l.tokens_per_minute) + " tokens per minute"),
               "rate_limited", 60, true);
      } else {
        refuse(limited("rate_limit_exceeded", "key '" + key.name + "' is over its limit of " +
                                                  std::to_string(l.tokens_per_minute) +
                                                  " tokens per minute"),
               "rate_limited", t);
      }
      return a;
    }
  }
  // Admitted: count it (the windows expire one minute after they end).
  if (l.requests_per_minute > 0) table_.add(name_of(key, 'r', a.minute), 1, expires);
  if (l.tokens_per_minute > 0 && a.estimated_tokens > 0)
    table_.add(name_of(key, 't', a.minute), a.estimated_tokens, expires);
  a.counted = true;
  if (l.requests_per_minute > 0) limit_headers("requests", l.requests_per_minute, rq, 1);
  if (l.tokens_per_minute > 0) limit_headers("tokens", l.tokens_per_minute, tk, a.estimated_tokens);
  return a;
}

void Limiter::restore_spend(const Key& key, std::int64_t now_ms, double today_usd,
                            double month_usd) {
  const std::int64_t day = day_of(now_ms), month = month_of(now_ms);
  auto lock = table_.lock();
  if (key.limits.usd_per_day > 0 && today_usd > 0)
    table_.add(name_of(key, 'd', day), micros(today_usd), (day + 2) * kDayMs);
  if (key.limits.usd_per_month > 0 && month_usd > 0)
    table_.add(name_of(key, 'm', month), micros(month_usd), month_start_ms(month + 2));
}

void Limiter::watch_next_minute(const Key& key, std::int64_t minute) {
  const std::int64_t expires = (minute + 3) * kMinuteMs;
  if (key.limits.requests_per_minute > 0) table_.watch(name_of(key, 'r', minute + 1), expires);
  if (key.limits.tokens_per_minute > 0) table_.watch(name_of(key, 't', minute + 1), expires);
}

void Limiter::watch(const Key& key, std::int64_t now_ms) {
  const std::int64_t day = day_of(now_ms), month = month_of(now_ms);
  auto lock = table_.lock();
  if (key.limits.usd_per_day > 0) table_.watch(name_of(key, 'd', day), (day + 2) * kDayMs);
  if (key.limits.usd_per_month > 0)
    table_.watch(name_of(key, 'm', month), month_start_ms(month + 2));
}

void Limiter::settle(const Key& key, const Admission& a, std::int64_t actual_tokens,
                     double cost_usd, std::int64_t now_ms) {
  if (!a.counted || !key.limits.any()) return;
  auto lock = table_.lock();
  const std::int64_t correction = std::max<std::int64_t>(actual_tokens, 0) - a.estimated_tokens;
  if (correction != 0 && key.limits.tokens_per_minute > 0) {
    const std::int64_t minute = std::max(minute_of(now_ms), a.minute);
    if (correction > 0) {
      // Tokens beyond the reservation count in the minute the request ended: a stream that
      // outlived its admission minute still weighs on the window the next checks read.
      table_.add(name_of(key, 't', minute), correction, (minute + 2) * kMinuteMs);
    } else if (a.minute >= minute - 1) {
      // An unused reservation goes back while its minute is still read (it is gone after).
      table_.add(name_of(key, 't', a.minute), correction, (a.minute + 2) * kMinuteMs);
    }
  }
  const std::int64_t spent = micros(cost_usd) - a.reserved_micros;
  if (spent != 0) {
    if (key.limits.usd_per_day > 0)
      table_.add(name_of(key, 'd', a.day), spent, (a.day + 2) * kDayMs);
    if (key.limits.usd_per_month > 0)
      table_.add(name_of(key, 'm', a.month), spent, month_start_ms(a.month + 2));
  }
}

void Limiter::reserve_spend(const Key& key, Admission& a, double usd) {
  if (!a.counted) return;
  if (key.limits.usd_per_day <= 0 && key.limits.usd_per_month <= 0) return;
  const std::int64_t change = std::max<std::int64_t>(micros(usd), 0) - a.reserved_micros;
  if (change == 0) return;
  auto lock = table_.lock();
  if (key.limits.usd_per_day > 0) table_.add(name_of(key, 'd', a.day), change, (a.day + 2) * kDayMs);
  if (key.limits.usd_per_month > 0)
    table_.add(name_of(key, 'm', a.month), change, month_start_ms(a.month + 2));
  a.reserved_micros += change;
}

void Limiter::reserve_tokens(const Key& key, Admission& a, std::int64_t tokens) {
  if (!a.counted || key.limits.tokens_per_minute <= 0 || tokens <= a.estimated_tokens) return;
  const std::int64_t change = tokens - a.estimated_tokens;
  auto lock = table_.lock();
  table_.add(name_of(key, 't', a.minute), change, (a.minute + 2) * kMinuteMs);
  a.estimated_tokens = tokens;
}

double Limiter::spent_today(const Key& key, std::int64_t now_ms) {
  return static_cast<double>(table_.value(name_of(key, 'd', day_of(now_ms)))) / 1e6;
}
double Limiter::spent_this_month(const Key& key, std::int64_t now_ms) {
  return static_cast<double>(table_.value(name_of(key, 'm', month_of(now_ms)))) / 1e6;
}

}  // namespace switchboard::access
