#include "store/decision_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "store/decision_query.h"
#include "store/feedback_store.h"
#include "store/session_store.h"

using namespace switchboard::store;

namespace {
std::string temp_db(const char* name) {
  auto path = std::filesystem::temp_directory_path() / (std::string("sb_") + name + "_" +
                                                         std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  return path.string();
}
}  // namespace

TEST(DecisionStore, RecordsAreFoundBeforeAndAfterTheyAreWritten) {
  auto path = temp_db("store");
  auto store = DecisionStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  DecisionRecord r;
  r.id = new_decision_id();
  r.route = "auto";
  r.policy = "static";
  r.model = "m";
  r.status = 200;
  r.outcome = "ok";
  r.prompt_tokens = 10;
  r.completion_tokens = 20;
  r.cost_usd = 0.0007;
  switchboard::Candidate c;
  c.model = "m";
  c.predicted_quality = 0.5;
  r.candidates.push_back(c);
  (*store)->record(r);
  auto found = (*store)->find(r.id);  // may still be queued: must be visible anyway
  ASSERT_TRUE(found);
  EXPECT_EQ(found->model, "m");
  (*store)->flush();
  found = (*store)->find(r.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->to_json()["usage"]["completion_tokens"], 20);
  EXPECT_DOUBLE_EQ(found->cost_usd, 0.0007);
  EXPECT_EQ(found->candidates[0].predicted_quality, 0.5);
  EXPECT_FALSE((*store)->find("dec_missing"));

  // Survives a restart: the row is really in SQLite.
  store->reset();
  auto reopened = DecisionStore::open(path);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)->find(r.id));
  EXPECT_EQ((*reopened)->find(r.id)->outcome, "ok");
}

TEST(DecisionStore, DropsInsteadOfBlockingWhenTheQueueIsFull) {
  auto store = DecisionStore::open(temp_db("full"), /*max_pending=*/0);
  ASSERT_TRUE(store.ok());
  DecisionRecord r;
  r.id = "dec_x";
  (*store)->record(r);
  EXPECT_EQ((*store)->dropped(), 1u);
}

TEST(DecisionStore, ReportsAnUnusablePath) {
  auto store = DecisionStore::open("/nonexistent-dir/x/y.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("/nonexistent-dir/x/y.db"), std::string::npos);
}

TEST(DecisionIds, AreUniqueAndWellFormed) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    auto id = new_decision_id();
    ASSERT_EQ(id.size(), 28u);
    ASSERT_EQ(id.rfind("dec_", 0), 0u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos) << id;
    if (!ids.empty()) {
      ASSERT_GE(id.substr(0, 15), ids.rbegin()->substr(0, 15));  // time prefix never goes back
    }
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 10000u);
}

// Candidates, attempts and stage spans come back from SQLite as they went in, whether their text
// was plain (formatted directly) or needed escaping (quotes, backslashes, control characters,
// non-ASCII: through nlohmann).
TEST(DecisionStore, CandidatesAttemptsAndStagesRoundTripThroughSqlite) {
  auto store = DecisionStore::open(temp_db("roundtrip"));
  ASSERT_TRUE(store.ok());
  for (const std::string& odd : {std::string("plain-model"), std::string("q\"uo\\te\n\xc3\xa9")}) {
    DecisionRecord r;
    r.id = new_decision_id();
    switchboard::Candidate a;
    a.model = odd;
    a.predicted_quality = 0.75;
    a.predicted_cost = 1.5e-05;
    a.utility = -0.25;
    a.note = "over the " + odd;
    switchboard::Candidate b;
    b.model = "other";
    b.eligible = false;
    r.candidates = {a, b};
    r.attempts = {{odd, "r-1", "upstream_status_503", 12.5, false, 1},
                  {odd, "", "no_healthy_replica", std::nullopt, false, 2},
                  {"other", "r-2", "ok", 3.25, true, 0}};
    r.stages = {{"parse", 4.5, "next"}, {"guard", 0, "off"}, {"execute", 1234.5, "next"}};
    (*store)->record(r);
    (*store)->flush();
    auto found = (*store)->find(r.id);
    ASSERT_TRUE(found);
    ASSERT_EQ(found->candidates.size(), 2u);
    EXPECT_EQ(found->candidates[0].model, odd);
    EXPECT_EQ(found->candidates[0].note, a.note);
    EXPECT_DOUBLE_EQ(found->candidates[0].predicted_quality, 0.75);
    EXPECT_DOUBLE_EQ(found->candidates[0].predicted_cost, 1.5e-05);
    EXPECT_DOUBLE_EQ(*found->candidates[0].utility, -0.25);
    EXPECT_EQ(found->candidates[1].predicted_quality, -1);  // null: not predicted
    EXPECT_FALSE(found->candidates[1].utility);
    EXPECT_FALSE(found->candidates[1].eligible);
    EXPECT_EQ(found->attempts, r.attempts);
    ASSERT_EQ(found->stages.size(), 3u);
    EXPECT_EQ(found->stages[2].name, "execute");
    EXPECT_DOUBLE_EQ(found->stages[2].us, 1234.5);
    EXPECT_EQ(found->stages[1].outcome, "off");
    auto j = found->to_json();
    EXPECT_TRUE(j["candidates"][1]["predicted_quality"].is_null());
    EXPECT_FALSE(j["attempts"][1].contains("replica"));
    EXPECT_EQ(j["attempts"][2]["hedge"], true);
  }
}

