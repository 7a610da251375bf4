// Sessions (docs/sessions.md): the session table's bounds and expiry, the conversation hashes, the
// stickiness rule, and the session_affinity balancer.
#include <gtest/gtest.h>

#include <limits>

#include <memory>
#include <set>

#include "api/chat_request.h"
#include "pipeline/session/session_table.h"
#include "pool/pool.h"

using namespace switchboard;
using namespace switchboard::pipeline::session;

namespace {

api::ChatRequest chat(const std::string& messages) {
  auto r = api::parse_chat_request(R"({"model":"m","messages":)" + messages + "}");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return *r;
}

Candidate cand(const std::string& model, std::optional<double> utility, bool eligible = true) {
  Candidate c;
  c.model = model;
  c.utility = utility;
  c.eligible = eligible;
  return c;
}

}  // namespace

TEST(SessionTable, RemembersAndExpires) {
  SessionTable t(10, 1000);
  EXPECT_FALSE(t.find(1, 0));
  t.update(1, State{"a", 2, 1, 0}, 77, 0);
  auto s = t.find(1, 500);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->model, "a");
  EXPECT_EQ(s->replica, 2);
  EXPECT_EQ(t.find_conversation(77, 500), std::optional<std::uint64_t>(1));
  // The TTL runs from the last turn, not from the last lookup.
  EXPECT_FALSE(t.find(1, 1001));
  EXPECT_EQ(t.expired(), 1u);
  EXPECT_FALSE(t.find_conversation(77, 1001));
  EXPECT_EQ(t.size(), 0u);
}

TEST(SessionTable, BoundedLeastRecentlyUsedOut) {
  SessionTable t(3, 1'000'000);
  for (std::uint64_t k = 1; k <= 3; ++k) t.update(k, State{"m" + std::to_string(k)}, 100 + k, 0);
  ASSERT_TRUE(t.find(1, 1));  // 1 is now the most recent; 2 the least
  t.update(4, State{"m4"}, 104, 2);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.evicted(), 1u);
  EXPECT_FALSE(t.find(2, 3));
  EXPECT_FALSE(t.find_conversation(102, 3));  // its conversation hash went with it
  EXPECT_TRUE(t.find(1, 3));
  EXPECT_TRUE(t.find(4, 3));
  for (std::uint64_t k = 10; k < 1000; ++k) t.update(k, State{"x"}, k * 7, 4);
  EXPECT_EQ(t.size(), 3u);
}

// A full table makes room fairly among API keys: the biggest owner's least recently used session
// goes, so a key opening many sessions pushes out its own, never a smaller key's; an expired
// session goes first whoever owns it. With one owner it is plain LRU (above).
TEST(SessionTable, FullTableEvictsFromTheBiggestOwner) {
  const std::uint64_t a = owner_id("key-a"), b = owner_id("key-b");
  ASSERT_NE(a, 0u);
  ASSERT_NE(a, b);
  EXPECT_EQ(owner_id(""), 0u);
  SessionTable t(4, 1'000'000);
  t.update(1, State{"m", -1, 1, 0, b}, 0, 0);  // b's one session, the oldest
  for (std::uint64_t k = 10; k < 13; ++k) t.update(k, State{"m", -1, 1, 0, a}, 0, 1);
  // a opens more: each push-out takes a's own least recently used, never b's older session.
  for (std::uint64_t k = 13; k < 30; ++k) t.update(k, State{"m", -1, 1, 0, a}, 0, 2 + k);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.owned_by(b), 1u);
  EXPECT_EQ(t.owned_by(a), 3u);
  EXPECT_TRUE(t.find(1, 100));
  EXPECT_TRUE(t.find(29, 100));
  EXPECT_FALSE(t.find(13, 100));
  // b grows: a, the bigger, still gives way, until both hold two.
  t.update(2, State{"m", -1, 1, 0, b}, 0, 101);
  EXPECT_EQ(t.owned_by(a), 2u);
  EXPECT_EQ(t.owned_by(b), 2u);
  // A later turn by another owner's state does not move the session (its key is scoped by it).
  t.update(2, State{"m", -1, 2, 0, a}, 0, 102);
  EXPECT_EQ(t.owned_by(b), 2u);
  EXPECT_EQ(t.find(2, 103)->owner, b);
  // A session restored without an owner (a table or a gateway from before owners were kept) takes
  // the owner of its next turn.
  SessionTable r(10, 1'000'000);
  r.update(5, State{"m", -1, 1, 0, 0}, 0, 0);
  EXPECT_EQ(r.owned_by(0), 1u);
  r.update(5, State{"m", -1, 2, 0, a}, 0, 1);
  EXPECT_EQ(r.owned_by(0), 0u);
  EXPECT_EQ(r.owned_by(a), 1u);
  EXPECT_EQ(r.find(5, 2)->turns, 2);
  // An expired session goes first, whoever owns it: b's session 1 (last turn at 0).
  SessionTable e(2, 1000);
  e.update(1, State{"m", -1, 1, 0, b}, 0, 0);
  e.update(2, State{"m", -1, 1, 0, a}, 0, 900);
  e.update(3, State{"m", -1, 1, 0, a}, 0, 1500);
  EXPECT_EQ(e.expired(), 1u);
  EXPECT_EQ(e.evicted(), 0u);
  EXPECT_EQ(e.owned_by(b), 0u);
  EXPECT_EQ(e.owned_by(a), 2u);
}

