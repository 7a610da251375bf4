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
  key TEXT NOT NULL DEFAULT '',
  response TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS responses_by_id ON responses(response_id);
)sql";
// Columns added since the table's first version, with what their older rows hold: no key
// (anyone's conversation), no response object (not retrievable by GET; still continued).
constexpr struct {
  const char* name;
  const char* add;
} kLaterColumns[] = {
    {"key", "ALTER TABLE responses ADD COLUMN key TEXT NOT NULL DEFAULT ''"},
    {"response", "ALTER TABLE responses ADD COLUMN response TEXT NOT NULL DEFAULT ''"},
};
constexpr const char* kHasColumn =
    "SELECT count(*) FROM pragma_table_info('responses') WHERE name = ?";
constexpr const char* kInsert =
    "INSERT OR REPLACE INTO responses (decision_id,response_id,items,key,response) "
    "VALUES (?,?,?,?,?)";
constexpr const char* kExpire = "DELETE FROM responses WHERE decision_id < ?";
// A row stored without a key is anyone's; one stored with a key, its owner's (store/owner.h:
// made no earlier than the key's creation, which decision ids encode).
constexpr const char* kSelect =
    "SELECT items, response, decision_id FROM responses WHERE response_id = ?1 "
    "AND (key = '' OR (key = ?2 AND decision_id >= ?3)) ORDER BY decision_id DESC LIMIT 3";
constexpr const char* kDelete =
    "DELETE FROM responses WHERE response_id = ?1 "
    "AND (key = '' OR (key = ?2 AND decision_id >= ?3))";
}  // namespace

std::string create_responses_table(sqlite3* db) {
  if (auto e = exec_schema(db, kCreate); !e.empty()) return e;
  for (const auto& column : kLaterColumns) {
    Statement has(db, kHasColumn);
    has.text(1, column.name);
    if (sqlite3_step(has.s) != SQLITE_ROW) return sqlite3_errmsg(db);
    if (has.col_int(0) > 0) continue;
    if (auto e = exec_schema(db, column.add); !e.empty()) return e;
  }
  return "";
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
    sqlite3_bind_text(stmt, 5, s.response.data(), static_cast<int>(s.response.size()),
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

std::vector<StoredRow> read_stored_responses(sqlite3* db, const std::string& response_id,
                                             const Owner& caller) {
  std::vector<StoredRow> rows;
  Statement select(db, kSelect);
  select.text(1, response_id);
  select.text(2, caller.key);
  select.text(3, id_prefix(caller.since_ms));
  while (sqlite3_step(select.s) == SQLITE_ROW)
    rows.push_back({select.col_text(2), StoredResponse{response_id, select.col_text(0), select.col_text(1)}});
  return rows;
}

std::optional<bool> delete_stored_response(sqlite3* db, const std::string& response_id,
                                           const Owner& caller) {
  Statement del(db, kDelete);
  if (!del.s) return std::nullopt;
  del.text(1, response_id);
  del.text(2, caller.key);
  del.text(3, id_prefix(caller.since_ms));
  if (sqlite3_step(del.s) != SQLITE_DONE) return std::nullopt;
  return sqlite3_changes(db) > 0;
}

}  // namespace switchboard::store
