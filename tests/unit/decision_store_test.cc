#include "store/decision_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

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
  r.candidates.push_back({{"model", "m"}, {"predicted_quality", 0.5}});
  (*store)->record(r);
  auto found = (*store)->find(r.id);  // may still be queued: must be visible anyway
  ASSERT_TRUE(found);
  EXPECT_EQ(found->model, "m");
  (*store)->flush();
  found = (*store)->find(r.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->to_json()["usage"]["completion_tokens"], 20);
  EXPECT_DOUBLE_EQ(found->cost_usd, 0.0007);
  EXPECT_EQ(found->candidates[0]["predicted_quality"], 0.5);
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
    if (!ids.empty()) ASSERT_GE(id.substr(0, 15), ids.rbegin()->substr(0, 15));  // time prefix never goes back
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 10000u);
}
