// The `responses` table of the decision store's database: Responses-API conversations kept for
// `previous_response_id` (store::StoredResponse, docs/apis.md). One row per stored response,
// keyed by its decision record's id (so rows sort by time like the decisions) with the response id
// indexed, and the name of the API key that stored it; retention deletes the rows whose decision record is gone. Used by DecisionStore only
// (its writer thread writes and expires, its read connections look up).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/decision_store.h"

struct sqlite3;

namespace switchboard::store {

// "" when done, else SQLite's message.
std::string create_responses_table(sqlite3* db);
// Inside the writer's transaction: the batch's records that carry a stored response. False when
// one could not be written.
bool write_stored_responses(sqlite3* db,
                            const std::vector<std::shared_ptr<const DecisionRecord>>& batch);
// Deletes the rows older than the oldest decision record left (all of them when none is left).
void expire_stored_responses(sqlite3* db);
// What is stored under `response_id` by `caller` (store/owner.h), or by a request without a key
// (anyone's): the latest row, and `others` = the decision ids of up to two more the caller may
// see (an upstream that reuses ids: DecisionStore::find_response marks the answer ambiguous). A
// conversation stored with a key is not found for another key, none, or a later key of the same
// name.
struct StoredRow {
  std::string decision_id;
  StoredResponse response;
};
std::vector<StoredRow> read_stored_responses(sqlite3* db, const std::string& response_id,
                                             const Owner& caller);
// Deletes every row under `response_id` that read_stored_responses() could find for `caller`.
// Whether one was deleted; nullopt on an SQLite error (sqlite3_errmsg says which).
std::optional<bool> delete_stored_response(sqlite3* db, const std::string& response_id,
                                           const Owner& caller);

}  // namespace switchboard::store
