// Decision records: one per request (success or failure), in SQLite, many records per row.
//
// record() never blocks the request path: it appends to an in-memory queue that a background
// writer thread drains in transactions, each storing its records as one encoded batch
// (store/record_codec.h, store/decision_batches.h): a batch is written once 128 records wait, or
// 50 ms after the first of them was queued. When the queue holds more than `max_pending` records
// (SQLite cannot keep up), new records are dropped and counted (dropped()), never waited for.
//
// Lookups come in two halves: find_pending() sees records still in the queue (so a client can read
// its decision right after the response; a hash lookup, fine on an event loop), and find_stored()
// reads SQLite — a blocking call that decodes the batches of the id's time (about a millisecond at
// most) and may wait on the file's locks (busy timeout 1 s), so the gateway runs it on a thread
// pool, never on an I/O thread. Each concurrent find_stored() uses its own read connection (a free
// list of them; the mutex guards only the list).
//
// Retention: the writer thread deletes records older than `retention_days` and the oldest beyond
// `max_rows`, every `retention_interval`, in transactions of at most `delete_batch` records between
// its insert batches, so inserts never wait long behind a large delete. Whole batches go at once;
// a batch only partly due is rewritten without the records due.
//
// A database of the format before batches (a `decisions` table, one row per record) is converted
// at open (store/legacy_decisions.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/owner.h"
#include "switchboard/policy.h"
#include "switchboard/result.h"

struct sqlite3;