TEST(SessionTable, ConversationMovesOnWithTheSession) {
  SessionTable t(10, 1'000'000);
  t.update(5, State{"a"}, 11, 0);
  t.update(5, State{"a"}, 22, 1);
  EXPECT_FALSE(t.find_conversation(11, 2));  // only the last turn's conversation is kept
  EXPECT_EQ(t.find_conversation(22, 2), std::optional<std::uint64_t>(5));
}

TEST(SessionTable, MergesOnlyTurnsNewerThanItKnows) {
  SessionTable t(10, 1000);
  EXPECT_TRUE(t.merge(7, State{"a", 1, 1, 0}, 31, 0));  // unknown: recorded
  EXPECT_EQ(t.find_conversation(31, 1), std::optional<std::uint64_t>(7));
  EXPECT_FALSE(t.merge(7, State{"b", 0, 1, 0}, 32, 2));  // the same turn: the local one stays
  t.update(7, State{"a", 1, 2, 0}, 33, 3);                // this gateway answered turn 2
  EXPECT_FALSE(t.merge(7, State{"b", 0, 2, 1}, 34, 4));
  EXPECT_TRUE(t.merge(7, State{"b", 2, 3, 1}, 35, 5));  // another gateway answered turn 3
  auto s = t.find(7, 6);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->model, "b");
  EXPECT_EQ(s->turns, 3);
  EXPECT_EQ(t.find_conversation(35, 6), std::optional<std::uint64_t>(7));
  EXPECT_FALSE(t.find_conversation(33, 6));
  // An expired local session does not hold back an older turn.
  EXPECT_TRUE(t.merge(7, State{"c", 0, 1, 0}, 36, 5000));
  EXPECT_EQ(t.find(7, 5001)->model, "c");
  // States no gateway writes (from Redis or a saved file) are refused (since session 28).
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  EXPECT_FALSE(t.merge(8, State{"a", 0, huge, 0}, 40, 5000));
  EXPECT_FALSE(t.merge(8, State{std::string(2000, 'm'), 0, 1, 0}, 40, 5000));
  EXPECT_FALSE(t.merge(8, State{"a", 0, 2, 5}, 40, 5000));
  EXPECT_FALSE(t.merge(8, State{"a", -7, 2, 0}, 40, 5000));
  EXPECT_FALSE(t.find(8, 5001));
}

TEST(SessionHash, NextTurnsHistoryIsTheLastTurnWithItsAnswer) {
  auto turn1 = chat(R"([{"role":"system","content":"be brief"},{"role":"user","content":"hi"}])");
  auto turn2 =
      chat(R"([{"role":"system","content":"be brief"},{"role":"user","content":"hi"},)"
           R"({"role":"assistant","content":"hello!"},{"role":"user","content":"and then?"}])");
  EXPECT_EQ(history_hash(turn2), conversation_hash(turn1, "hello!"));
  EXPECT_NE(history_hash(turn2), conversation_hash(turn1, "hello"));
  // Content as text parts hashes as the same text.
  auto parts = chat(
      R"([{"role":"system","content":[{"type":"text","text":"be brief"}]},{"role":"user","content":"hi"},)"
      R"({"role":"assistant","content":"hello!"},{"role":"user","content":"and then?"}])");
  EXPECT_EQ(history_hash(parts), history_hash(turn2));
  // A first turn has no history (a system message alone is no earlier turn's conversation: those
  // end with an assistant message).
  EXPECT_EQ(history_hash(chat(R"([{"role":"user","content":"hi"}])")), 0u);
  EXPECT_NE(history_hash(turn1),
            conversation_hash(chat(R"([{"role":"system","content":"be brief"}])"), ""));
  // Roles count.
  auto other = chat(R"([{"role":"system","content":"be brief"},{"role":"user","content":"hi"},)"
                    R"({"role":"user","content":"hello!"},{"role":"user","content":"and then?"}])");
  EXPECT_NE(history_hash(other), history_hash(turn2));
  EXPECT_NE(session_key("header", "abc"), session_key("user", "abc"));
}

