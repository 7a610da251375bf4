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
  char* err = nullptr;
  if (sqlite3_exec(db, kCreate, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return msg;
  }
  return {};
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
  // Every id of a record still stored sorts at or above the prefix of the oldest one's time.
  const auto oldest = oldest_batched(db);
  const std::string below = oldest ? id_prefix(*oldest) : std::string("~");
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, kExpire, -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, below.data(), static_cast<int>(below.size()), SQLITE_STATIC);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
}

std::optional<std::string> read_stored_response(sqlite3* db, const std::string& response_id) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, kSelect, -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return std::nullopt;
  }
  sqlite3_bind_text(stmt, 1, response_id.data(), static_cast<int>(response_id.size()),
                    SQLITE_TRANSIENT);
  std::optional<std::string> out;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    if (text) out.emplace(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return out;
}

}  // namespace switchboard::store
