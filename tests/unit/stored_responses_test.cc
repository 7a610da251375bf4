// Stored Responses conversations in the decision store (store/stored_responses.h): found while
// queued and once written, the API column round-trips, and retention expires a conversation with
// its decision record.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

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
        StoredResponse{response_id, R"([{"role":"user","content":")" + response_id + "\"}]"};
  return r;
}

TEST(StoredResponses, FoundQueuedAndWrittenUnknownIsNot) {
  auto store = DecisionStore::open(temp_db("find"));
  ASSERT_TRUE(store.ok());
  const DecisionRecord r = record_at(now_ms(), 1, "resp_a");
  (*store)->record(r);
  auto queued = (*store)->find_response("resp_a");  // still in memory (or just written)
  ASSERT_TRUE(queued);
  EXPECT_NE(queued->find("resp_a"), std::string::npos);
  (*store)->flush();
  auto written = (*store)->find_response("resp_a");
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, *queued);
  EXPECT_FALSE((*store)->find_response("resp_b"));
  auto rec = (*store)->find_stored(r.id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->api, "responses");
  EXPECT_EQ(rec->to_json()["api"], "responses");
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

}  // namespace
}  // namespace switchboard::store
