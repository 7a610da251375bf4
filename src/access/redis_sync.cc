#include "access/redis_sync.h"
#include "core/wall_clock.h"

#include <hiredis/hiredis.h>

#include <chrono>
#include <optional>

namespace switchboard::access {
namespace {

void append(redisContext* c, std::initializer_list<std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
}

}  // namespace

RedisSync::RedisSync(RedisSettings settings, CounterTable& table)
    : settings_(std::move(settings)),
      table_(table),
      link_(RedisAddress{settings_.url, settings_.host, settings_.port, settings_.db,
                         settings_.timeout},
            "rate-limit state",
            std::string("serving on this gateway's local counters (") +
                (settings_.fail_open ? "fail_open: requests go on"
                                     : "fail closed: limited keys are refused with 503") +
                ")") {
  // An error reply makes the shared counters untrustworthy: an outage here (set_up), said once.
  link_.leave_error_replies_to_owner();
  thread_ = std::thread([this] { loop(); });
}

RedisSync::~RedisSync() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RedisSync::kick() {
  if (!kicked_.exchange(true, std::memory_order_acq_rel)) wake_.notify_one();
}

void RedisSync::set_up(bool up, const std::string& why) {
  up_.store(up, std::memory_order_relaxed);
  if (!up) link_.down(why);  // logged once per outage (and counted); the next round reconnects
}

bool RedisSync::sync_once(redisContext* ctx) {
  // New counts go at once; every counter's total (the other gateways' counts) is read back every
  // kRefreshRounds sync intervals.
  const auto now = std::chrono::steady_clock::now();
  const bool full = now >= next_full_;
  if (full) next_full_ = now + kRefreshRounds * settings_.sync;
  auto taken = table_.take(unix_ms(), full);
  if (taken.empty()) {
    // Nothing to count: a PING now and then keeps up() true to the facts.
    if (now < next_ping_) return true;
    next_ping_ = now + std::chrono::seconds(1);
    auto* r = redis_command(ctx, "PING");
    // An error reply (LOADING, NOAUTH) is no more up than no reply.
    const bool ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
    const std::string why = ok ? "" : r ? std::string(redis_text(r)) : std::string(ctx->errstr);
    if (r) freeReplyObject(r);
    set_up(ok, why);
    return ok;
  }
  std::vector<std::string> names;
  names.reserve(taken.size());
  for (const auto& d : taken) {
    names.push_back(settings_.prefix + d.name);
    const std::string delta = std::to_string(d.delta);
    append(ctx, {"INCRBY", names.back(), delta});
    if (d.delta != 0) {
      const std::string at = std::to_string(d.expires_ms);
      append(ctx, {"PEXPIREAT", names.back(), at});
    }
  }
  std::vector<std::optional<std::int64_t>> totals(taken.size());
  std::string why;
  for (std::size_t i = 0; i < taken.size() && why.empty(); ++i) {
    const int replies = taken[i].delta != 0 ? 2 : 1;
    for (int k = 0; k < replies; ++k) {
      void* raw = nullptr;
      if (redis_get_reply(ctx, &raw) != REDIS_OK || !raw) {
        why = ctx->errstr[0] ? ctx->errstr : "no reply";
        break;
      }
      auto* r = static_cast<redisReply*>(raw);
      if (k == 0 && r->type == REDIS_REPLY_INTEGER) totals[i] = r->integer;
      if (r->type == REDIS_REPLY_ERROR && why.empty()) why = std::string(r->str, r->len);
      freeReplyObject(r);
      if (!why.empty()) break;
    }
  }
  if (!why.empty()) {
    // The increments Redis confirmed were applied. Any other may or may not have been: an
    // increase is resent later (at worst counted twice: an over-count), a decrease (a refunded
    // reservation) is not (resent, it could count twice: an under-count, a budget given back).
    std::vector<CounterTable::Delta> applied, resend;
    std::vector<std::optional<std::int64_t>> applied_totals;
    for (std::size_t i = 0; i < taken.size(); ++i) {
      if (totals[i] || taken[i].delta < 0) {
        applied.push_back(taken[i]);
        applied_totals.push_back(totals[i]);
      } else {
        resend.push_back(taken[i]);
      }
    }
    table_.settle(applied, applied_totals);
    table_.restore(resend);
    set_up(false, why);
    return false;
  }
  table_.settle(taken, totals);
  syncs_.fetch_add(1, std::memory_order_relaxed);
  set_up(true, "");
  return true;
}

void RedisSync::loop() {
  for (;;) {
    bool stop;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, settings_.sync,
                     [&] { return stopping_ || kicked_.load(std::memory_order_acquire); });
      stop = stopping_;
    }
    kicked_.store(false, std::memory_order_release);
    if (redisContext* ctx = link_.get())
      sync_once(ctx);  // a failure drops the connection (set_up)
    else if (!link_.up())
      up_.store(false, std::memory_order_relaxed);  // could not connect
    if (stop) return;
  }
}

}  // namespace switchboard::access
