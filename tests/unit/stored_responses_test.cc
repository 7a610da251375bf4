// What the decision store keeps beside a record: stored Responses conversations
// (store/stored_responses.h) and learning routes' contexts (store/learning_contexts.h) — found
// while queued and once written, expired by retention with their decision records (the bound on
// their queued bytes: decision_store_test.cc).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "store/decision_store.h"

namespace switchboard::store {
namespace {

std::string temp_db(const char* name) {
  auto path = std::filesystem::temp_directory_path() /
              (std::string("sb_resp_") + name + "_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  return path.string();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DecisionRecord record_at(std::int64_t ms, int n, const std::string& response_id = "") {
  DecisionRecord r;
  r.id = id_prefix(ms) + std::string(13 - std::to_string(n).size(), '0') + std::to_string(n);
  r.time_ms = ms;
  r.api = "responses";
  r.outcome = "ok";
  if (!response_id.empty())
    r.stored_response =
        StoredResponse{response_id, R"([{"role":"user","content":")" + response_id + "\"}]",
                       R"({"id":")" + response_id + R"(","object":"response","store":true})"};
  return r;
}

TEST(StoredResponses, FoundQueuedAndWrittenUnknownIsNot) {
  auto store = DecisionStore::open(temp_db("find"));
  ASSERT_TRUE(store.ok());
  const DecisionRecord r = record_at(now_ms(), 1, "resp_a");
  (*store)->record(r);
  auto queued = (*store)->find_response("resp_a");  // still in memory (or just written)
  ASSERT_TRUE(queued);
  EXPECT_NE(queued->items.find("resp_a"), std::string::npos);
  EXPECT_EQ(queued->response, R"({"id":"resp_a","object":"response","store":true})");
  (*store)->flush();
  auto written = (*store)->find_response("resp_a");
  ASSERT_TRUE(written);
  EXPECT_EQ(written->items, queued->items);
  EXPECT_EQ(written->response, queued->response);
  EXPECT_FALSE((*store)->find_response("resp_b"));
  auto rec = (*store)->find_stored(r.id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->api, "responses");
  EXPECT_EQ(rec->to_json()["api"], "responses");
}

TEST(StoredResponses, AConversationStoredWithAKeyIsThatKeysOnly) {
  const std::string path = temp_db("keys");
  auto store = DecisionStore::open(path);
  ASSERT_TRUE(store.ok());
  DecisionRecord alices = record_at(now_ms(), 1, "resp_alice");
  alices.key_name = "alice";
  DecisionRecord open = record_at(now_ms(), 2, "resp_open");  // stored without a key
  (*store)->record(alices);
  (*store)->record(open);
  for (int pass = 0; pass < 2; ++pass) {  // queued, then written
    SCOPED_TRACE(pass == 0 ? "queued" : "written");
    EXPECT_TRUE((*store)->find_response("resp_alice", Owner{"alice"}));
    EXPECT_FALSE((*store)->find_response("resp_alice", Owner{"bob"}));
    EXPECT_FALSE((*store)->find_response("resp_alice", Owner{""}));
    EXPECT_TRUE((*store)->find_response("resp_open", Owner{"bob"}));
    EXPECT_TRUE((*store)->find_response("resp_open", Owner{""}));
    (*store)->flush();
  }
  // A database from before keys were recorded gains the column; its rows are anyone's.
  store->reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string old_table =
        "DROP TABLE responses; CREATE TABLE responses (decision_id TEXT PRIMARY KEY NOT NULL, "
        "response_id TEXT NOT NULL, items TEXT NOT NULL) WITHOUT ROWID; "
        "INSERT INTO responses VALUES ('" +
        alices.id + "', 'resp_old', '[]')";
    ASSERT_EQ(sqlite3_exec(db, old_table.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto reopened = DecisionStore::open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto old = (*reopened)->find_response("resp_old", Owner{"bob"});
  ASSERT_TRUE(old);  // gained both later columns: anyone's, and no response object kept
  EXPECT_EQ(old->items, "[]");
  EXPECT_EQ(old->response, "");
}

TEST(StoredResponses, AKeyRecreatedUnderARevokedKeysNameDoesNotInheritItsConversations) {
  auto store = DecisionStore::open(temp_db("namesake"));
  ASSERT_TRUE(store.ok());
  const std::int64_t t = now_ms();
  DecisionRecord first = record_at(t - 60'000, 1, "resp_first");  // the first "alice"'s
  first.key_name = "alice";
  DecisionRecord second = record_at(t, 2, "resp_second");  // the new "alice"'s
  second.key_name = "alice";
  (*store)->record(first);
  (*store)->record(second);
  const Owner old_alice{"alice", t - 120'000}, new_alice{"alice", t - 1'000};
  for (int pass = 0; pass < 2; ++pass) {  // queued, then written
    SCOPED_TRACE(pass == 0 ? "queued" : "written");
    EXPECT_TRUE((*store)->find_response("resp_first", old_alice));
    EXPECT_FALSE((*store)->find_response("resp_first", new_alice));
    EXPECT_TRUE((*store)->find_response("resp_second", new_alice));
    (*store)->flush();
  }
  std::string error;
  EXPECT_FALSE((*store)->erase_response("resp_first", new_alice, &error));
  EXPECT_EQ(error, "");
  EXPECT_TRUE((*store)->find_response("resp_first", old_alice));
}

TEST(StoreOwner, OwnsItsKeysRecordsFromTheKeysCreationOn) {
  const Owner alice{"alice", 1000};
  EXPECT_TRUE(alice.owns("alice", 1000));
  EXPECT_FALSE(alice.owns("alice", 999));
  EXPECT_FALSE(alice.owns("bob", 5000));
  EXPECT_FALSE(alice.owns("", 5000));
  const Owner anonymous;
  EXPECT_TRUE(anonymous.owns("", 1));
  EXPECT_FALSE(anonymous.owns("alice", 5000));
}

TEST(StoredResponses, ErasedByTheirOwnerOnlyQueuedOrWritten) {
  auto store = DecisionStore::open(temp_db("erase"));
  ASSERT_TRUE(store.ok());
  DecisionRecord alices = record_at(now_ms(), 1, "resp_alice");
  alices.key_name = "alice";
  (*store)->record(alices);
  (*store)->record(record_at(now_ms(), 2, "resp_open"));
  std::string error;
  // Another key (or none) cannot delete alice's: nothing found, no error, still there.
  EXPECT_FALSE((*store)->erase_response("resp_alice", Owner{"bob"}, &error));
  EXPECT_FALSE((*store)->erase_response("resp_alice", Owner{""}, &error));
  EXPECT_EQ(error, "");
  EXPECT_TRUE((*store)->find_response("resp_alice", Owner{"alice"}));
  // Her own key deletes it, even while it may still be queued (it is written first).
  EXPECT_TRUE((*store)->erase_response("resp_alice", Owner{"alice"}, &error)) << error;
  EXPECT_FALSE((*store)->find_response("resp_alice", Owner{"alice"}));
  EXPECT_FALSE((*store)->erase_response("resp_alice", Owner{"alice"}, &error));  // already gone
  EXPECT_EQ(error, "");
  // A key-less one is anyone's; the decision record itself stays.
  (*store)->flush();
  EXPECT_TRUE((*store)->erase_response("resp_open", Owner{"bob"}, &error)) << error;
  EXPECT_FALSE((*store)->find_response("resp_open"));
  EXPECT_EQ((*store)->stored_count(), 2);
  EXPECT_FALSE((*store)->erase_response("resp_never", Owner{""}, &error));
}

TEST(StoredResponses, ExpireWithTheirDecisionRecords) {
  StoreOptions o;
  o.max_rows = 5;
  o.retention_interval = std::chrono::milliseconds(50);
  auto store = DecisionStore::open(temp_db("expire"), o);
  ASSERT_TRUE(store.ok());
  const auto now = now_ms();
  for (int i = 0; i < 10; ++i)
    (*store)->record(record_at(now - 100'000 + i * 1000, i, "resp_" + std::to_string(i)));
  (*store)->flush();
  for (int i = 0; i < 200 && (*store)->stored_count() != 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ((*store)->stored_count(), 5);
  EXPECT_FALSE((*store)->find_response("resp_4"));  // its record was deleted: so was it
  EXPECT_TRUE((*store)->find_response("resp_5"));
  EXPECT_TRUE((*store)->find_response("resp_9"));
}

TEST(LearningContexts, FoundQueuedAndWrittenAbsentOtherwise) {
  auto store = DecisionStore::open(temp_db("ctx_find"));
  ASSERT_TRUE(store.ok());
  DecisionRecord with = record_at(now_ms(), 1);
  with.learning_context = std::string("{\"model\":\"a\"}\0binary", 20);
  const DecisionRecord without = record_at(now_ms(), 2);
  (*store)->record(with);
  (*store)->record(without);
  EXPECT_EQ((*store)->find_learning_context(with.id), with.learning_context);
  (*store)->flush();
  EXPECT_EQ((*store)->find_learning_context(with.id), with.learning_context);  // bytes, exactly
  EXPECT_FALSE((*store)->find_learning_context(without.id));
  EXPECT_FALSE((*store)->find_learning_context("dec_unknown"));
  EXPECT_FALSE((*store)->find_stored(with.id)->to_json().contains("learning_context"));
  // A new store on the same file (a restart) still has it.
  const std::string path = (*store)->path();
  store->reset();
  auto reopened = DecisionStore::open(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->find_learning_context(with.id), with.learning_context);
}

TEST(LearningContexts, ExpireWithTheirDecisionRecords) {
  StoreOptions o;
  o.max_rows = 5;
  o.retention_interval = std::chrono::milliseconds(50);
  auto store = DecisionStore::open(temp_db("ctx_expire"), o);
  ASSERT_TRUE(store.ok());
  const auto now = now_ms();
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    DecisionRecord r = record_at(now - 100'000 + i * 1000, i);
    r.learning_context = "context " + std::to_string(i);
    ids.push_back(r.id);
    (*store)->record(std::move(r));
  }
  (*store)->flush();
  for (int i = 0; i < 200 && (*store)->stored_count() != 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ((*store)->stored_count(), 5);
  EXPECT_FALSE((*store)->find_learning_context(ids[4]));
  EXPECT_EQ((*store)->find_learning_context(ids[5]), "context 5");
  EXPECT_EQ((*store)->find_learning_context(ids[9]), "context 9");
}

}  // namespace
}  // namespace switchboard::store
