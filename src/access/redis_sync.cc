#include "access/redis_sync.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

namespace switchboard::access {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
    : settings_(std::move(settings)), table_(table) {
  thread_ = std::thread([this] { loop(); });
}

RedisSync::~RedisSync() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (ctx_) redisFree(ctx_);
}

void RedisSync::kick() {
  if (!kicked_.exchange(true, std::memory_order_acq_rel)) wake_.notify_one();
}

void RedisSync::set_up(bool up, const std::string& why) {
  if (!up) errors_.fetch_add(1, std::memory_order_relaxed);
  if (up_.exchange(up) == up) return;
  if (up)
    spdlog::info("rate-limit state: redis at {} reachable again; counters shared", settings_.url);
  else
    spdlog::warn(
        "rate-limit state: redis at {} unreachable ({}); serving on this gateway's local counters "
        "({})",
        settings_.url, why,
        settings_.fail_open ? "fail_open: requests go on"
                            : "fail closed: limited keys are refused with 503");
}

bool RedisSync::connect() {
  if (ctx_) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_connect_) return false;
  next_connect_ = now + std::chrono::seconds(1);
  const timeval tv{static_cast<long>(settings_.timeout.count() / 1000),
                   static_cast<long>((settings_.timeout.count() % 1000) * 1000)};
  redisContext* c = redisConnectWithTimeout(settings_.host.c_str(), settings_.port, tv);
  if (!c || c->err) {
    set_up(false, c ? c->errstr : "out of memory");
    if (c) redisFree(c);
    return false;
  }
  redisSetTimeout(c, tv);
  if (settings_.db != 0) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "SELECT %d", settings_.db));
    const bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    if (!ok) {
      set_up(false, "SELECT failed");
      redisFree(c);
      return false;
    }
  }
  ctx_ = c;
  return true;
}

bool RedisSync::sync_once() {
  // New counts go at once; every counter's total (the other gateways' counts) is read back every
  // kRefreshRounds sync intervals.
  const auto now = std::chrono::steady_clock::now();
  const bool full = now >= next_full_;
  if (full) next_full_ = now + kRefreshRounds * settings_.sync;
  auto taken = table_.take(now_ms(), full);
  if (taken.empty()) {
    // Nothing to count: a PING now and then keeps up() true to the facts.
    if (now < next_ping_) return true;
    next_ping_ = now + std::chrono::seconds(1);
    auto* r = static_cast<redisReply*>(redisCommand(ctx_, "PING"));
    const bool ok = r != nullptr;
    if (r) freeReplyObject(r);
    if (!ok) set_up(false, ctx_->errstr);
    return ok;
  }
  std::vector<std::string> names;
  names.reserve(taken.size());
  for (const auto& d : taken) {
    names.push_back(settings_.prefix + d.name);
    const std::string delta = std::to_string(d.delta);
    append(ctx_, {"INCRBY", names.back(), delta});
    if (d.delta != 0) {
      const std::string at = std::to_string(d.expires_ms);
      append(ctx_, {"PEXPIREAT", names.back(), at});
    }
  }
  std::vector<std::optional<std::int64_t>> totals(taken.size());
  std::string why;
  for (std::size_t i = 0; i < taken.size() && why.empty(); ++i) {
    const int replies = taken[i].delta != 0 ? 2 : 1;
    for (int k = 0; k < replies; ++k) {
      void* raw = nullptr;
      if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) {
        why = ctx_->errstr[0] ? ctx_->errstr : "no reply";
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
    // Some increments may have been applied before the failure; we cannot tell which, so all are
    // resent later (an over-count, never an under-count).
    table_.restore(taken);
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
    if (connect() && !sync_once()) {
      redisFree(ctx_);
      ctx_ = nullptr;
    }
    if (stop) return;
  }
}

}  // namespace switchboard::access
