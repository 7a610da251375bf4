#include "store/decision_store.h"

#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <random>

#include <spdlog/spdlog.h>

#include "core/wall_clock.h"
#include "store/decision_batches.h"
#include "store/learning_contexts.h"
#include "store/legacy_decisions.h"
#include "store/record_codec.h"
#include "store/sqlite_statement.h"
#include "store/stored_responses.h"

namespace switchboard::store {
namespace {

// A batch is written when this many records wait, or when the oldest has waited kBatchWindow: at
// full speed (~24k records/s) a transaction every ~5 ms, never a burst of thousands.
constexpr std::size_t kBatchSize = 128;
constexpr auto kBatchWindow = std::chrono::milliseconds(50);  // longest a record waits in memory
// A failed transaction is tried again after kRetryFirst, doubling up to kRetryMost.
constexpr auto kRetryFirst = std::chrono::milliseconds(100);
constexpr auto kRetryMost = std::chrono::milliseconds(2'000);

constexpr const char* kPragmas = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-16384;
PRAGMA mmap_size=268435456;
PRAGMA wal_autocheckpoint=4096;
)sql";

// SQLite's allocation statistics take a global mutex on every allocation; nothing here reads them
// (sqlite3_memory_used, soft heap limits). Off for the process, before SQLite initialises (a static
// initialiser: the auth stage may open its key store before the decision store is opened).
[[maybe_unused]] const int kNoMemoryStatistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string id_prefix(std::int64_t time_ms) {
  std::string id = "dec_00000000000";
  const auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(time_ms, 0));
  for (int i = 0; i < 11; ++i) id[4 + 10 - i] = kHex[(ms >> (4 * i)) & 0xf];
  return id;
}

std::string new_decision_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto ms = static_cast<std::uint64_t>(unix_ms());
  auto random = rng();
  std::string id = id_prefix(static_cast<std::int64_t>(ms & 0xfffffffffffULL));
  id.resize(4 + 11 + 13);
  for (int i = 0; i < 13; ++i) id[15 + 12 - i] = kHex[(random >> (4 * i)) & 0xf];
  return id;
}


struct DecisionStore::Reader {
  sqlite3* db = nullptr;
  ~Reader() { sqlite3_close_v2(db); }
};

// The writer thread's own state: its statements, prepared once and reused by every batch.
struct DecisionStore::WriterState {
  explicit WriterState(sqlite3* db) : batches(db) {}
  ~WriterState() {
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(rollback);
  }
  BatchWriter batches;
  BatchEncoder encoder;
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* rollback = nullptr;
};

Result<std::unique_ptr<DecisionStore>> DecisionStore::open(const std::string& path,
                                                           StoreOptions options) {
  std::unique_ptr<DecisionStore> store(new DecisionStore());
  store->path_ = path;
  store->options_ = options;
  if (store->options_.delete_batch == 0) store->options_.delete_batch = 1;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &store->write_db_, flags, nullptr) != SQLITE_OK)
    return sqlite_error(store->write_db_, "opening " + path);
  char* err = nullptr;
  if (sqlite3_exec(store->write_db_, kPragmas, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(ErrorKind::kInternal, "store_error", "opening " + path + ": " + msg);
  }
  sqlite3_busy_timeout(store->write_db_, static_cast<int>(options.busy_timeout.count()));
  if (std::string why = create_batch_tables(store->write_db_); !why.empty())
    return make_error(ErrorKind::kInternal, "store_error",
                      "creating the schema in " + path + ": " + why);
  if (std::string why = create_responses_table(store->write_db_); !why.empty())
    return make_error(ErrorKind::kInternal, "store_error",
                      "creating the responses table in " + path + ": " + why);
  if (std::string why = create_learning_contexts_table(store->write_db_); !why.empty())
    return make_error(ErrorKind::kInternal, "store_error",
                      "creating the learning_contexts table in " + path + ": " + why);
  // A database of the one-row-per-record format: its records move into batches, once.
  std::int64_t moved = 0;
  if (std::string why = migrate_legacy_decisions(store->write_db_, moved); !why.empty())
    return make_error(ErrorKind::kInternal, "store_error",
                      "moving the decision records of " + path + " into batches: " + why);
  // One read connection now, so that a path that cannot be read fails here, not at the first
  // lookup.
  auto reader = store->take_reader();
  if (!reader)
    return make_error(ErrorKind::kInternal, "store_error", "opening " + path + " for reading");
  store->return_reader(std::move(reader));
  store->writer_state_ = std::make_unique<WriterState>(store->write_db_);
  store->writer_ = std::thread([s = store.get()] { s->writer_loop(); });
  return store;
}