namespace switchboard::store {

// One stage's span, written by the stage runner: how long it ran and how it ended ("next": the
// request went on, "end": it answered the request, "error": it failed the request, "off": the
// route switched it off).
struct StageSpan {
  std::string name;
  double us = 0;
  std::string outcome;
};

// One try of a replica, or a model or retry skipped (vocabulary in docs/pool.md).
struct AttemptRecord {
  std::string model;
  std::string replica;         // "" for a skip
  std::string result;          // ok | upstream_status_N | an error code | cancelled | no_healthy_replica | budget_exhausted
  std::optional<double> ms;    // sent → answer or failure (tries only)
  bool hedge = false;          // the hedged second attempt (or its refusal)
  std::size_t unavailable = 0; // replicas of the model skipped as ejected or down
  // The request reached the replica (written whole): a try that failed after may have been run
  // and billed (pipeline/model_call.h, cut_tries_charge). Not stored: used while answering.
  bool sent = false;
  bool operator==(const AttemptRecord&) const = default;
};

// One check of the guard stage (docs/guard.md): what it found, what it did, how long it took. Never
// holds the text it matched: personal data appears as kinds and counts only.
struct GuardCheck {
  std::string check;    // pii | jailbreak | domain | unreadable (native-only parts)
  std::string verdict;  // pass | redact | block | route | reject (explain-only: what it would do)
  std::vector<std::pair<std::string, int>> kinds;  // pii: kind -> spans found
  std::optional<double> score;                     // jailbreak: P(attack); domain: distance
  std::optional<double> threshold;
  std::string target;  // route: the model the request went to
  double us = 0;
  bool operator==(const GuardCheck&) const = default;
};

// One model call of a multi-call plan (cascade tier, ensemble member or aggregator), in call order.
struct CallRecord {
  std::string model;
  std::string replica;  // the answer's, or a failed call's last try's; "" when none was tried
  int tier = 0;         // cascade: the tier (0 first); ensemble: 0 members, 1 aggregator
  std::string result;   // ok | an error code | upstream_status_N | deadline (cut by the plan)
  double ms = 0;        // sent → whole answer (or failure)
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0;
  std::optional<double> score;  // the judge's confidence in this call's tier / score of its answer
  std::string extracted;        // the judge's normalised answer ("B", "42"), when it gives one
  std::string note;             // the judge's note and what the plan did ("escalate", ...)
  bool accepted = false;        // this call's answer is the one the client got
  bool operator==(const CallRecord&) const = default;
};

// What the response cache did for a request of a cached route (pipeline/stages/cache_stage.cc).
struct CacheRecord {
  std::string status;                // hit | miss | bypass
  std::string entry;                 // hit: the matched entry's id
  std::optional<double> similarity;  // hit: cosine to the entry's question (1 for an exact hit)
  std::string match;                 // hit: exact | semantic
  double saved_usd = 0;              // hit: what the cached answer cost when it was produced
  std::string note;                  // bypass: why; miss: "stored" once the answer was stored
  bool operator==(const CacheRecord&) const = default;
};

// What the session stage did for a request of a route with sessions (docs/sessions.md).
struct SessionRecord {
  std::string kind;    // how the session was found: header | user | prefix (a new one: "new")
  std::string id;      // "s_" + 16 hex digits: a hash of the kind and the client's id, never the id
  std::int64_t turn = 0;  // 1 for the session's first request
  std::string action;  // new | same | stayed | switched | none (not sticky)
  std::string model;   // the session's model before this turn ("" for a new one)
  std::string reason;  // why it stayed or switched
  bool operator==(const SessionRecord&) const = default;
};

// A Responses-API answer kept for a later request's `previous_response_id` and for retrieval
// (GET /v1/responses/{id}; docs/apis.md): the conversation so far — input items then output
// items, as a JSON array's text — and the response object the client got, under the response id
// the client saw. Written with its decision record, in the `responses` table, and expired with it.
struct StoredResponse {
  std::string id;        // the response id ("resp_...")
  std::string items;     // JSON array text
  std::string response;  // JSON object text ("" in rows stored before it was kept)
  // Another response the caller may see was stored under the same id: an upstream that reuses
  // ids (a passed-through Responses replica numbering them, or a hostile one re-issuing a
  // victim's). Which conversation the client means cannot be told: the gateway refuses to guess.
  bool ambiguous = false;
};

struct DecisionRecord {
  std::string id;
  std::int64_t time_ms = 0;  // unix epoch, when the request arrived
  std::string route;         // what the client named (a route or a model)
  std::string api = "chat";  // the client API: chat | responses | messages | completions | embeddings
  std::string key_name;      // the API key's name ("" without one; docs/keys.md)
  std::string key_team;      // its team
  std::string policy;        // "direct" when a model was named, else the route's policy type
  std::string model;         // chosen model ("" if none was chosen)
  std::string replica;       // replica id ("" if none)
  std::string reason;
  int status = 0;            // HTTP status sent to the client (200 for a stream that broke later)
  std::string outcome;       // ok | client_error | upstream_error | upstream_timeout | stream_broken | client_gone
  std::string error_code;
  std::string error_message;
  bool stream = false;
  double latency_ms = 0;           // received → response complete
  double upstream_ms = 0;          // sent upstream → response head
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::string tokens_source;       // upstream | counted | estimated | none
  double cost_usd = 0;             // every call's cost summed (multi-call plans pay for all)
  std::vector<Candidate> candidates;      // the policy's candidates with predictions
  std::vector<AttemptRecord> attempts;    // replicas tried, in order, with results
  std::vector<StageSpan> stages;                         // the stages run, in order, with their times
  std::vector<GuardCheck> guard;                         // the guard stage's checks, in order
  std::vector<CallRecord> calls;  // multi-call plans: every model call, in order (empty otherwise)
  std::optional<CacheRecord> cache;                      // routes with a cache only
  std::optional<SessionRecord> session;                  // routes with sessions only
  std::optional<StoredResponse> stored_response;  // `store: true` Responses requests (not in to_json)
  // Routes whose policy learns: what it decided on, encoded by pipeline/learning/context_codec.h
  // (opaque here; not in to_json), kept for feedback (store/learning_contexts.h).
  std::optional<std::string> learning_context;

