// Sessions kept across restarts (docs/sessions.md, "Across restarts"): the last answered turn of
// each live session, in the table
//
//   sessions(route, key, conversation, model, replica, turns, switches, last_ms, expires_ms,
//            owner, PRIMARY KEY (route, key))
//
// of the decision store's SQLite file. Times are wall-clock milliseconds (they outlive the
// process); keys and conversation hashes are 64-bit hashes stored bit for bit as SQLite integers.
//
// Contract: every call is blocking (SQLite, busy timeout 5 s) and serialised on one connection —
// callers are background threads (pipeline/session/stored_sessions.h) and start-up, never a
// worker's event loop. Nothing here knows what a session means; rows go in and come out as given.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "switchboard/result.h"

struct sqlite3;

namespace switchboard::store {

struct SessionRow {
  std::string route;
  std::uint64_t key = 0;
  std::uint64_t conversation = 0;  // 0: none
  std::string model;
  std::int32_t replica = -1;
  std::int64_t turns = 0;
  std::int64_t switches = 0;
  std::int64_t last_ms = 0;     // wall clock of the turn
  std::int64_t expires_ms = 0;  // wall clock after which the row means nothing
  std::uint64_t owner = 0;      // the session's owner (its API key's hash; 0 = none)
};

class SessionStore {
 public:
  static Result<std::unique_ptr<SessionStore>> open(const std::string& path);
  ~SessionStore();

  // Inserts or replaces every row, in one transaction (all or none).
  Result<bool> save(const std::vector<SessionRow>& rows);
  // The `limit` most recent rows of `route` not expired at `now_ms`, oldest first.
  Result<std::vector<SessionRow>> live(const std::string& route, std::int64_t now_ms,
                                       std::size_t limit);
  // Deletes the rows expired at `now_ms`, and of each route in `limits` all but its
  // limits[route] most recent rows. Returns the number of rows deleted.
  Result<std::int64_t> prune(std::int64_t now_ms, const std::map<std::string, std::size_t>& limits);
  std::int64_t count();

 private:
  SessionStore() = default;
  std::mutex mu_;
  sqlite3* db_ = nullptr;  // guarded by mu_
};

}  // namespace switchboard::store
