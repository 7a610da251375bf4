// Sessions across restarts (docs/sessions.md, "Across restarts"): every turn a gateway records in a
// route's SessionTable is also written, by a background thread, to the `sessions` table of the
// decision store's SQLite file (store/session_store.h: the session's last turn, one row per
// session, replaced at each turn); when a route's table is created — at start-up, or by a reload
// that changed its bounds — the sessions saved for that route that are still live under its
// current ttl_s (at most max_sessions, the most recent) are merged into it before the gateway
// serves. A conversation therefore keeps its model and replica across a graceful restart (the
// queue is written at shutdown) and loses at most the last ~200 ms of turns in a crash.
//
// The request path never waits for SQLite: save() queues (bounded, 65,536 turns; a full queue drops
// the turn and counts it). The thread writes the queue every 200 ms in one transaction, and once a
// minute deletes the expired rows and trims each route to its max_sessions most recent rows, so
// the table stays bounded like the in-memory one. SQLite failing: the turns are dropped and
// counted, the failure logged once per outage; sessions stay in memory as before.
//
// Contract: one instance per SQLite file in a process (acquire()), shared by the session stages of
// every runtime alive; save() is thread-safe and never blocks on I/O; restore() blocks (start-up
// and reloads only). The destructor writes what is queued.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pipeline/session/session_table.h"
#include "store/session_store.h"
#include "switchboard/result.h"

namespace switchboard::pipeline::session {

class StoredSessions {
 public:
  static Result<std::shared_ptr<StoredSessions>> acquire(const std::string& sqlite_path);
  explicit StoredSessions(std::unique_ptr<store::SessionStore> store);
  ~StoredSessions();
  StoredSessions(const StoredSessions&) = delete;
  StoredSessions& operator=(const StoredSessions&) = delete;

  // Merges the live saved sessions of `route` into `table` (meant for a new table; a session the
  // table knows at the same turn or a later one is kept as it is). Returns how many were merged.
  std::size_t restore(const std::string& route, SessionTable& table);
  // Queues an answered turn of `route` (its table's ttl and bound travel with it).
  void save(const std::string& route, std::uint64_t key, const State& state,
            std::uint64_t conversation, std::int64_t ttl_ms, std::size_t max_sessions);
  // Blocks until every turn queued before the call was written (or dropped).
  void flush();

  std::uint64_t saved() const { return saved_.load(std::memory_order_relaxed); }
  std::uint64_t restored() const { return restored_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run();
  void write(std::deque<store::SessionRow>& rows);  // thread only
  void prune();                                     // thread only

  std::unique_ptr<store::SessionStore> store_;
  std::mutex mu_;
  std::condition_variable wake_, written_;
  std::deque<store::SessionRow> queue_;           // guarded by mu_
  std::map<std::string, std::size_t> limits_;     // route → max_sessions; guarded by mu_
  std::uint64_t queued_total_ = 0, done_total_ = 0;  // guarded by mu_ (flush())
  bool stop_ = false;                                // guarded by mu_
  bool failing_ = false;                             // thread only
  std::atomic<std::uint64_t> saved_{0}, restored_{0}, dropped_{0};
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace switchboard::pipeline::session
