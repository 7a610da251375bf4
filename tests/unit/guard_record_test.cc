// The decision record's `guard` field: stored (in a database that began with the old
// one-row-per-record table, from before the guard existed: moved into batches at open), read back,
// and shown by to_json() without any matched text.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "store/decision_store.h"

namespace switchboard::store {
namespace {

TEST(GuardRecord, StoredAndReadBackInADatabaseOfTheOldFormat) {
  const auto path = (std::filesystem::temp_directory_path() / "sb_guard_record.db").string();
  std::filesystem::remove(path);
  {
    // A database from before the guard column.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db,
                     "CREATE TABLE decisions (id TEXT PRIMARY KEY NOT NULL, time_ms INTEGER "
                     "NOT NULL, route TEXT, policy TEXT, model TEXT, replica TEXT, reason "
                     "TEXT, status INTEGER, outcome TEXT, error_code TEXT, error_message TEXT, "
                     "stream INTEGER, latency_ms REAL, upstream_ms REAL, prompt_tokens "
                     "INTEGER, completion_tokens INTEGER, tokens_source TEXT, cost_usd REAL, "
                     "candidates TEXT, attempts TEXT, stages TEXT) WITHOUT ROWID",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = DecisionStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  DecisionRecord r;
  r.id = new_decision_id();
  r.time_ms = 1;
  r.guard = {{"pii", "redact", {{"email", 2}, {"phone", 1}}, std::nullopt, std::nullopt, "", 12.5},
             {"jailbreak", "route", {}, 0.93, 0.5, "safe-model", 40},
             {"domain", "pass", {}, 0.12, 0.29, "", 20}};
  DecisionRecord plain;
  plain.id = new_decision_id() + "x";
  plain.time_ms = 2;
  (*store)->record(r);
  (*store)->record(plain);
  (*store)->flush();
  auto found = (*store)->find_stored(r.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->guard, r.guard);
  auto none = (*store)->find_stored(plain.id);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->guard.empty());
  auto j = found->to_json();
  EXPECT_EQ(j["guard"][0]["kinds"]["email"], 2);
  EXPECT_EQ(j["guard"][1]["target"], "safe-model");
  EXPECT_FALSE(j["guard"][0].contains("score"));
  EXPECT_TRUE(none->to_json()["guard"].empty());
  store->reset();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace switchboard::store
