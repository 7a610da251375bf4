#include "store/stored_responses.h"

#include <sqlite3.h>

#include "store/decision_batches.h"
#include "store/sqlite_statement.h"

namespace switchboard::store {

namespace {
constexpr const char* kCreate = R"sql(
CREATE TABLE IF NOT EXISTS responses (
  decision_id TEXT PRIMARY KEY NOT NULL,
  response_id TEXT NOT NULL,
  items TEXT NOT NULL,
  key TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS responses_by_id ON responses(response_id);
)sql";
// Databases written before conversations were tied to keys: their rows have no key (anyone's).
constexpr const char* kHasKey =
    "SELECT count(*) FROM pragma_table_info('responses') WHERE name = 'key'";
constexpr const char* kAddKey = "ALTER TABLE responses ADD COLUMN key TEXT NOT NULL DEFAULT ''";
constexpr const char* kInsert =
    "INSERT OR REPLACE INTO responses (decision_id,response_id,items,key) VALUES (?,?,?,?)";
constexpr const char* kExpire = "DELETE FROM responses WHERE decision_id < ?";
constexpr const char* kSelect =
    "SELECT items FROM responses WHERE response_id = ? AND key IN ('', ?) "
    "ORDER BY decision_id DESC LIMIT 1";
}  // namespace

std::string create_responses_table(sqlite3* db) {
  if (auto e = exec_schema(db, kCreate); !e.empty()) return e;
  Statement has(db, kHasKey);
  if (sqlite3_step(has.s) != SQLITE_ROW) return sqlite3_errmsg(db);
  if (has.col_int(0) > 0) return "";
  return exec_schema(db, kAddKey);
}

bool write_stored_responses(sqlite3* db,
                            const std::vector<std::shared_ptr<const DecisionRecord>>& batch) {
  sqlite3_stmt* stmt = nullptr;
  bool ok = true;
  for (const auto& r : batch) {
    if (!r->stored_response) continue;
    if (!stmt && sqlite3_prepare_v2(db, kInsert, -1, &stmt, nullptr) != SQLITE_OK) return false;
    const StoredResponse& s = *r->stored_response;
    sqlite3_bind_text(stmt, 1, r->id.data(), static_cast<int>(r->id.size()), SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, s.id.data(), static_cast<int>(s.id.size()), SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, s.items.data(), static_cast<int>(s.items.size()), SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, r->key_name.data(), static_cast<int>(r->key_name.size()),
                      SQLITE_STATIC);
    ok = sqlite3_step(stmt) == SQLITE_DONE && ok;
    sqlite3_reset(stmt);
  }
  sqlite3_finalize(stmt);
  return ok;
}

void expire_stored_responses(sqlite3* db) {
  expire_beside_batches(db, kExpire);
}

std::optional<std::string> read_stored_response(sqlite3* db, const std::string& response_id,
                                                std::string_view caller_key) {
  Statement select(db, kSelect);
  select.text(1, response_id);
  select.text(2, caller_key);
  if (sqlite3_step(select.s) != SQLITE_ROW) return std::nullopt;
  return select.col_text(0);
}

}  // namespace switchboard::store
