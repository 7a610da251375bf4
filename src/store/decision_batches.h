// The decision records' SQLite table: one row per batch of records (the writer's transaction),
// the records encoded together in one blob (store/record_codec.h).
//
//   decision_batches(seq INTEGER PRIMARY KEY, min_ms, max_ms, count, data BLOB)
//   index decision_batches_time(min_ms, max_ms, count)
//   decision_meta(name, value): 'max_span_ms', the largest max_ms - min_ms of any batch written
//
// min_ms/max_ms bound the arrival times of the batch's records as their ids carry them
// (record_time_key). A record arrives before it is written, and a batch holds the records that
// finished in one ~50 ms window, so a batch's span is short unless one of its requests ran long;
// max_span_ms bounds every batch's, so the batches that may hold an id of time t are those with
// min_ms in [t - max_span, t] and max_ms >= t: an index range, whatever the table's size. There is
// no per-record index row. Functions here take a connection and run no transaction of their own
// unless said; errors are "" / false / nullopt as documented.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/decision_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace switchboard::store {

// Creates the tables and index if needed. "" when done, else SQLite's message.
std::string create_batch_tables(sqlite3* db);

// Runs schema statements (`sql`, possibly several). "" when done, else SQLite's message.
std::string exec_schema(sqlite3* db, const char* sql);

// Inserts batches (the writer thread's, and the migration's at open). Owns its prepared statements;
// used by one thread at a time.
class BatchWriter {
 public:
  explicit BatchWriter(sqlite3* db) : db_(db) {}
  ~BatchWriter();
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;
  // One row for the records added to `encoder` (which it finishes), inside the caller's
  // transaction. False when SQLite refused it (the records are lost: the caller counts them).
  bool write(class BatchEncoder& encoder);

 private:
  bool prepare();
  sqlite3* db_;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* span_ = nullptr;
  std::int64_t max_span_ = -1;  // -1: not read yet
};

// The record with this id; nullopt when absent. Reads only the candidate batches of the id's time
// (every batch, newest first, for an id not made by new_decision_id).
std::optional<DecisionRecord> find_batched(sqlite3* db, std::string_view id);

// Records stored (a scan of the time index). -1 on error.
std::int64_t count_batched(sqlite3* db);

// The earliest record time left, nullopt when there is none.
std::optional<std::int64_t> oldest_batched(sqlite3* db);

// For a table kept beside the records and keyed by decision id (stored responses, learning
// contexts): runs `delete_sql` ("DELETE FROM t WHERE decision_id < ?") with the id prefix of the
// oldest record left, so its rows go with their records (all of them when no record is left).
void expire_beside_batches(sqlite3* db, const char* delete_sql);
// The first column of the first row `select_sql` (one `?`, bound to `key`) returns, as bytes;
// nullopt when there is no row or the query fails.
std::optional<std::string> select_bytes(sqlite3* db, const char* select_sql, std::string_view key);

// Up to `limit` records with lo <= id < hi (an empty bound is no bound) for which `match` is true,
// highest ids first. Reads the batches newest first and stops once no older batch can hold a
// higher id than the ones it has. False on an SQLite error.
bool newest_batched(sqlite3* db, const std::string& lo, const std::string& hi, std::size_t limit,
                    const std::function<bool(const DecisionRecord&)>& match,
                    std::vector<DecisionRecord>& out);

// Retention: deletes up to `quota` of the oldest records (lowest ids within the oldest batches)
// whose time is below `cutoff_ms` (INT64_MAX: any). Whole batches are deleted; a batch that is
// only partly due is rewritten without those records. Returns the number deleted (-1 on error);
// fewer than quota means nothing more is due.
std::int64_t delete_oldest_batched(sqlite3* db, std::int64_t cutoff_ms, std::int64_t quota);

}  // namespace switchboard::store