namespace {
DecisionRecord record_at(std::int64_t time_ms, int n) {
  DecisionRecord r;
  char id[32];
  std::snprintf(id, sizeof id, "dec_%011llx%013d", static_cast<unsigned long long>(time_ms), n);
  r.id = id;
  r.time_ms = time_ms;
  r.status = 200;
  r.outcome = "ok";
  return r;
}
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
template <typename F>
bool eventually(F&& cond) {
  for (int i = 0; i < 1000 && !cond(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return cond();
}
}  // namespace

TEST(DecisionStore, IdsSortByTimeAboveThePrefixOfTheirTime) {
  // Retention deletes by id order, so this order is what it relies on.
  const auto before = now_ms();
  const std::string a = new_decision_id();
  EXPECT_EQ(a.size(), 28u);
  EXPECT_EQ(a.rfind("dec_", 0), 0u);
  EXPECT_LE(id_prefix(before), a);
  EXPECT_LT(a, id_prefix(now_ms() + 1));
  EXPECT_LT(id_prefix(0xfffffffffff - 1), id_prefix(0xfffffffffff));
  EXPECT_EQ(id_prefix(0x123), "dec_00000000123");
  EXPECT_EQ(id_prefix(-5), "dec_00000000000");
}

TEST(DecisionStore, PendingAndStoredLookupsAreSeparate) {
  auto store = DecisionStore::open(temp_db("split"));
  ASSERT_TRUE(store.ok());
  auto r = record_at(now_ms(), 1);
  (*store)->record(r);
  (*store)->flush();
  EXPECT_FALSE((*store)->find_pending(r.id));  // written: no longer in memory
  ASSERT_TRUE((*store)->find_stored(r.id));
  EXPECT_EQ((*store)->find_stored(r.id)->outcome, "ok");
  EXPECT_FALSE((*store)->find_stored("dec_missing"));
}

TEST(DecisionStore, RetentionDeletesRecordsOlderThanRetentionDaysInBatches) {
  StoreOptions o;
  o.retention_days = 7;
  o.retention_interval = std::chrono::milliseconds(50);
  o.delete_batch = 7;  // several batches
  auto store = DecisionStore::open(temp_db("retention_age"), o);
  ASSERT_TRUE(store.ok());
  const auto now = now_ms();
  const std::int64_t day = 86'400'000;
  for (int i = 0; i < 30; ++i) (*store)->record(record_at(now - 10 * day + i, i));  // too old
  for (int i = 0; i < 20; ++i)
    (*store)->record(record_at(now - 6 * day + i, 100 + i));  // within 7 days
  (*store)->flush();
  ASSERT_TRUE(eventually([&] { return (*store)->stored_count() == 20; }))
      << (*store)->stored_count();
  EXPECT_EQ((*store)->expired(), 30u);
  EXPECT_FALSE((*store)->find(record_at(now - 10 * day, 0).id));
  EXPECT_TRUE((*store)->find(record_at(now - 6 * day, 100).id));
}

TEST(DecisionStore, RetentionKeepsAtMostMaxRowsDeletingTheOldest) {
  StoreOptions o;
  o.max_rows = 25;
  o.retention_interval = std::chrono::milliseconds(50);
  o.delete_batch = 10;
  auto store = DecisionStore::open(temp_db("retention_rows"), o);
  ASSERT_TRUE(store.ok());
  const auto now = now_ms();
  for (int i = 0; i < 100; ++i) (*store)->record(record_at(now - 100'000 + i * 1000, i));
  (*store)->flush();
  ASSERT_TRUE(eventually([&] { return (*store)->stored_count() == 25; }))
      << (*store)->stored_count();
  EXPECT_FALSE((*store)->find(record_at(now - 100'000 + 74 * 1000, 74).id));  // oldest gone
  EXPECT_TRUE((*store)->find(record_at(now - 100'000 + 75 * 1000, 75).id));   // newest kept
  // New records keep the table at the bound.
  for (int i = 100; i < 140; ++i) (*store)->record(record_at(now + i, i));
  (*store)->flush();
  ASSERT_TRUE(eventually([&] { return (*store)->stored_count() == 25; }))
      << (*store)->stored_count();
  EXPECT_TRUE((*store)->find(record_at(now + 139, 139).id));
}

// A record of a request that ran long is written in a batch with much later ones: its batch's time
// range is wide, and a lookup by its id still finds it (the span bound, store/decision_batches.h).
TEST(DecisionStore, RecordsOfLongRequestsAreFoundInTheirLaterBatch) {
  auto path = temp_db("long_span");
  auto store = DecisionStore::open(path);
  ASSERT_TRUE(store.ok());
  const auto now = now_ms();
  for (int i = 0; i < 10; ++i) (*store)->record(record_at(now - 3'600'000 + i, i));  // an hour ago
  (*store)->flush();
  (*store)->record(record_at(now - 10, 100));
  (*store)->record(record_at(now - 1'800'000, 101));  // arrived half an hour ago, written now
  (*store)->record(record_at(now, 102));
  (*store)->flush();
  for (int i : {0, 9})
    EXPECT_TRUE((*store)->find_stored(record_at(now - 3'600'000 + i, i).id)) << i;
  EXPECT_TRUE((*store)->find_stored(record_at(now - 1'800'000, 101).id));
  EXPECT_TRUE((*store)->find_stored(record_at(now, 102).id));
  EXPECT_FALSE((*store)->find_stored(record_at(now - 1'800'000, 7).id));
  EXPECT_EQ((*store)->stored_count(), 13);
  // Another process (a read-only connection) sees the same.
  store->reset();
  auto reopened = DecisionStore::open(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->find_stored(record_at(now - 1'800'000, 101).id));
}

// A database of the format before batches (a `decisions` table, one row per record, JSON columns)
// is moved into batches at open: its records read back whole, by id and through the search, and
// the old table is gone.
TEST(DecisionStore, RecordsOfAnOldTableAreMovedIntoBatchesAtOpen) {
  auto path = temp_db("legacy");
  const std::string old_id = id_prefix(now_ms() - 5000) + "0000000000042";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, R"sql(
CREATE TABLE decisions (
  id TEXT PRIMARY KEY NOT NULL, time_ms INTEGER NOT NULL,
  route TEXT, policy TEXT, model TEXT, replica TEXT, reason TEXT,
  status INTEGER, outcome TEXT, error_code TEXT, error_message TEXT,
  stream INTEGER, latency_ms REAL, upstream_ms REAL,
  prompt_tokens INTEGER, completion_tokens INTEGER, tokens_source TEXT, cost_usd REAL,
  candidates TEXT, attempts TEXT, stages TEXT, guard TEXT, calls TEXT, cache TEXT,
  key_name TEXT, key_team TEXT, api TEXT) WITHOUT ROWID;
)sql", nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
    for (int i = 0; i < 1500; ++i) {  // more than one migration step (1,024 rows)
      char id[40];
      std::snprintf(id, sizeof id, "dec_%011llx%013d",
                    static_cast<unsigned long long>(now_ms() - 100'000 + i), i);
      const std::string sql =
          std::string("INSERT INTO decisions (id,time_ms,route,status,outcome,candidates,attempts,"
                      "stages) VALUES ('") + id + "', 1, 'bulk', 200, 'ok', '[]', '[]', '[]')";
      ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    }
    const std::string sql =
        "INSERT INTO decisions VALUES ('" + old_id + R"sql(', 1700000000000, 'auto', 'knn',
 'gpt-4o', 'r-1', 'best utility', 200, 'ok', '', '', 1, 12.5, 3.25, 10, 20, 'upstream', 0.0007,
 '[{"model":"gpt-4o","predicted_quality":0.8,"predicted_cost":null,"utility":0.5,"eligible":true,"note":""}]',
 '[{"model":"gpt-4o","replica":"r-1","result":"ok","ms":3.25}]',
 '[{"name":"parse","us":4.5,"outcome":"next"}]',
 '[{"check":"pii","verdict":"redact","us":12.5,"kinds":{"email":2}}]',
 '[]', '{"status":"miss"}', 'k1', 'team-a', 'responses'))sql";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = DecisionStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->stored_count(), 1501);
  auto r = (*store)->find_stored(old_id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->time_ms, 1700000000000);
  EXPECT_EQ(r->route, "auto");
  EXPECT_EQ(r->policy, "knn");
  EXPECT_EQ(r->replica, "r-1");
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(r->latency_ms, 12.5);
  EXPECT_EQ(r->completion_tokens, 20);
  EXPECT_EQ(r->cost_usd, 0.0007);
  ASSERT_EQ(r->candidates.size(), 1u);
  EXPECT_EQ(r->candidates[0].predicted_cost, -1);
  EXPECT_EQ(*r->candidates[0].utility, 0.5);
  ASSERT_EQ(r->attempts.size(), 1u);
  EXPECT_EQ(*r->attempts[0].ms, 3.25);
  ASSERT_EQ(r->stages.size(), 1u);
  EXPECT_EQ(r->stages[0].us, 4.5);
  ASSERT_EQ(r->guard.size(), 1u);
  EXPECT_EQ(r->guard[0].kinds[0].second, 2);
  ASSERT_TRUE(r->cache);
  EXPECT_EQ(r->cache->status, "miss");
  EXPECT_EQ(r->key_name, "k1");
  EXPECT_EQ(r->api, "responses");
  EXPECT_FALSE(r->session);  // the column did not exist
  // New records go beside them; the old table is gone.
  auto fresh = record_at(now_ms(), 1);
  (*store)->record(fresh);
  (*store)->flush();
  EXPECT_TRUE((*store)->find_stored(fresh.id));
  store->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name='decisions'", -1,
                               &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// The search reads batches newest first and stops early; records of one time range spread over
// several batches (written out of order) still come back in id order, page by page.
TEST(DecisionStore, SearchPagesInIdOrderAcrossBatches) {
  auto path = temp_db("search_batches");
  auto store = DecisionStore::open(path);
  ASSERT_TRUE(store.ok());
  const auto base = now_ms() - 60'000;
  std::vector<std::string> ids;
  // Batch 1 holds the even records, batch 2 the odd ones; then a long request's record arrives
  // late in batch 3.
  for (int parity : {0, 1}) {
    for (int i = parity; i < 40; i += 2) (*store)->record(record_at(base + i * 10, i));
    (*store)->flush();
  }
  (*store)->record(record_at(base + 5, 1000));
  (*store)->flush();
  for (int i = 0; i < 40; ++i) ids.push_back(record_at(base + i * 10, i).id);
  ids.push_back(record_at(base + 5, 1000).id);
  std::sort(ids.rbegin(), ids.rend());
  DecisionQuery page;
  page.limit = 7;
  std::vector<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto p = search_decisions(path, page);
    ASSERT_TRUE(p) << p.error().message;
    for (auto& d : (*p)["data"]) seen.push_back(d["id"]);
    if ((*p)["next"].is_null()) break;
    page.before = (*p)["next"];
  }
  EXPECT_EQ(seen, ids);
  DecisionQuery window;  // time bounds
  window.since_ms = base + 100;
  window.until_ms = base + 200;
  auto w = search_decisions(path, window);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)["data"].size(), 10u);
  DecisionQuery prefix;
  prefix.id = record_at(base + 5, 1000).id.substr(0, 20);
  auto pr = search_decisions(path, prefix);
  ASSERT_TRUE(pr);
  ASSERT_GE((*pr)["data"].size(), 1u);
  std::int64_t exported = 0;
  auto n = each_stored_decision(path, [&](const DecisionRecord&) { ++exported; });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 41);
  EXPECT_EQ(exported, 41);
  EXPECT_EQ(*count_stored_decisions(path), 41);
}

namespace {
// Another connection holding the database's write lock (BEGIN IMMEDIATE) until release().
struct ForeignWriter {
  sqlite3* db = nullptr;
  explicit ForeignWriter(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  void release() { EXPECT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK); }
  ~ForeignWriter() { sqlite3_close(db); }
};

DecisionRecord record_with_id() {
  DecisionRecord r;
  r.id = new_decision_id();
  r.route = "auto";
  r.model = "m";
  r.outcome = "ok";
  return r;
}

// Waits (up to 10 s) until the store has failed at least one transaction.
bool wait_for_a_failed_write(DecisionStore& store) {
  for (int i = 0; i < 1000 && store.write_failures() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return store.write_failures() > 0;
}

StoreOptions quick_busy_timeout() {
  StoreOptions o;
  o.busy_timeout = std::chrono::milliseconds(20);
  return o;
}
}  // namespace

TEST(DecisionStore, ABatchBlockedByAnotherWriterIsKeptFindableAndWrittenLater) {
  auto path = temp_db("locked");
  auto store = DecisionStore::open(path, quick_busy_timeout());
  ASSERT_TRUE(store.ok()) << store.error().message;
  ForeignWriter other(path);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = record_with_id();
    ids.push_back(r.id);
    (*store)->record(std::move(r));
  }
  EXPECT_FALSE((*store)->health().failing);
  ASSERT_TRUE(wait_for_a_failed_write(**store));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few more tries fail
  const auto sick = (*store)->health();
  EXPECT_TRUE(sick.failing);
  EXPECT_GE(sick.failed_tries, 2u);
  EXPECT_GT(sick.failing_since_ms, 0);
  EXPECT_NE(sick.error.find("locked"), std::string::npos) << sick.error;
  EXPECT_EQ(sick.queued, 3u);  // the batch being retried
  for (const auto& id : ids) EXPECT_TRUE((*store)->find_pending(id)) << id;
  EXPECT_EQ((*store)->dropped(), 0u);
  EXPECT_EQ((*store)->stored_count(), 0);
  EXPECT_FALSE((*store)->flush(std::chrono::milliseconds(50)));  // a bounded wait gives up

  other.release();
  EXPECT_TRUE((*store)->flush());
  for (const auto& id : ids) {
    EXPECT_TRUE((*store)->find_stored(id)) << id;
    EXPECT_FALSE((*store)->find_pending(id)) << id;
  }
  EXPECT_EQ((*store)->stored_count(), 3);
  EXPECT_EQ((*store)->dropped(), 0u);
  const auto well = (*store)->health();
  EXPECT_FALSE(well.failing);
  EXPECT_EQ(well.failed_tries, 0u);
  EXPECT_EQ(well.error, "");
  EXPECT_EQ(well.queued, 0u);
}

// Queued learning contexts and stored conversations count against max_pending_bytes: past it a
// record is dropped (counted), never kept in memory without bound; records carrying neither are
// not held back by it. (Nothing is written meanwhile: another connection holds the write lock.)
TEST(DecisionStore, QueuedContextsAndConversationsAreBoundedInBytes) {
  auto path = temp_db("bytes");
  StoreOptions o = quick_busy_timeout();
  o.max_pending_bytes = 1000;
  auto store = DecisionStore::open(path, o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  ForeignWriter other(path);
  auto with_context = [](char c) {
    auto r = record_with_id();
    r.learning_context = std::string(600, c);
    return r;
  };
  const DecisionRecord big = with_context('x'), big2 = with_context('y');
  const DecisionRecord plain = record_with_id();
  (*store)->record(big);
  (*store)->record(big2);  // 1,200 bytes would be queued: dropped
  (*store)->record(plain);
  EXPECT_EQ((*store)->dropped(), 1u);
  EXPECT_TRUE((*store)->find_pending(big.id));
  EXPECT_TRUE((*store)->find_pending(plain.id));
  EXPECT_FALSE((*store)->find_pending(big2.id));
  other.release();
  ASSERT_TRUE((*store)->flush());
  EXPECT_EQ((*store)->stored_count(), 2);
  (*store)->record(big2);  // the first one is written: room again
  ASSERT_TRUE((*store)->flush());
  EXPECT_EQ((*store)->dropped(), 1u);
  EXPECT_EQ((*store)->find_learning_context(big2.id), big2.learning_context);
}

TEST(DecisionStore, AStopWhileAnotherWriterHoldsTheLockWaitsForItWithinTheGrace) {
  auto path = temp_db("locked_stop");
  std::string id;
  {
    auto store = DecisionStore::open(path, quick_busy_timeout());
    ASSERT_TRUE(store.ok());
    ForeignWriter other(path);
    auto r = record_with_id();
    id = r.id;
    (*store)->record(std::move(r));
    ASSERT_TRUE(wait_for_a_failed_write(**store));
    std::thread releaser([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      other.release();
    });
    store->reset();  // stops while the lock is still held
    releaser.join();
  }
  auto reopened = DecisionStore::open(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->find_stored(id));
}

// Since session 28: tables of the store's names and another shape (another program's, in a shared
// file) are refused when the store opens, naming the table; before, the feedback, learning-state
// and learning-context tables passed and every later write failed.
TEST(DecisionStore, ForeignTablesOfTheSameNameAreRefusedAtOpen) {
  for (const auto& [table, make] : std::vector<std::pair<std::string, std::string>>{
           {"learning_contexts", "CREATE TABLE learning_contexts (decision_id TEXT, blob BLOB)"},
           {"feedback", "CREATE TABLE feedback (decision_id TEXT, stars INTEGER)"},
           {"learning_state", "CREATE TABLE learning_state (route TEXT, weights TEXT)"},
           {"learning_states", "CREATE TABLE learning_states (route TEXT, weights TEXT)"},
           {"sessions", "CREATE TABLE sessions (route TEXT, key INTEGER, last_ms INTEGER, expires_ms INTEGER)"}}) {
    auto path = temp_db(("foreign_" + table).c_str());
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, make.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    std::string why;
    if (table == "learning_contexts") {
      auto s = DecisionStore::open(path);
      ASSERT_FALSE(s.ok()) << table;
      why = s.error().message;
    } else if (table == "sessions") {
      auto s = SessionStore::open(path);
      ASSERT_FALSE(s.ok()) << table;
      why = s.error().message;
    } else {
      auto s = FeedbackStore::open(path);
      ASSERT_FALSE(s.ok()) << table;
      why = s.error().message;
    }
    EXPECT_NE(why.find("table '" + table + "' has another shape"), std::string::npos) << why;
  }
}

// Since session 28: a write that fails at once (here a table of the same name and another shape,
// as a foreign tool may leave) is retried during the stop's grace after a pause, not in a loop
// (before: about a million tries and twelve thousand log lines in a 10 s grace).
TEST(DecisionStore, AStopRetriesAFailingWriteWithPausesNotInALoop) {
  auto path = temp_db("instant_failure");
  auto options = quick_busy_timeout();
  options.stop_grace = std::chrono::milliseconds(1000);
  auto store = DecisionStore::open(path, options);
  ASSERT_TRUE(store.ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE decision_batches; CREATE TABLE decision_batches (x)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  (*store)->record(record_with_id());
  ASSERT_TRUE(wait_for_a_failed_write(**store));
  const std::uint64_t before = (*store)->write_failures();
  (*store)->stop_writer();  // returns once the grace is over
  // In the 1 s grace a try comes at most every 200 ms: a handful, however fast the machine.
  EXPECT_LE((*store)->write_failures() - before, 8u);
  EXPECT_GE((*store)->write_failures() - before, 1u);
}

TEST(DecisionStore, AStopGivesUpAfterItsGraceWhenTheLockIsNeverReleased) {
  auto path = temp_db("locked_forever");
  auto options = quick_busy_timeout();
  options.stop_grace = std::chrono::milliseconds(200);
  std::string id;
  auto store = DecisionStore::open(path, options);
  ASSERT_TRUE(store.ok());
  {
    ForeignWriter holder(path);
    auto r = record_with_id();
    id = r.id;
    (*store)->record(std::move(r));
    ASSERT_TRUE(wait_for_a_failed_write(**store));
    store->reset();  // returns once the grace is over: the record is given up (counted as dropped)
  }
  auto reopened = DecisionStore::open(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE((*reopened)->find_stored(id));
}
