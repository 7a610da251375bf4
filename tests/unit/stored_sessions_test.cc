// Sessions across restarts (docs/sessions.md, "Across restarts"): the SQLite table of sessions'
// last turns (store/session_store.h) and the writer/restorer in front of it
// (pipeline/session/stored_sessions.h).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "pipeline/session/session_table.h"
#include "pipeline/session/stored_sessions.h"
#include "store/session_store.h"

using namespace switchboard;
using namespace switchboard::pipeline::session;

namespace {

std::string temp_db(const char* name) {
  auto p = std::filesystem::temp_directory_path() /
           (std::string("sb-sessions-") + name + "-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(p);
  return p.string();
}

std::int64_t steady_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

store::SessionRow row(const std::string& route, std::uint64_t key, std::int64_t last_ms,
                      std::int64_t expires_ms) {
  return store::SessionRow{route, key, key * 7, "m" + std::to_string(key), 1, 2, 0, last_ms,
                           expires_ms};
}

}  // namespace

TEST(SessionStore, RowsRoundTripBitForBit) {
  const auto path = temp_db("roundtrip");
  auto s = store::SessionStore::open(path);
  ASSERT_TRUE(s) << s.error().message;
  // Hashes above 2^63 are stored as negative SQLite integers and come back unchanged.
  store::SessionRow r{"chat", 0xfedcba9876543210ULL, 0x8000000000000001ULL, "gpt", 3, 5, 2, 1000,
                      5000, 0x9000000000000002ULL};
  ASSERT_TRUE((*s)->save({r}));
  r.turns = 6;  // the same session's next turn replaces the row
  ASSERT_TRUE((*s)->save({r}));
  auto live = (*s)->live("chat", 4999, 10);
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 1u);
  const auto& got = live->front();
  EXPECT_EQ(got.key, r.key);
  EXPECT_EQ(got.conversation, r.conversation);
  EXPECT_EQ(got.model, "gpt");
  EXPECT_EQ(got.replica, 3);
  EXPECT_EQ(got.turns, 6);
  EXPECT_EQ(got.switches, 2);
  EXPECT_EQ(got.last_ms, 1000);
  EXPECT_EQ(got.owner, r.owner);
  EXPECT_TRUE((*s)->live("chat", 5000, 10)->empty()) << "expired at expires_ms";
  EXPECT_TRUE((*s)->live("other", 0, 10)->empty()) << "another route's sessions";
  std::filesystem::remove(path);
}

// A sessions table written before session 27 (no owner column) gets one; its rows are owned by
// none, and new rows keep their owner.
TEST(SessionStore, TableWithoutOwnerColumnIsUpgraded) {
  const auto path = temp_db("upgrade");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE sessions (route TEXT NOT NULL, key INTEGER NOT NULL, "
                           "conversation INTEGER NOT NULL, model TEXT NOT NULL, replica INTEGER NOT "
                           "NULL, turns INTEGER NOT NULL, switches INTEGER NOT NULL, last_ms INTEGER "
                           "NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY KEY (route, key)) WITHOUT "
                           "ROWID; INSERT INTO sessions VALUES ('chat',1,7,'old',0,1,0,1000,9000);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = store::SessionStore::open(path);
  ASSERT_TRUE(s) << s.error().message;
  store::SessionRow r = row("chat", 2, 2000, 9000);
  r.owner = 42;
  ASSERT_TRUE((*s)->save({r}));
  auto live = (*s)->live("chat", 0, 10);
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].model, "old");
  EXPECT_EQ((*live)[0].owner, 0u);
  EXPECT_EQ((*live)[1].owner, 42u);
  s->reset();
  EXPECT_TRUE(store::SessionStore::open(path)) << "opens again once upgraded";
  std::filesystem::remove(path);
}

TEST(SessionStore, LiveGivesTheMostRecentOldestFirstAndPruneBoundsEachRoute) {
  const auto path = temp_db("prune");
  auto s = store::SessionStore::open(path);
  ASSERT_TRUE(s);
  std::vector<store::SessionRow> rows;
  for (std::uint64_t k = 1; k <= 10; ++k) rows.push_back(row("a", k, 100 + k, 1000));
  rows.push_back(row("a", 11, 50, 150));  // expires at 150
  for (std::uint64_t k = 1; k <= 3; ++k) rows.push_back(row("b", k, 100 + k, 1000));
  ASSERT_TRUE((*s)->save(rows));
  auto live = (*s)->live("a", 200, 4);
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 4u);
  EXPECT_EQ(live->front().key, 7u);
  EXPECT_EQ(live->back().key, 10u);
  // The expired row goes; route a keeps its 6 most recent, b (no limit given) all of its 3.
  auto deleted = (*s)->prune(200, {{"a", 6}});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 1 + 4);
  EXPECT_EQ((*s)->count(), 6 + 3);
  EXPECT_EQ((*s)->live("a", 200, 100)->front().key, 5u);
  std::filesystem::remove(path);
}

