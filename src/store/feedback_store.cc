#include "store/feedback_store.h"

#include <sqlite3.h>

#include "store/sqlite_statement.h"

namespace switchboard::store {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS feedback (
  decision_id TEXT PRIMARY KEY NOT NULL,
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL, score REAL, other_id TEXT, outcome REAL,
  route TEXT, model TEXT, source TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learning_state (
  route TEXT PRIMARY KEY NOT NULL,
  policy TEXT, signature TEXT, observations INTEGER, stream_id TEXT, state TEXT, time_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learning_states (
  route TEXT NOT NULL, signature TEXT NOT NULL, models TEXT NOT NULL,
  policy TEXT, observations INTEGER, stream_id TEXT, state TEXT, time_ms INTEGER,
  PRIMARY KEY (route, signature, models)
) WITHOUT ROWID;
)sql";

// The former one-row-per-route table's rows, copied once (models unknown: ""); the old table
// is left as it was, so the previous version still finds its states after a downgrade.
constexpr const char* kCopyOldStates = R"sql(
BEGIN IMMEDIATE;
INSERT OR IGNORE INTO learning_states
  SELECT route, coalesce(signature, ''), '', policy, observations, stream_id, state, time_ms
  FROM learning_state;
PRAGMA user_version = 1;
COMMIT;
)sql";

int user_version(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  int v = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

}  // namespace

Result<std::unique_ptr<FeedbackStore>> FeedbackStore::open(const std::string& path) {
  std::unique_ptr<FeedbackStore> fs(new FeedbackStore());
  if (auto opened = open_database(path, kSchema, "the feedback tables", &fs->db_); !opened)
    return opened.error();
  for (const auto& [table, columns] :
       {std::pair{"feedback", "decision_id,time_ms,kind,score,other_id,outcome,route,model,source"},
        std::pair{"learning_state",
                  "route,policy,signature,observations,stream_id,state,time_ms"},
        std::pair{"learning_states",
                  "route,signature,models,policy,observations,stream_id,state,time_ms"}})
    if (std::string why = check_columns(fs->db_, table, columns); !why.empty())
      return make_error(ErrorKind::kInternal, "store_error", path + ": " + why);
  if (user_version(fs->db_) < 1 &&
      sqlite3_exec(fs->db_, kCopyOldStates, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = sqlite_error(fs->db_, "copying the saved learning states");
    sqlite3_exec(fs->db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return e;
  }
  return fs;
}

FeedbackStore::~FeedbackStore() {
  sqlite3_close_v2(db_);
}

Result<bool> FeedbackStore::add(const std::vector<FeedbackRow>& rows) {
  std::lock_guard lock(mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite_error(db_, "storing feedback");
  for (const auto& r : rows) {
    Statement st(db_,
            "INSERT INTO feedback (decision_id,time_ms,kind,score,other_id,outcome,route,model,"
            "source) VALUES (?,?,?,?,?,?,?,?,?)");
    st.text(1, r.decision_id);
    sqlite3_bind_int64(st.s, 2, r.time_ms);
    st.text(3, r.kind);
    st.real(4, r.score);
    st.text(5, r.other_id);
    st.real(6, r.outcome);
    st.text(7, r.route);
    st.text(8, r.model);
    st.text(9, r.source);
    const int rc = sqlite3_step(st.s);
    if (rc != SQLITE_DONE) {
      const bool duplicate = sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY;
      Error e = sqlite_error(db_, "storing feedback");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      if (duplicate) return false;
      return e;
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = sqlite_error(db_, "storing feedback");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return e;
  }
  return true;
}

std::optional<FeedbackRow> FeedbackStore::find(const std::string& id) {
  std::lock_guard lock(mu_);
  Statement st(db_,
          "SELECT decision_id,time_ms,kind,score,other_id,outcome,route,model,source FROM feedback "
          "WHERE decision_id = ?");
  st.text(1, id);
  if (sqlite3_step(st.s) != SQLITE_ROW) return std::nullopt;
  FeedbackRow r;
  r.decision_id = st.col_text(0);
  r.time_ms = sqlite3_column_int64(st.s, 1);
  r.kind = st.col_text(2);
  r.score = st.col_real(3);
  r.other_id = st.col_text(4);
  r.outcome = st.col_real(5);
  r.route = st.col_text(6);
  r.model = st.col_text(7);
  r.source = st.col_text(8);
  return r;
}

std::int64_t FeedbackStore::count() {
  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT count(*) FROM feedback");
  return sqlite3_step(st.s) == SQLITE_ROW ? sqlite3_column_int64(st.s, 0) : 0;
}

Result<bool> FeedbackStore::save_state(const LearningStateRow& r) {
  std::lock_guard lock(mu_);
  {
    Statement st(db_,
                 "INSERT OR REPLACE INTO learning_states (route,signature,models,policy,"
                 "observations,stream_id,state,time_ms) VALUES (?,?,?,?,?,?,?,?)");
    st.text(1, r.route);
    st.text(2, r.signature);
    st.text(3, r.models);
    st.text(4, r.policy);
    sqlite3_bind_int64(st.s, 5, static_cast<std::int64_t>(r.observations));
    st.text(6, r.stream_id);
    st.text(7, r.state);
    sqlite3_bind_int64(st.s, 8, r.time_ms);
    if (sqlite3_step(st.s) != SQLITE_DONE) return sqlite_error(db_, "saving learning state");
  }
  Statement prune(db_,
                  "DELETE FROM learning_states WHERE route = ?1 AND (signature, models) NOT IN "
                  "(SELECT signature, models FROM learning_states WHERE route = ?1 "
                  "ORDER BY time_ms DESC LIMIT ?2)");
  prune.text(1, r.route);
  sqlite3_bind_int(prune.s, 2, kStatesPerRoute);
  if (sqlite3_step(prune.s) != SQLITE_DONE) return sqlite_error(db_, "pruning learning states");
  return true;
}

std::optional<LearningStateRow> FeedbackStore::load_state(const std::string& route,
                                                          const std::string& signature,
                                                          const std::string& models) {
  std::lock_guard lock(mu_);
  Statement st(db_,
               "SELECT route,policy,signature,observations,stream_id,state,time_ms,models "
               "FROM learning_states WHERE route = ? AND signature = ? AND models IN (?, '') "
               "ORDER BY models DESC LIMIT 1");
  st.text(1, route);
  st.text(2, signature);
  st.text(3, models);
  if (sqlite3_step(st.s) != SQLITE_ROW) return std::nullopt;
  LearningStateRow r;
  r.route = st.col_text(0);
  r.policy = st.col_text(1);
  r.signature = st.col_text(2);
  r.observations = static_cast<std::uint64_t>(sqlite3_column_int64(st.s, 3));
  r.stream_id = st.col_text(4);
  r.state = st.col_text(5);
  r.time_ms = sqlite3_column_int64(st.s, 6);
  r.models = st.col_text(7);
  return r;
}

}  // namespace switchboard::store
