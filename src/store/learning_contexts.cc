#include "store/learning_contexts.h"

#include <sqlite3.h>

#include "store/decision_batches.h"

namespace switchboard::store {

namespace {
constexpr const char* kCreate = R"sql(
CREATE TABLE IF NOT EXISTS learning_contexts (
  decision_id TEXT PRIMARY KEY NOT NULL,
  context BLOB NOT NULL
) WITHOUT ROWID;
)sql";
constexpr const char* kInsert =
    "INSERT OR REPLACE INTO learning_contexts (decision_id,context) VALUES (?,?)";
constexpr const char* kExpire = "DELETE FROM learning_contexts WHERE decision_id < ?";
constexpr const char* kSelect = "SELECT context FROM learning_contexts WHERE decision_id = ?";
}  // namespace

std::string create_learning_contexts_table(sqlite3* db) {
  char* err = nullptr;
  if (sqlite3_exec(db, kCreate, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return msg;
  }
  return {};
}

bool write_learning_contexts(sqlite3* db,
                             const std::vector<std::shared_ptr<const DecisionRecord>>& batch) {
  sqlite3_stmt* stmt = nullptr;
  bool ok = true;
  for (const auto& r : batch) {
    if (!r->learning_context) continue;
    if (!stmt && sqlite3_prepare_v2(db, kInsert, -1, &stmt, nullptr) != SQLITE_OK) return false;
    const std::string& c = *r->learning_context;
    sqlite3_bind_text(stmt, 1, r->id.data(), static_cast<int>(r->id.size()), SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, c.data(), static_cast<int>(c.size()), SQLITE_STATIC);
    ok = sqlite3_step(stmt) == SQLITE_DONE && ok;
    sqlite3_reset(stmt);
  }
  sqlite3_finalize(stmt);
  return ok;
}

void expire_learning_contexts(sqlite3* db) {
  const auto oldest = oldest_batched(db);
  const std::string below = oldest ? id_prefix(*oldest) : std::string("~");
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, kExpire, -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, below.data(), static_cast<int>(below.size()), SQLITE_STATIC);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
}

std::optional<std::string> read_learning_context(sqlite3* db, const std::string& decision_id) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, kSelect, -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return std::nullopt;
  }
  sqlite3_bind_text(stmt, 1, decision_id.data(), static_cast<int>(decision_id.size()),
                    SQLITE_TRANSIENT);
  std::optional<std::string> out;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
    out.emplace(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return out;
}

}  // namespace switchboard::store
