// Databases written before decision records were stored in batches (store/decision_batches.h) hold
// them in a `decisions` table, one row per record with JSON text columns. DecisionStore::open moves
// them into batches once: in transactions of 1,024 rows (lowest ids first), each inserting one batch
// and deleting its rows, then drops the table. A crash midway loses nothing (each step commits
// whole) and the next open goes on where it stopped.
#pragma once

#include <cstdint>
#include <string>

struct sqlite3;

namespace switchboard::store {

// Runs the migration on `db` (the writer's connection, before the writer thread starts). "" when
// done (or there was nothing to move), else SQLite's message. `moved` receives the records moved.
std::string migrate_legacy_decisions(sqlite3* db, std::int64_t& moved);

}  // namespace switchboard::store
