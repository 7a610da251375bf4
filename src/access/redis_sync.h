// Shares a CounterTable between gateways through Redis (hiredis, redis-server).
//
// The request path never waits on Redis: it counts in the local table (access/counters.h) and
// kick()s this class's thread, which at once sends the new deltas in one pipelined batch: INCRBY
// name delta (+ PEXPIREAT at the window's end plus one window) per counter. INCRBY returns the
// counter's total over all gateways, which becomes the local base. Every 5 `sync` intervals
// (100 ms by default) it also reads back every live counter's total (INCRBY 0), so each gateway
// sees the others' counts within about that time, and N gateways enforce one limit with an
// overshoot bounded by what all of them admit during that lag (docs/keys.md). The limiter
// watches a key's next-minute counters ahead, so only a counter this gateway never touched (a
// key's first request after a minute without one) is known only after its first check; budget
// counters of all keys with budgets are watched from start-up.
//
// Redis unreachable (connect refused, a timeout, an error reply): the deltas stay local (restored
// to pending, sent after reconnecting, so totals end up right), up() turns false, a warning is
// logged once per outage, and reconnects are tried at most once a second. The stage then keeps
// serving on the local counts (fail_open) or refuses limited keys with 503 (fail closed).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "access/counters.h"
#include "access/settings.h"
#include "core/redis_link.h"

struct redisContext;

namespace switchboard::access {

class RedisSync {
 public:
  RedisSync(RedisSettings settings, CounterTable& table);
  ~RedisSync();  // one last sync attempt (bounded by the timeout), then stops the thread

  // Asks for a sync soon; cheap (an atomic exchange, a notify only when none is pending).
  void kick();
  // The last round trip succeeded (true until the first one failed).
  bool up() const { return up_.load(std::memory_order_relaxed); }
  // Failed connects and round trips so far.
  std::uint64_t errors() const { return link_.failures(); }
  std::uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }
  const RedisSettings& settings() const { return settings_; }

 private:
  void loop();
  bool sync_once(redisContext* ctx);  // false on an I/O error or error reply (connection dropped)
  void set_up(bool up, const std::string& why);

  const RedisSettings settings_;
  CounterTable& table_;
  RedisLink link_;  // sync thread only (failures() from any)
  std::chrono::steady_clock::time_point next_ping_{};
  std::chrono::steady_clock::time_point next_full_{};
  static constexpr int kRefreshRounds = 5;

  std::atomic<bool> up_{true};
  std::atomic<bool> kicked_{false};
  std::atomic<std::uint64_t> syncs_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace switchboard::access