  nlohmann::json to_json() const;
};

struct StoreOptions {
  std::size_t max_pending = 100'000;
  // Bound on the queued records' stored responses and learning contexts (prompts, up to tens of
  // KB each): past it new records are dropped and counted like past max_pending.
  std::size_t max_pending_bytes = std::size_t{256} << 20;
  double retention_days = 0;  // 0 = keep records forever
  std::int64_t max_rows = 0;  // 0 = no bound
  std::chrono::milliseconds retention_interval{60'000};
  std::size_t delete_batch = 1000;
  // How long the writer waits for another connection's write lock before a try fails (then the
  // batch is tried again after a back-off), and how long it keeps trying at shutdown before the
  // records still unwritten are dropped (counted).
  std::chrono::milliseconds busy_timeout{5'000};
  std::chrono::milliseconds stop_grace{10'000};
};

class DecisionStore {
 public:
  // Opens (creating if needed) the SQLite database at `path`. Errors: kInternal with SQLite's message.
  static Result<std::unique_ptr<DecisionStore>> open(const std::string& path, StoreOptions options);
  static Result<std::unique_ptr<DecisionStore>> open(const std::string& path,
                                                     std::size_t max_pending = 100'000) {
    StoreOptions o;
    o.max_pending = max_pending;
    return open(path, o);
  }
  ~DecisionStore();  // stop_writer(), then closes
  // Writes everything still queued (within StoreOptions::stop_grace while writes fail), then
  // stops the writer: records queued afterwards are not written. Called by the destructor.
  void stop_writer();

  // Queues the record for the writer (moved from; one move into shared storage, no copy).
  void record(DecisionRecord&& record);
  void record(const DecisionRecord& r) { record(DecisionRecord(r)); }
  // find_pending(), then find_stored().
  std::optional<DecisionRecord> find(const std::string& id);
  // A record still queued or being written; never touches SQLite.
  std::optional<DecisionRecord> find_pending(const std::string& id);
  // A record in SQLite (blocking: run it off the event loop). nullopt when absent or unreadable.
  std::optional<DecisionRecord> find_stored(const std::string& id);
  // A stored response (StoredResponse), queued or in SQLite (blocking: run it off the event loop),
  // stored by `caller` (store/owner.h) or without a key. nullopt when unknown (never stored,
  // expired, deleted, or another key's).
  std::optional<StoredResponse> find_response(const std::string& response_id,
                                              const Owner& caller = {});
  // Deletes the stored response `response_id` of `caller` (or of no key), as find_response()
  // finds it: one still queued is first written (flush, up to busy_timeout). Blocking (SQLite, on
  // a short-lived connection of its own; the writer thread is not involved). False when there
  // was none to delete, or it could not be deleted (then `error` says why, if given).
  bool erase_response(const std::string& response_id, const Owner& caller,
                      std::string* error = nullptr);
  // The learning context stored with decision `id` (DecisionRecord::learning_context), queued or
  // in SQLite (blocking: run it off the event loop). nullopt when there is none (the decision is
  // unknown, expired, or had none).
  std::optional<std::string> find_learning_context(const std::string& id);
  // Records in SQLite (blocking; for tests and tools).
  std::int64_t stored_count();
  // Records deleted by retention so far.
  std::uint64_t expired() const { return expired_.load(); }
  // Blocks until every record queued before the call is in SQLite (or, at shutdown, given up),
  // or for at most `within`; false when it gave up waiting (the records stay queued).
  bool flush(std::optional<std::chrono::milliseconds> within = std::nullopt);
  std::uint64_t dropped() const { return dropped_.load(); }
  // Transactions that failed and were rolled back to be tried again.
  std::uint64_t write_failures() const { return write_failures_.load(); }
  // Whether records are being written now (GET /healthz, docs/reliability.md).
  struct Health {
    bool failing = false;              // the last write failed (it is being tried again)
    std::int64_t failing_since_ms = 0;  // Unix ms of the first failure in a row (failing only)
    std::uint64_t failed_tries = 0;     // failed tries in a row
    std::string error;                  // SQLite's message for the last failure (failing only)
    std::size_t queued = 0;             // records not written yet (queued or being retried)
    std::uint64_t dropped = 0;          // dropped() so far
  };
  Health health();
  // The database file (store/decision_query.h opens its own read connections on it).
  const std::string& path() const { return path_; }

 private:
  DecisionStore() = default;
  void writer_loop();
  using RecordPtr = std::shared_ptr<const DecisionRecord>;
  struct WriterState;
  // One transaction: BEGIN IMMEDIATE, the batch, its stored responses, COMMIT. False when any
  // step failed; the transaction is then rolled back, as if never tried.
  bool write_batch(const std::vector<RecordPtr>& batch);
  std::string last_error_;  // writer thread only: SQLite's message for the last failed write
  // The writer's end of a batch: out of the in-memory index, counted as written (flush() waits on
  // that count). `dropped`: it was given up, not stored.
  void finish_batch(const std::vector<RecordPtr>& batch, bool dropped);
  // What a queued record counts against max_pending_bytes.
  static std::size_t weight(const DecisionRecord& r);
  // One step of retention (one DELETE of at most delete_batch rows); true when more is to delete.
  bool retention_step();
  struct Reader;
  std::unique_ptr<Reader> take_reader();
  void return_reader(std::unique_ptr<Reader> r);

  std::string path_;             // constant after open()
  StoreOptions options_;         // constant after open()
  sqlite3* write_db_ = nullptr;  // used by the writer thread only (and open() before it starts)
  std::unique_ptr<WriterState> writer_state_;  // the writer thread's only
  std::mutex read_mu_;
  std::vector<std::unique_ptr<Reader>> readers_;  // guarded by read_mu_: idle read connections
  // Retention state, writer thread only.
  std::chrono::steady_clock::time_point next_retention_{};
  std::int64_t excess_rows_ = 0;  // rows over max_rows still to delete
  bool aging_ = false;            // old rows may remain to delete
  std::atomic<std::uint64_t> expired_{0};

  std::mutex mu_;
  std::condition_variable wake_, flushed_;
  std::deque<RecordPtr> queue_;                        // guarded by mu_
  std::unordered_map<std::string_view, RecordPtr> pending_;  // guarded by mu_: queued or being written
  // guarded by mu_: the queued records' stored responses, by response id
  std::unordered_multimap<std::string_view, RecordPtr> pending_responses_;
  std::uint64_t enqueued_ = 0, written_ = 0;                // guarded by mu_
  std::size_t pending_bytes_ = 0;  // guarded by mu_: pending_'s responses and contexts (weight())
  bool stopping_ = false;                                   // guarded by mu_
  bool flush_requested_ = false;                            // guarded by mu_
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> write_failures_{0};
  // The current run of failed writes (Health): set by the writer, read by health().
  std::mutex health_mu_;
  std::int64_t failing_since_ms_ = 0;  // guarded by health_mu_: 0 = the last write succeeded
  std::uint64_t failed_tries_ = 0;     // guarded by health_mu_
  std::string failing_error_;          // guarded by health_mu_
  void note_write(bool ok);            // writer thread
  std::thread writer_;
};

// {"status","entry","similarity","match","saved_usd","note"} (null when absent).
nlohmann::json cache_json(const std::optional<CacheRecord>& cache);
// {"kind","id","turn","action","model","reason"} (null when absent).
nlohmann::json session_json(const std::optional<SessionRecord>& session);
// The stage spans as JSON: [{"name","us","outcome"}].
nlohmann::json stages_json(const std::vector<StageSpan>& stages);
// [{"check","verdict","us"[,"kinds":{kind:count}][,"score"][,"threshold"][,"target"]}].
nlohmann::json guard_json(const std::vector<GuardCheck>& checks);
// [{"model","predicted_quality","predicted_cost","utility","eligible","note"[,"lambda","price"]}]; predictions a policy
// does not make are null. The one serialisation of candidates (records, POST /v1/route, explain).
nlohmann::json candidates_json(const std::vector<Candidate>& candidates);
// [{"model","replica","result","ms"[,"hedge"][,"unavailable"]}]; skips have no replica and ms.
nlohmann::json attempts_json(const std::vector<AttemptRecord>& attempts);

// [{"model","replica","tier","result","ms","prompt_tokens","completion_tokens","cost_usd","score",
//   "extracted","note","accepted"}]; score is null when no judge scored the call.
nlohmann::json calls_json(const std::vector<CallRecord>& calls);

// A new decision id: "dec_" + 24 hex digits: 11 of milliseconds since the epoch, then 13 random,
// so ids sort by time. The store relies on it: a stored record is found through its id's time
// (the batches' time index, store/decision_batches.h), and retention deletes by id order.
std::string new_decision_id();
// "dec_" + the 11 hex digits of `time_ms`: every id made at or after that time sorts at or above it.
std::string id_prefix(std::int64_t time_ms);

}  // namespace switchboard::store
