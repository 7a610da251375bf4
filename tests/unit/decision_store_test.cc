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
    if (!ids.empty()) ASSERT_GE(id.substr(0, 15), ids.rbegin()->substr(0, 15));  // time prefix never goes back
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
  for (const std::string odd : {std::string("plain-model"), std::string("q\"uo\\te\n\xc3\xa9")}) {
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
