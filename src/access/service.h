// The access service behind the `auth` and `limits` stages: the live key registry, the counters
// (local, shared through Redis with `state:`), the limiter and the usage meter.
//
// One per process and keys database: acquire() returns the running service for the same keys_db
// and Redis URL (so a config reload, which rebuilds the stages, keeps the counters), or starts one.
//
// Threads: a registry thread re-reads the key table when it changed (every `auth.reload_ms`; at
// once with reload_keys()), the meter's writer, and with Redis the sync thread. The request path
// (find(), limiter(), kick(), meter()) takes short mutexes only, never does I/O.
//
// The admin API (docs/keys.md, "From C++") manages keys with access::KeyStore on the same file and
// then calls reload_all() so running gateways see the change at once.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "access/counters.h"
#include "access/key.h"
#include "access/limiter.h"
#include "access/meter.h"
#include "access/redis_sync.h"
#include "access/settings.h"

namespace switchboard::access {

// Keys beyond this many get the metrics label "other" (bounded label cardinality).
inline constexpr std::size_t kMaxKeyLabels = 1000;

class AccessService {
 public:
  static Result<std::shared_ptr<AccessService>> acquire(const AccessSettings& settings);
  // Every running service re-reads its key table now (blocking SQLite; not on an event loop).
  static void reload_all();
  ~AccessService();

  // The active key whose secret is `secret` (hashed and looked up); null when there is none.
  std::shared_ptr<const LiveKey> find(std::string_view secret) const;
  Limiter& limiter() { return limiter_; }
  CounterTable& counters() { return counters_; }
  // After counting: lets the Redis thread send the new counts soon.
  void kick() {
    if (sync_) sync_->kick();
  }
  // False while Redis (when configured) is unreachable.
  bool state_up() const { return !sync_ || sync_->up(); }
  bool has_redis() const { return sync_ != nullptr; }
  bool fail_open() const { return !sync_ || sync_->settings().fail_open; }
  std::uint64_t state_errors() const { return sync_ ? sync_->errors() : 0; }
  // Round trips that sent counts or read totals back (PINGs of an idle gateway not counted).
  std::uint64_t state_syncs() const { return sync_ ? sync_->syncs() : 0; }
  void meter(UsageEvent e) {
    if (meter_) meter_->record(std::move(e));
  }
  Meter* meter_store() { return meter_.get(); }
  // Re-reads the key table now (blocking). Errors: the store's.
  std::optional<Error> reload_keys();
  std::size_t key_count() const;
  const AccessSettings& settings() const { return settings_; }

 private:
  explicit AccessService(AccessSettings settings);
  void registry_loop();
  // Drops expired counters (without Redis) and watches the budget counters of keys with budgets
  // (with Redis). Registry thread (and acquire()).
  void housekeeping();
  // Without Redis: today's and this month's spend per key from the usage table (written by the
  // meter, which is what outlives the process) into the budget counters. Start-up only; a
  // failure is logged and the budgets start from zero.
  void restore_budgets();
  using Index = std::unordered_map<std::string, std::shared_ptr<const LiveKey>>;  // by hash

  const AccessSettings settings_;
  CounterTable counters_;
  Limiter limiter_{counters_};
  std::unique_ptr<Meter> meter_;
  std::unique_ptr<RedisSync> sync_;

  mutable std::mutex index_mu_;
  std::shared_ptr<const Index> index_;  // guarded by index_mu_ (the pointer; the map is immutable)
  std::mutex reload_mu_;                // one reload at a time
  std::int64_t version_ = -1;           // guarded by reload_mu_

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread registry_;
};

}  // namespace switchboard::access
