#include "store/decision_batches.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>

#include "store/record_codec.h"
#include "store/sqlite_statement.h"

namespace switchboard::store {
namespace {

constexpr const char* kCreate = R"sql(
CREATE TABLE IF NOT EXISTS decision_batches (
  seq INTEGER PRIMARY KEY,
  min_ms INTEGER NOT NULL,
  max_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_batches_time ON decision_batches(min_ms, max_ms, count);
CREATE TABLE IF NOT EXISTS decision_meta (name TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
)sql";

constexpr std::int64_t kNoBound = std::numeric_limits<std::int64_t>::max();


std::string_view blob(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  return p ? std::string_view(static_cast<const char*>(p),
                              static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
           : std::string_view();
}

std::int64_t max_span(sqlite3* db) {
  Statement st(db, "SELECT value FROM decision_meta WHERE name = 'max_span_ms'");
  if (st && sqlite3_step(st.s) == SQLITE_ROW) return sqlite3_column_int64(st.s, 0);
  return 0;
}

// The time bounds of ids in [lo, hi): ids below "dec_" + 11 hex digits have times at most those
// digits' (an id of that very time sorts below only when it is a prefix of it, never above).
std::int64_t upper_time(const std::string& hi) {
  const auto t = id_time_ms(hi);
  return t >= 0 ? t : kNoBound;
}
std::int64_t lower_time(const std::string& lo) {
  const auto t = id_time_ms(lo);
  return t >= 0 ? t : std::numeric_limits<std::int64_t>::min() / 2;
}

}  // namespace

std::string exec_schema(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return msg;
  }
  return {};
}

std::string create_batch_tables(sqlite3* db) {
  return exec_schema(db, kCreate);
}

std::optional<std::string> select_bytes(sqlite3* db, const char* select_sql,
                                        std::string_view key) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, select_sql, -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return std::nullopt;
  }
  sqlite3_bind_text(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  std::optional<std::string> out;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
    out.emplace(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return out;
}

void expire_beside_batches(sqlite3* db, const char* delete_sql) {
  // Every id of a record still stored sorts at or above the prefix of the oldest one's time.
  const auto oldest = oldest_batched(db);
  const std::string below = oldest ? id_prefix(*oldest) : std::string("~");
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, delete_sql, -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, below.data(), static_cast<int>(below.size()), SQLITE_STATIC);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
}

BatchWriter::~BatchWriter() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(span_);
}