std::unique_ptr<DecisionStore::Reader> DecisionStore::take_reader() {
  {
    std::lock_guard lock(read_mu_);
    if (!readers_.empty()) {
      auto r = std::move(readers_.back());
      readers_.pop_back();
      return r;
    }
  }
  auto r = std::make_unique<Reader>();
  if (sqlite3_open_v2(path_.c_str(), &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK)
    return nullptr;
  sqlite3_busy_timeout(r->db, 1000);
  return r;
}

void DecisionStore::return_reader(std::unique_ptr<Reader> r) {
  std::lock_guard lock(read_mu_);
  if (readers_.size() < 8) readers_.push_back(std::move(r));  // more idle ones are closed
}

DecisionStore::~DecisionStore() {
  stop_writer();
  writer_state_.reset();  // its statements, before the connection closes
  readers_.clear();
  sqlite3_close_v2(write_db_);
}

void DecisionStore::stop_writer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

std::size_t DecisionStore::weight(const DecisionRecord& r) {
  return (r.stored_response ? r.stored_response->items.size() + r.stored_response->response.size()
                            : 0) +
         (r.learning_context ? r.learning_context->size() : 0);
}

void DecisionStore::record(DecisionRecord&& record) {
  bool wake;
  const std::size_t w = weight(record);
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_pending ||
        (w > 0 && pending_bytes_ + w > options_.max_pending_bytes)) {
      dropped_.fetch_add(1);
      return;
    }
    pending_bytes_ += w;
    auto shared = std::make_shared<const DecisionRecord>(std::move(record));
    pending_[shared->id] = shared;
    if (shared->stored_response) pending_responses_.emplace(shared->stored_response->id, shared);
    queue_.push_back(std::move(shared));
    ++enqueued_;
    // The writer sleeps until a first record is queued, then lets the batch fill for up to
    // kBatchWindow; it is woken only at those two points, not per record (a futex call on the
    // request path).
    wake = queue_.size() == 1 || queue_.size() == kBatchSize;
  }
  if (wake) wake_.notify_one();
}

bool DecisionStore::flush(std::optional<std::chrono::milliseconds> within) {
  std::unique_lock lock(mu_);
  auto target = enqueued_;
  flush_requested_ = true;
  wake_.notify_one();
  auto done = [&] { return written_ >= target || stopping_; };
  if (!within) {
    flushed_.wait(lock, done);
    return true;
  }
  return flushed_.wait_for(lock, *within, done);
}

std::optional<DecisionRecord> DecisionStore::find(const std::string& id) {
  if (auto r = find_pending(id)) return r;
  return find_stored(id);
}

std::optional<StoredResponse> DecisionStore::find_response(const std::string& response_id,
                                                            const Owner& caller) {
  // Every response the caller may see under this id, queued or written (a record is in both for a
  // moment: counted once, by decision id); the newest answers, unless there are two.
  std::optional<StoredResponse> found;
  std::string newest;  // its decision id
  std::vector<std::string> seen;
  auto consider = [&](const std::string& decision_id, const StoredResponse& r) {
    if (std::find(seen.begin(), seen.end(), decision_id) != seen.end()) return;
    seen.push_back(decision_id);
    if (!found || decision_id > newest) {
      found = r;
      newest = decision_id;
    }
  };
  {
    std::lock_guard lock(mu_);
    auto [first, last] = pending_responses_.equal_range(response_id);
    for (auto it = first; it != last; ++it) {
      const DecisionRecord& r = *it->second;
      if (r.key_name.empty() || caller.owns(r.key_name, r.time_ms))
        consider(r.id, *r.stored_response);
    }
  }
  if (auto reader = take_reader()) {
    for (const auto& row : read_stored_responses(reader->db, response_id, caller))
      consider(row.decision_id, row.response);
    return_reader(std::move(reader));
  }
  if (found) found->ambiguous = seen.size() > 1;
  return found;
}

bool DecisionStore::erase_response(const std::string& response_id, const Owner& caller,
                                   std::string* error) {
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    queued = pending_responses_.contains(response_id);
  }
  if (queued) {
    // Bounded: this runs on a lookup thread other lookups share.
    flush(std::min(options_.busy_timeout, std::chrono::milliseconds(1000)));
    std::lock_guard lock(mu_);
    if (pending_responses_.contains(response_id)) {
      if (error) *error = "the response is still being written (the store is failing)";
      return false;
    }
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    if (error) *error = db ? sqlite3_errmsg(db) : "cannot open " + path_;
    sqlite3_close_v2(db);
    return false;
  }
  sqlite3_busy_timeout(db, static_cast<int>(std::min<std::int64_t>(options_.busy_timeout.count(), 1000)));
  const auto deleted = delete_stored_response(db, response_id, caller);
  if (!deleted && error) *error = sqlite3_errmsg(db);
  sqlite3_close_v2(db);
  return deleted.value_or(false);
}

