#include "store/session_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <string_view>

#include "store/sqlite_statement.h"

namespace switchboard::store {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS sessions (
  route TEXT NOT NULL, key INTEGER NOT NULL, conversation INTEGER NOT NULL,
  model TEXT NOT NULL, replica INTEGER NOT NULL, turns INTEGER NOT NULL, switches INTEGER NOT NULL,
  last_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, owner INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (route, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_recent ON sessions(route, last_ms);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions(expires_ms);
)sql";

std::int64_t as_int(std::uint64_t v) { return static_cast<std::int64_t>(v); }
std::uint64_t as_hash(std::int64_t v) { return static_cast<std::uint64_t>(v); }

}  // namespace

Result<std::unique_ptr<SessionStore>> SessionStore::open(const std::string& path) {
  std::unique_ptr<SessionStore> ss(new SessionStore());
  if (auto opened = open_database(path, kSchema, "the sessions table", &ss->db_); !opened)
    return opened.error();
  // A table made before session 27 has no owner column: added, its rows owned by none (0).
  sqlite3_stmt* probe = nullptr;
  const bool has_owner =
      sqlite3_prepare_v2(ss->db_, "SELECT owner FROM sessions LIMIT 0", -1, &probe, nullptr) ==
      SQLITE_OK;
  sqlite3_finalize(probe);
  // Another process may add it between the probe and the ALTER: "duplicate column" is success.
  if (!has_owner &&
      sqlite3_exec(ss->db_, "ALTER TABLE sessions ADD COLUMN owner INTEGER NOT NULL DEFAULT 0",
                   nullptr, nullptr, nullptr) != SQLITE_OK &&
      std::string_view(sqlite3_errmsg(ss->db_)).find("duplicate column") == std::string_view::npos)
    return sqlite_error(ss->db_, "adding the owner column to the sessions table");
  if (std::string why = check_columns(
          ss->db_, "sessions",
          "route,key,conversation,model,replica,turns,switches,last_ms,expires_ms,owner");
      !why.empty())
    return make_error(ErrorKind::kInternal, "store_error", path + ": " + why);
  return ss;
}

SessionStore::~SessionStore() {
  sqlite3_close_v2(db_);
}

Result<bool> SessionStore::save(const std::vector<SessionRow>& rows) {
  std::lock_guard lock(mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite_error(db_, "saving sessions");
  Statement st(db_,
               "INSERT OR REPLACE INTO sessions (route,key,conversation,model,replica,turns,"
               "switches,last_ms,expires_ms,owner) VALUES (?,?,?,?,?,?,?,?,?,?)");
  for (const auto& r : rows) {
    sqlite3_reset(st.s);
    st.text(1, r.route);
    st.integer(2, as_int(r.key));
    st.integer(3, as_int(r.conversation));
    st.text(4, r.model);
    st.integer(5, r.replica);
    st.integer(6, r.turns);
    st.integer(7, r.switches);
    st.integer(8, r.last_ms);
    st.integer(9, r.expires_ms);
    st.integer(10, as_int(r.owner));
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      Error e = sqlite_error(db_, "saving sessions");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return e;
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = sqlite_error(db_, "saving sessions");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return e;
  }
  return true;
}

Result<std::vector<SessionRow>> SessionStore::live(const std::string& route, std::int64_t now_ms,
                                                   std::size_t limit) {
  std::lock_guard lock(mu_);
  Statement st(db_,
               "SELECT key,conversation,model,replica,turns,switches,last_ms,expires_ms,owner "
               "FROM sessions WHERE route = ? AND expires_ms > ? AND length(model) <= 1024 "
               "ORDER BY last_ms DESC LIMIT ?");  // (longer names: not a gateway's, not read)
  st.text(1, route);
  st.integer(2, now_ms);
  st.integer(3, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  std::vector<SessionRow> rows;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    SessionRow r;
    r.route = route;
    r.key = as_hash(st.col_int(0));
    r.conversation = as_hash(st.col_int(1));
    r.model = st.col_text(2);
    r.replica = static_cast<std::int32_t>(st.col_int(3));
    r.turns = st.col_int(4);
    r.switches = st.col_int(5);
    r.last_ms = st.col_int(6);
    r.expires_ms = st.col_int(7);
    r.owner = as_hash(st.col_int(8));
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return sqlite_error(db_, "reading sessions");
  std::reverse(rows.begin(), rows.end());
  return rows;
}

Result<std::int64_t> SessionStore::prune(std::int64_t now_ms,
                                         const std::map<std::string, std::size_t>& limits) {
  std::lock_guard lock(mu_);
  std::int64_t deleted = 0;
  Statement expired(db_, "DELETE FROM sessions WHERE expires_ms <= ?");
  expired.integer(1, now_ms);
  if (sqlite3_step(expired.s) != SQLITE_DONE) return sqlite_error(db_, "pruning sessions");
  deleted += sqlite3_changes(db_);
  // Beyond a route's bound: everything older than its limit-th most recent row.
  Statement trim(db_,
                 "DELETE FROM sessions WHERE route = ?1 AND last_ms <= (SELECT last_ms FROM "
                 "sessions WHERE route = ?1 ORDER BY last_ms DESC LIMIT 1 OFFSET ?2)");
  for (const auto& [route, limit] : limits) {
    sqlite3_reset(trim.s);
    trim.text(1, route);
    trim.integer(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    if (sqlite3_step(trim.s) != SQLITE_DONE) return sqlite_error(db_, "pruning sessions");
    deleted += sqlite3_changes(db_);
  }
  return deleted;
}

std::int64_t SessionStore::count() {
  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT count(*) FROM sessions");
  return sqlite3_step(st.s) == SQLITE_ROW ? st.col_int(0) : 0;
}

}  // namespace switchboard::store
