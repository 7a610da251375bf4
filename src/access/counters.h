// Named integer counters (requests, tokens, micro-dollars per key and window) kept in process and,
// with `state: {redis: URL}`, shared through Redis by access::RedisSync.
//
// Each counter's value is base + inflight + pending: `base` is the last total Redis returned (all
// gateways' increments included), `inflight` what this process is sending to Redis right now, and
// `pending` what it added since. Without Redis nothing is ever taken, so the value is this
// process's own count. The request path only takes the table's mutex (no I/O); the sync thread
// takes the deltas (take()), sends them, and settles the totals (settle()) or, on failure, puts
// them back (restore()).
//
// Each counter has an expiry (the end of its window plus one window); expired counters with
// nothing to send are dropped by take(), so memory stays bounded by the keys in use.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchboard::access {

class CounterTable {
 public:
  struct Delta {
    std::string name;
    std::int64_t delta = 0;
    std::int64_t expires_ms = 0;  // unix ms
  };

  // Requires the lock (lock()) for get/add; the limiter checks and counts under one lock.
  std::unique_lock<std::mutex> lock() { return std::unique_lock(mu_); }
  std::int64_t get(const std::string& name) const;
  // get(), and keeps the counter (value 0 if new) until `expires_ms`, so that the sync thread
  // fetches its total even before this process counts anything in it.
  std::int64_t watch(const std::string& name, std::int64_t expires_ms);
  void add(const std::string& name, std::int64_t delta, std::int64_t expires_ms);
  // Takes the lock itself.
  void add_locked(const std::string& name, std::int64_t delta, std::int64_t expires_ms) {
    auto l = lock();
    add(name, delta, expires_ms);
  }
  std::int64_t value(const std::string& name) {
    auto l = lock();
    return get(name);
  }

  // Sync thread: the live counters with their pending deltas (moved to inflight): all of them when
  // `all` (a delta of 0 reads the total back), else only those with something new; drops expired
  // idle counters (`now_ms`).
  std::vector<Delta> take(std::int64_t now_ms, bool all = true);
  // Without a sync thread: drops every expired counter (nothing is ever sent).
  void expire(std::int64_t now_ms);
  // totals[i] is the total Redis returned for taken[i] (nullopt: unknown, keep the local view).
  void settle(const std::vector<Delta>& taken,
              const std::vector<std::optional<std::int64_t>>& totals);
  // The send failed: the inflight deltas go back to pending.
  void restore(const std::vector<Delta>& taken);
  std::size_t size() {
    auto l = lock();
    return entries_.size();
  }

 private:
  struct Entry {
    std::int64_t base = 0, inflight = 0, pending = 0;
    std::int64_t expires_ms = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace switchboard::access