TEST(Stickiness, StaysWithinTheMarginSwitchesBeyondIt) {
  std::vector<Candidate> c{cand("a", 0.70), cand("b", 0.74)};
  auto v = stickiness(c, "b", "a", 0.05);
  EXPECT_TRUE(v.stay) << v.reason;
  v = stickiness(c, "b", "a", 0.03);
  EXPECT_FALSE(v.stay) << v.reason;
  EXPECT_NE(v.reason.find("gains 0.04"), std::string::npos) << v.reason;
  // Margin 0: any gain switches.
  EXPECT_FALSE(stickiness(c, "b", "a", 0).stay);
}

TEST(Stickiness, SwitchesAwayFromAnIneligibleOrUnknownModel) {
  std::vector<Candidate> c{cand("a", 0.9, false), cand("b", 0.5)};
  c[0].note = "over max_cost";
  auto v = stickiness(c, "b", "a", 1.0);
  EXPECT_FALSE(v.stay);
  EXPECT_NE(v.reason.find("over max_cost"), std::string::npos);
  EXPECT_FALSE(stickiness(c, "b", "gone", 1.0).stay);
  // No utilities (a static or rules policy): an eligible session model stays.
  std::vector<Candidate> plain{cand("a", std::nullopt), cand("b", std::nullopt)};
  EXPECT_TRUE(stickiness(plain, "b", "a", 0).stay);
  EXPECT_TRUE(stickiness({}, "b", "a", 0).stay);
  // Without candidates the caller says why the session's model cannot take the request.
  auto unfit = stickiness({}, "b", "a", 0, "needs 900 tokens, context window 300");
  EXPECT_FALSE(unfit.stay);
  EXPECT_NE(unfit.reason.find("context window 300"), std::string::npos);
  // A NaN utility (a broken input) never keeps the session: it ranks last in the objective.
  std::vector<Candidate> nan{cand("a", std::numeric_limits<double>::quiet_NaN()), cand("b", 0.5)};
  EXPECT_FALSE(stickiness(nan, "b", "a", 1.0).stay);
}

namespace {

struct Pool {
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> ptrs;
  std::unique_ptr<Balancer> lb;
  explicit Pool(std::size_t n,
                const std::string& yaml = "{type: session_affinity, inner: least_outstanding}") {
    for (std::size_t i = 0; i < n; ++i) {
      owned.push_back(std::make_unique<Replica>());
      owned.back()->ordinal = static_cast<std::uint32_t>(i);
      owned.back()->model = "m";
      ptrs.push_back(owned.back().get());
    }
    auto made = pool::make_balancer("session_affinity", YAML::Load(yaml), ptrs, "t:1:1", "t");
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    if (made.ok()) lb = std::move(*made);
  }
};

}  // namespace

TEST(SessionAffinity, GoesToTheSessionsReplicaUnlessOverloaded) {
  Pool p(4);
  RouteRequest rr;
  rr.session_model = "m";
  rr.session_replica = 2;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p.lb->pick(p.ptrs, rr).ordinal, 2u);
  // A hint for another model's replica is ignored (the inner balancer spreads an idle pool).
  rr.session_model = "other";
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 8; ++i) seen.insert(p.lb->pick(p.ptrs, rr).ordinal);
  EXPECT_EQ(seen.size(), 4u);
  // Overloaded (load > least × 1.5 + 2): the inner balancer (least loaded) decides.
  rr.session_model = "m";
  p.owned[2]->in_flight = 5;
  for (int i = 0; i < 4; ++i) EXPECT_NE(p.lb->pick(p.ptrs, rr).ordinal, 2u);
  p.owned[2]->in_flight = 2;
  EXPECT_EQ(p.lb->pick(p.ptrs, rr).ordinal, 2u);
  // Not a candidate (ejected, or already tried): the inner balancer decides.
  std::vector<Replica*> without{p.ptrs[0], p.ptrs[1], p.ptrs[3]};
  EXPECT_NE(p.lb->pick(without, rr).ordinal, 2u);
}

TEST(SessionAffinity, RejectsBadOptions) {
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> ptrs;
  owned.push_back(std::make_unique<Replica>());
  ptrs.push_back(owned.back().get());
  for (const char* yaml :
       {"{type: session_affinity, inner: nope}",
        "{type: session_affinity, inner: session_affinity}", "{type: session_affinity, inner: [1]}",
        "{type: session_affinity, colour: red}"}) {
    auto made = pool::make_balancer("session_affinity", YAML::Load(yaml), ptrs, "t:1:1", "t");
    EXPECT_FALSE(made.ok()) << yaml;
  }
  auto ok =
      pool::make_balancer("session_affinity",
                          YAML::Load("{type: session_affinity, inner: {type: prefix_affinity, "
                                     "min_match: 0.5}}"),
                          ptrs, "t:1:1", "t");
  EXPECT_TRUE(ok.ok()) << (ok.ok() ? "" : ok.error().message);
}