std::optional<std::string> DecisionStore::find_learning_context(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    if (auto it = pending_.find(id); it != pending_.end()) return it->second->learning_context;
  }
  auto reader = take_reader();
  if (!reader) return std::nullopt;
  auto context = read_learning_context(reader->db, id);
  return_reader(std::move(reader));
  return context;
}

std::optional<DecisionRecord> DecisionStore::find_pending(const std::string& id) {
  std::lock_guard lock(mu_);
  if (auto it = pending_.find(id); it != pending_.end()) return *it->second;
  return std::nullopt;
}

std::optional<DecisionRecord> DecisionStore::find_stored(const std::string& id) {
  auto reader = take_reader();
  if (!reader) return std::nullopt;
  auto out = find_batched(reader->db, id);
  return_reader(std::move(reader));
  return out;
}

std::int64_t DecisionStore::stored_count() {
  auto reader = take_reader();
  if (!reader) return -1;
  const std::int64_t n = count_batched(reader->db);
  return_reader(std::move(reader));
  return n;
}

bool DecisionStore::retention_step() {
  const bool by_age = options_.retention_days > 0;
  const bool by_rows = options_.max_rows > 0;
  const auto now = std::chrono::steady_clock::now();
  if (!aging_ && excess_rows_ <= 0) {
    if (now < next_retention_) return false;
    next_retention_ = now + options_.retention_interval;
    aging_ = by_age;
    if (by_rows) excess_rows_ = count_batched(write_db_) - options_.max_rows;
  }
  const auto batch = static_cast<std::int64_t>(options_.delete_batch);
  sqlite3_exec(write_db_, "BEGIN", nullptr, nullptr, nullptr);
  std::int64_t deleted = 0;
  if (aging_) {
    const auto cutoff = unix_ms() -
                        static_cast<std::int64_t>(options_.retention_days * 86'400'000.0);
    deleted = std::max<std::int64_t>(delete_oldest_batched(write_db_, cutoff, batch), 0);
    if (deleted < batch) aging_ = false;  // nothing older is left (or an error)
    excess_rows_ -= deleted;              // aged records count against the excess too
  } else {
    const std::int64_t limit = std::min(batch, excess_rows_);
    deleted = std::max<std::int64_t>(
        delete_oldest_batched(write_db_, std::numeric_limits<std::int64_t>::max(), limit), 0);
    excess_rows_ = deleted < limit ? 0 : excess_rows_ - deleted;
  }
  if (deleted > 0) {  // with their decision records
    expire_stored_responses(write_db_);
    expire_learning_contexts(write_db_);
  }
  if (sqlite3_exec(write_db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    // Not deleted after all (busy, …): rolled back; the next pass tries again.
    sqlite3_exec(write_db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  }
  expired_.fetch_add(static_cast<std::uint64_t>(deleted));
  return aging_ || excess_rows_ > 0;
}

void DecisionStore::writer_loop() {
  // Below the request path's priority: on a saturated machine the writer catches up when the
  // workers idle (the bounded queue and the drop counter cover a writer that never can).
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  const bool retention = options_.retention_days > 0 || options_.max_rows > 0;
  next_retention_ = std::chrono::steady_clock::now();  // a first pass at start-up
  bool more_to_delete = false;
  std::vector<RecordPtr> failed;  // a batch whose transaction failed: tried again first
  int failures = 0;               // in a row
  std::optional<std::chrono::steady_clock::time_point> give_up_at;  // set once stopping
  for (;;) {
    std::vector<RecordPtr> batch;
    bool stop = false;
    {
      std::unique_lock lock(mu_);
      auto ready = [&] { return !queue_.empty() || stopping_ || flush_requested_; };
      if (!failed.empty()) {
        // Back off before the next try: 100 ms doubling to 2 s. A stop shortens it to at most
        // 200 ms, never to nothing (the stop's grace tried again without pause: a million tries).
        const auto backoff = kRetryFirst * (1 << std::min(failures - 1, 4));
        const bool was_stopping = stopping_;
        wake_.wait_for(lock,
                       std::min<std::chrono::milliseconds>(
                           backoff, was_stopping ? std::chrono::milliseconds(200) : kRetryMost),
                       [&] { return stopping_ && !was_stopping; });
        batch = std::move(failed);
        failed.clear();
      } else {
        // While retention has rows left to delete, go on at once (after this batch of inserts).
        if (!more_to_delete) {
          // Asleep until a record is queued (or retention is due), ...
          if (retention)
            wake_.wait_until(lock, next_retention_, ready);
          else
            wake_.wait(lock, ready);
          // ... then the batch fills for up to kBatchWindow.
          if (!queue_.empty())
            wake_.wait_for(lock, kBatchWindow, [&] {
              return queue_.size() >= kBatchSize || stopping_ || flush_requested_;
            });
        }
        flush_requested_ = false;
        batch.reserve(std::min(queue_.size(), kBatchSize));
        while (!queue_.empty() && batch.size() < kBatchSize) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      // A flush covers every record queued before it: the rest go at once too.
      if (!queue_.empty()) flush_requested_ = true;
      if (stopping_ && !give_up_at)
        give_up_at = std::chrono::steady_clock::now() + options_.stop_grace;
      stop = stopping_ && queue_.empty();
    }
    if (!batch.empty()) {
      if (write_batch(batch)) {
        failures = 0;
        note_write(true);
        finish_batch(batch, false);
      } else {
        write_failures_.fetch_add(1);
        note_write(false);
        ++failures;
        if (failures == 1 || failures % 100 == 0)
          spdlog::warn("decision store: writing {} records failed ({} tries so far): {}; trying again",
                       batch.size(), failures, last_error_);
        if (give_up_at && std::chrono::steady_clock::now() >= *give_up_at) {
          // Shutting down and out of time: this batch and everything still queued are dropped.
          std::vector<RecordPtr> rest;
          {
            std::lock_guard lock(mu_);
            rest.assign(std::make_move_iterator(queue_.begin()),
                        std::make_move_iterator(queue_.end()));
            queue_.clear();
          }
          spdlog::error("decision store: stopping; {} records could not be written",
                        batch.size() + rest.size());
          finish_batch(batch, true);
          finish_batch(rest, true);
          stop = true;
        } else {
          failed = std::move(batch);
          stop = false;
        }
      }
    }
    flushed_.notify_all();
    if (stop && failed.empty()) return;
    if (retention && failed.empty()) more_to_delete = retention_step();
  }
}

void DecisionStore::note_write(bool ok) {
  std::lock_guard lock(health_mu_);
  if (ok) {
    failing_since_ms_ = 0;
    failed_tries_ = 0;
    failing_error_.clear();
    return;
  }
  if (!failing_since_ms_)
    failing_since_ms_ = unix_ms();
  ++failed_tries_;
  failing_error_ = last_error_;
}

DecisionStore::Health DecisionStore::health() {
  Health h;
  {
    std::lock_guard lock(health_mu_);
    h.failing = failing_since_ms_ != 0;
    h.failing_since_ms = failing_since_ms_;
    h.failed_tries = failed_tries_;
    h.error = failing_error_;
  }
  {
    std::lock_guard lock(mu_);
    h.queued = static_cast<std::size_t>(enqueued_ - written_);  // queued or being (re)tried
  }
  h.dropped = dropped();
  return h;
}

void DecisionStore::finish_batch(const std::vector<RecordPtr>& batch, bool dropped) {
  if (dropped) dropped_.fetch_add(batch.size());
  std::lock_guard lock(mu_);
  for (const auto& r : batch) {
    pending_.erase(r->id);
    pending_bytes_ -= weight(*r);
    if (r->stored_response) {
      auto [first, last] = pending_responses_.equal_range(r->stored_response->id);
      for (auto it = first; it != last; ++it)
        if (it->second == r) {
          pending_responses_.erase(it);
          break;
        }
    }
  }
  written_ += batch.size();
}

bool DecisionStore::write_batch(const std::vector<RecordPtr>& batch) {
  WriterState& ws = *writer_state_;
  auto prepare = [this](const char* sql, sqlite3_stmt*& stmt) {
    return stmt || sqlite3_prepare_v3(write_db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                      nullptr) == SQLITE_OK;
  };
  auto step = [](sqlite3_stmt* stmt) {
    const bool done = sqlite3_step(stmt) == SQLITE_DONE;
    sqlite3_reset(stmt);
    return done;
  };
  if (!prepare("BEGIN IMMEDIATE", ws.begin) || !prepare("COMMIT", ws.commit) ||
      !prepare("ROLLBACK", ws.rollback)) {
    last_error_ = sqlite3_errmsg(write_db_);
    return false;
  }
  if (sqlite3_get_autocommit(write_db_) == 0) step(ws.rollback);  // never inside another one
  // IMMEDIATE: the write lock is taken (or waited for) here, before anything is written.
  if (!step(ws.begin)) {
    last_error_ = sqlite3_errmsg(write_db_);
    return false;
  }
  for (const auto& record : batch) ws.encoder.add(*record);
  const bool ok = ws.batches.write(ws.encoder) && write_stored_responses(write_db_, batch) &&
                  write_learning_contexts(write_db_, batch) && step(ws.commit);
  if (!ok) {
    last_error_ = sqlite3_errmsg(write_db_);  // before the rollback replaces it
    if (sqlite3_get_autocommit(write_db_) == 0) step(ws.rollback);
  }
  return ok;
}

}  // namespace switchboard::store
