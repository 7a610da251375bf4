// The `learning_contexts` table of the decision store's database: what a learning route decided
// on (DecisionRecord::learning_context — an encoded pipeline::learning::DecisionContext, opaque
// here), kept so that feedback arriving after the in-memory context cache let it go — or after a
// restart — is still learned from (docs/online.md). One row per decision, keyed by its id (rows
// sort by time like the decisions); written in the decision batch's transaction and deleted by
// retention with their records. Used by DecisionStore only (its writer thread writes and expires,
// its read connections look up).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/decision_store.h"

struct sqlite3;

namespace switchboard::store {

// "" when done, else SQLite's message.
std::string create_learning_contexts_table(sqlite3* db);
// Inside the writer's transaction: the batch's records that carry a learning context. False when
// one could not be written.
bool write_learning_contexts(sqlite3* db,
                             const std::vector<std::shared_ptr<const DecisionRecord>>& batch);
// Deletes the rows older than the oldest decision record left (all of them when none is left).
void expire_learning_contexts(sqlite3* db);
// The context stored for `decision_id`; nullopt when there is none.
std::optional<std::string> read_learning_context(sqlite3* db, const std::string& decision_id);

}  // namespace switchboard::store