bool BatchWriter::prepare() {
  if (insert_) return true;
  if (sqlite3_prepare_v3(db_,
                         "INSERT INTO decision_batches (min_ms,max_ms,count,data) VALUES (?,?,?,?)",
                         -1, SQLITE_PREPARE_PERSISTENT, &insert_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v3(db_,
                         "INSERT OR REPLACE INTO decision_meta (name,value) "
                         "VALUES ('max_span_ms', ?)",
                         -1, SQLITE_PREPARE_PERSISTENT, &span_, nullptr) != SQLITE_OK) {
    sqlite3_finalize(insert_);
    insert_ = nullptr;
    return false;
  }
  max_span_ = max_span(db_);
  return true;
}

bool BatchWriter::write(BatchEncoder& encoder) {
  if (encoder.count() == 0) return true;
  const auto count = static_cast<std::int64_t>(encoder.count());
  const std::int64_t lo = encoder.min_ms(), hi = encoder.max_ms();
  const std::string& data = encoder.finish();
  if (!prepare()) return false;
  sqlite3_bind_int64(insert_, 1, lo);
  sqlite3_bind_int64(insert_, 2, hi);
  sqlite3_bind_int64(insert_, 3, count);
  sqlite3_bind_blob64(insert_, 4, data.data(), data.size(), SQLITE_STATIC);
  const bool ok = sqlite3_step(insert_) == SQLITE_DONE;
  sqlite3_reset(insert_);
  sqlite3_clear_bindings(insert_);
  if (ok && hi - lo > max_span_) {
    sqlite3_bind_int64(span_, 1, hi - lo);
    if (sqlite3_step(span_) == SQLITE_DONE) max_span_ = hi - lo;
    sqlite3_reset(span_);
  }
  return ok;
}

std::optional<DecisionRecord> find_batched(sqlite3* db, std::string_view id) {
  const std::int64_t t = id_time_ms(id);
  const bool timed = t >= 0;
  Statement st(db, timed ? "SELECT data FROM decision_batches WHERE min_ms BETWEEN ?1 AND ?2 AND "
                      "max_ms >= ?2 ORDER BY min_ms DESC"
                    : "SELECT data FROM decision_batches ORDER BY seq DESC");
  if (!st) return std::nullopt;
  if (timed) {
    sqlite3_bind_int64(st.s, 1, t - max_span(db));
    sqlite3_bind_int64(st.s, 2, t);
  }
  while (sqlite3_step(st.s) == SQLITE_ROW)
    if (auto r = find_in_batch(blob(st.s, 0), id)) return r;
  return std::nullopt;
}

std::int64_t count_batched(sqlite3* db) {
  Statement st(db, "SELECT coalesce(sum(count), 0) FROM decision_batches");
  if (st && sqlite3_step(st.s) == SQLITE_ROW) return sqlite3_column_int64(st.s, 0);
  return -1;
}

std::optional<std::int64_t> oldest_batched(sqlite3* db) {
  Statement st(db, "SELECT min(min_ms) FROM decision_batches");
  if (st && sqlite3_step(st.s) == SQLITE_ROW && sqlite3_column_type(st.s, 0) != SQLITE_NULL)
    return sqlite3_column_int64(st.s, 0);
  return std::nullopt;
}

bool newest_batched(sqlite3* db, const std::string& lo, const std::string& hi, std::size_t limit,
                    const std::function<bool(const DecisionRecord&)>& match,
                    std::vector<DecisionRecord>& out) {
  out.clear();
  if (limit == 0) return true;
  const std::int64_t span = max_span(db);
  const std::int64_t t_hi = upper_time(hi), t_lo = lower_time(lo);
  Statement st(db,
          "SELECT min_ms, data FROM decision_batches WHERE min_ms <= ?1 AND min_ms >= ?2 AND "
          "max_ms >= ?3 ORDER BY min_ms DESC");
  if (!st) return false;
  sqlite3_bind_int64(st.s, 1, t_hi);
  sqlite3_bind_int64(st.s, 2, t_lo - span);
  sqlite3_bind_int64(st.s, 3, t_lo);
  // The best `limit` so far, highest id first.
  std::map<std::string, DecisionRecord, std::greater<>> best;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    const std::int64_t min_ms = sqlite3_column_int64(st.s, 0);
    // The batches still to read begin at or before min_ms, so they hold only records of times up
    // to min_ms + span: a full set of `limit` above that is the answer.
    if (best.size() >= limit && min_ms + span < kNoBound / 2 &&
        best.rbegin()->first >= id_prefix(min_ms + span + 1))
      break;
    decode_batch(blob(st.s, 1), [&](DecisionRecord&& r) {
      if ((!lo.empty() && r.id < lo) || (!hi.empty() && r.id >= hi) || !match(r)) return true;
      if (best.size() >= limit) {
        if (r.id <= best.rbegin()->first) return true;
        best.erase(std::prev(best.end()));
      }
      std::string key = r.id;
      best.insert_or_assign(std::move(key), std::move(r));
      return true;
    });
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return false;
  for (auto& [id, r] : best) out.push_back(std::move(r));
  return true;
}

std::int64_t delete_oldest_batched(sqlite3* db, std::int64_t cutoff_ms, std::int64_t quota) {
  std::int64_t deleted = 0;
  Statement next(db,
            "SELECT seq, max_ms, count, data FROM decision_batches WHERE min_ms < ? "
            "ORDER BY min_ms LIMIT 1");
  Statement drop(db, "DELETE FROM decision_batches WHERE seq = ?");
  Statement rewrite(db, "UPDATE decision_batches SET min_ms = ?, max_ms = ?, count = ?, data = ? "
                   "WHERE seq = ?");
  if (!next || !drop || !rewrite) return -1;
  while (deleted < quota) {
    sqlite3_reset(next.s);
    sqlite3_bind_int64(next.s, 1, cutoff_ms);
    const int rc = sqlite3_step(next.s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return -1;
    const std::int64_t seq = sqlite3_column_int64(next.s, 0);
    const std::int64_t max_ms = sqlite3_column_int64(next.s, 1);
    const std::int64_t count = sqlite3_column_int64(next.s, 2);
    if (max_ms < cutoff_ms && count <= quota - deleted) {  // the whole batch is due
      sqlite3_reset(next.s);
      sqlite3_reset(drop.s);
      sqlite3_bind_int64(drop.s, 1, seq);
      if (sqlite3_step(drop.s) != SQLITE_DONE) return -1;
      deleted += count;
      continue;
    }
    // Part of it: the lowest ids due, up to the quota; the rest is written back.
    std::vector<DecisionRecord> records;
    const bool whole = decode_batch(blob(next.s, 3), [&](DecisionRecord&& r) {
      records.push_back(std::move(r));
      return true;
    });
    sqlite3_reset(next.s);  // done with its row before changing the table
    if (!whole) {
      // A damaged batch cannot be trimmed: deleted whole, so that retention goes on.
      sqlite3_reset(drop.s);
      sqlite3_bind_int64(drop.s, 1, seq);
      if (sqlite3_step(drop.s) != SQLITE_DONE) return -1;
      deleted += count;
      continue;
    }
    // The records due first, lowest ids first; the first `due` of them go.
    const auto split = std::stable_partition(
        records.begin(), records.end(),
        [&](const DecisionRecord& r) { return record_time_key(r) < cutoff_ms; });
    std::sort(records.begin(), split,
              [](const DecisionRecord& a, const DecisionRecord& b) { return a.id < b.id; });
    const auto due = static_cast<std::size_t>(
        std::min<std::int64_t>(split - records.begin(), quota - deleted));
    if (due == 0) break;  // cannot happen (min_ms < cutoff means one is due); never loop on it
    BatchEncoder encoder;
    for (std::size_t i = due; i < records.size(); ++i) encoder.add(records[i]);
    sqlite3_reset(drop.s);
    sqlite3_reset(rewrite.s);
    if (encoder.count() == 0) {
      sqlite3_bind_int64(drop.s, 1, seq);
      if (sqlite3_step(drop.s) != SQLITE_DONE) return -1;
    } else {
      const std::int64_t lo = encoder.min_ms(), hi = encoder.max_ms(),
                         n = static_cast<std::int64_t>(encoder.count());
      const std::string& data = encoder.finish();
      sqlite3_bind_int64(rewrite.s, 1, lo);
      sqlite3_bind_int64(rewrite.s, 2, hi);
      sqlite3_bind_int64(rewrite.s, 3, n);
      sqlite3_bind_blob64(rewrite.s, 4, data.data(), data.size(), SQLITE_STATIC);
      sqlite3_bind_int64(rewrite.s, 5, seq);
      if (sqlite3_step(rewrite.s) != SQLITE_DONE) return -1;
    }
    deleted += static_cast<std::int64_t>(due);
  }
  return deleted;
}

}  // namespace switchboard::store
