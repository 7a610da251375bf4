#include "store/learning_contexts.h"

#include <sqlite3.h>

#include "store/decision_batches.h"
#include "store/sqlite_statement.h"

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
  if (std::string why = exec_schema(db, kCreate); !why.empty()) return why;
  return check_columns(db, "learning_contexts", "decision_id,context");
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
  expire_beside_batches(db, kExpire);
}

std::optional<std::string> read_learning_context(sqlite3* db, const std::string& decision_id) {
  return select_bytes(db, kSelect, decision_id);
}

}  // namespace switchboard::store
