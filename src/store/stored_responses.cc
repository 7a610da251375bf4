#include "store/stored_responses.h"

#include <sqlite3.h>

#include "store/decision_batches.h"

namespace switchboard::store {

namespace {
constexpr const char* kCreate = R"sql(
CREATE TABLE IF NOT EXISTS responses (
  decision_id TEXT PRIMARY KEY NOT NULL,
  response_id TEXT NOT NULL,
  items TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS responses_by_id ON responses(response_id);
)sql";
constexpr const char* kInsert =
    "INSERT OR REPLACE INTO responses (decision_id,response_id,items) VALUES (?,?,?)";
constexpr const char* kExpire = "DELETE FROM responses WHERE decision_id < ?";
constexpr const char* kSelect =
    "SELECT items FROM responses WHERE response_id = ? ORDER BY decision_id DESC LIMIT 1";
}  // namespace

std::string create_responses_table(sqlite3* db) {
  return exec_schema(db, kCreate);
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
    ok = sqlite3_step(stmt) == SQLITE_DONE && ok;
    sqlite3_reset(stmt);
  }
  sqlite3_finalize(stmt);
  return ok;
}

void expire_stored_responses(sqlite3* db) {
  expire_beside_batches(db, kExpire);
}

std::optional<std::string> read_stored_response(sqlite3* db, const std::string& response_id) {
  return select_bytes(db, kSelect, response_id);
}

}  // namespace switchboard::store
