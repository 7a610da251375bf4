// Usage metering by key, team, route and model (tokens, USD) into the `usage` table of the keys
// database (access/key_store.h): one row per UTC hour and (key, team, route, model), summed.
//
// record() never blocks the request path: it adds to an in-memory map under a mutex (one row per
// distinct hour/key/team/route/model, so memory is bounded by what is in use within a second);
// a background thread writes the sums in one transaction per second (UPSERT adding to the row).
// If `max_rows` distinct rows wait — queued and being written together, so a batch that failed
// and went back never takes the total past it (SQLite far behind or failing) — events for new rows
// are dropped and counted (dropped()); events for rows already waiting are still summed. A transaction that fails (the database locked elsewhere for longer than
// `busy_timeout`, a full disk) is rolled back and its sums go back into the map, to be added to the
// next second's (write_failures() counts them): spend is never lost while the process runs, so
// budgets and reports stay whole. At shutdown the writer keeps trying for `stop_grace`, then drops
// and counts what is left.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "access/key.h"
#include "switchboard/result.h"

struct sqlite3;

namespace switchboard::access {

struct UsageEvent {
  std::int64_t time_ms = 0;
  std::string key;  // key name; "" for requests without a key
  std::string team;
  std::string route;     // what the client named
  std::string model;     // the model that answered ("" if none)
  bool refused = false;  // refused by the auth or limits stage
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
  std::string key_id;  // the key's id (its budgets are restored by it); "" without a key
};

struct UsageRow {
  std::string group;  // the grouped value (key, team, route, model or hour)
  std::int64_t requests = 0, refused = 0, prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
};

struct MeterOptions {
  std::chrono::milliseconds busy_timeout{5'000};
  std::chrono::milliseconds stop_grace{10'000};
  // Rows of hours older than this are deleted, at start and then hourly (0: kept forever).
  std::chrono::hours retention{0};
  std::size_t max_rows = 100'000;  // distinct rows waiting (queued + being written)
};

class Meter {
 public:
  static Result<std::unique_ptr<Meter>> open(const std::string& path, MeterOptions options = {});
  ~Meter();  // writes what is left
  void record(UsageEvent e);
  void flush();  // blocks until everything recorded before the call is in SQLite
  std::uint64_t dropped() const { return dropped_.load(); }
  std::uint64_t write_failures() const { return write_failures_.load(); }
  std::uint64_t pruned() const { return pruned_.load(); }  // rows deleted by retention
  // Distinct rows waiting to be written (queued and in the batch being written).
  std::size_t waiting() {
    std::lock_guard lock(mu_);
    return rows_.size() + writing_;
  }

 private:
  Meter() = default;
  void loop();
  struct Sums {
    std::int64_t requests = 0, refused = 0, prompt = 0, completion = 0;
    double cost = 0;
  };
  // hour, key, key_id, team, route, model
  using RowKey =
      std::tuple<std::string, std::string, std::string, std::string, std::string, std::string>;
  // One transaction adding `rows` to the table; false (rolled back, nothing added) on failure.
  bool write(const std::map<RowKey, Sums>& rows);
  // Deletes the rows older than options_.retention (writer thread; failures logged, retried in
  // an hour).
  void prune();
  std::string last_error_;  // writer thread only: SQLite's message for the last failed write

  sqlite3* db_ = nullptr;  // writer thread only (after open)
  std::mutex mu_;
  std::condition_variable wake_, written_;
  std::map<RowKey, Sums> rows_;            // guarded by mu_
  std::size_t writing_ = 0;                // guarded by mu_: rows in the batch being written
  std::uint64_t generation_ = 0;           // guarded by mu_: batches taken
  std::uint64_t done_ = 0;                 // guarded by mu_: batches written
  bool stopping_ = false, flush_ = false;  // guarded by mu_
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> write_failures_{0};
  std::atomic<std::uint64_t> pruned_{0};
  std::optional<std::chrono::steady_clock::time_point> next_prune_;  // writer thread only
  MeterOptions options_;   // constant after open()
  std::thread thread_;
};

// Usage summed over rows since `since_ms` (hour granularity), grouped by "key", "team", "route",
// "model" or "hour", largest cost first. Blocking SQLite read (CLI, admin API).
Result<std::vector<UsageRow>> query_usage(const std::string& path, const std::string& group_by,
                                          std::int64_t since_ms);

// A key's spend since `since_ms` (hour granularity), read at start-up to restore budgets
// (access/service.h): the rows metered with its id, and rows metered before rows carried an id
// (key_id '') under its name from the hour it was created on. A key re-created under a revoked
// key's name does not inherit the revoked key's spend (but legacy rows of both in the hour the new
// one was created count for it: at most that hour). Blocking SQLite read.
struct KeySpend {
  double today_usd = 0, month_usd = 0;
};
Result<std::map<std::string, KeySpend>> query_key_spend(const std::string& path,
                                                        const std::vector<Key>& keys,
                                                        std::int64_t day_start_ms,
                                                        std::int64_t month_start_ms);

// "2026-12-02T14" for a unix ms time (UTC hour).
std::string usage_hour(std::int64_t time_ms);

}  // namespace switchboard::access