TEST(StoredSessions, ATableRestoredFromSavedTurnsFindsItsSessionsAgain) {
  const auto path = temp_db("restore");
  {
    auto before = StoredSessions::acquire(path);
    ASSERT_TRUE(before) << before.error().message;
    EXPECT_EQ(StoredSessions::acquire(path)->get(), before->get()) << "one per file";
    (*before)->save("chat", 1, State{"a", 0, 1, 0}, 111, 60'000, 100);
    (*before)->save("chat", 1, State{"b", 2, 2, 1}, 222, 60'000, 100);  // its next turn
    (*before)->save("chat", 2, State{"a", -1, 1, 0}, 0, 60'000, 100);
    (*before)->save("chat", 3, State{"a", 1, 4, 0}, 333, 1, 100);  // expires after 1 ms
    (*before)->save("other", 9, State{"c", 0, 1, 0}, 999, 60'000, 100);
    (*before)->flush();
    EXPECT_EQ((*before)->saved(), 5u);
    EXPECT_EQ((*before)->dropped(), 0u);
  }  // the process "restarts"
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto after = StoredSessions::acquire(path);
  ASSERT_TRUE(after);
  SessionTable table(100, 60'000);
  ASSERT_TRUE(table.claim_restore());
  EXPECT_FALSE(table.claim_restore()) << "restored once per table";
  EXPECT_EQ((*after)->restore("chat", table), 2u);
  const auto now = steady_now();
  auto one = table.find(1, now);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->model, "b");
  EXPECT_EQ(one->replica, 2);
  EXPECT_EQ(one->turns, 2);
  EXPECT_EQ(one->switches, 1);
  EXPECT_EQ(table.find_conversation(222, now), std::optional<std::uint64_t>(1));
  EXPECT_FALSE(table.find_conversation(111, now)) << "only a session's last turn is indexed";
  ASSERT_TRUE(table.find(2, now));
  EXPECT_FALSE(table.find(3, now)) << "expired before the restart";
  EXPECT_FALSE(table.find(9, now)) << "another route's";
  // A restored session keeps the age it had: it expires ttl after its last turn, not after the
  // restore.
  EXPECT_FALSE(table.find(1, now + 60'000));
  std::filesystem::remove(path);
}

TEST(StoredSessions, RestoreKeepsTheBoundAndNewerTurnsTheTableAlreadyHas) {
  const auto path = temp_db("bound");
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  {
    auto s = store::SessionStore::open(path);
    ASSERT_TRUE(s);
    std::vector<store::SessionRow> rows;  // key k answered (6 - k) s ago
    for (std::uint64_t k = 1; k <= 5; ++k) {
      const std::int64_t last = wall - static_cast<std::int64_t>(6 - k) * 1000;
      rows.push_back(row("chat", k, last, last + 60'000));
    }
    ASSERT_TRUE((*s)->save(rows));
  }
  auto stored = StoredSessions::acquire(path);
  ASSERT_TRUE(stored);
  SessionTable table(3, 60'000);
  table.update(5, State{"z", 0, 7, 0}, 555, steady_now());  // a later turn, answered meanwhile
  EXPECT_EQ((*stored)->restore("chat", table), 2u);          // the 3 most recent, minus key 5
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.find(5, steady_now())->model, "z");
  EXPECT_EQ(table.find(4, steady_now())->model, "m4");
  EXPECT_TRUE(table.find(3, steady_now()));
  EXPECT_FALSE(table.find(2, steady_now()));
  EXPECT_FALSE(table.find(1, steady_now()));
  std::filesystem::remove(path);
}

TEST(StoredSessions, TurnsThatCannotBeWrittenAreDroppedAndCounted) {
  EXPECT_FALSE(StoredSessions::acquire("/nonexistent-dir/x/sessions.db"))
      << "a file that cannot be opened is an error, not a crash";
  const auto path = temp_db("broken");
  auto stored = StoredSessions::acquire(path);
  ASSERT_TRUE(stored);
  {  // someone else breaks the table under the running gateway
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "DROP TABLE sessions", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  (*stored)->save("chat", 1, State{"a", 0, 1, 0}, 11, 60'000, 100);
  (*stored)->save("chat", 2, State{"a", 0, 1, 0}, 22, 60'000, 100);
  (*stored)->flush();
  EXPECT_EQ((*stored)->saved(), 0u);
  EXPECT_EQ((*stored)->dropped(), 2u);
  std::filesystem::remove(path);
}
