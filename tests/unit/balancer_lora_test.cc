// lora_affinity: adapter requests go to replicas that have the adapter loaded; new adapters are
// spread over replicas with free slots; a hot adapter spills over when its holders are overloaded.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "pool/pool.h"

using namespace switchboard;

namespace {

struct Pool {
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> ptrs;
  std::unique_ptr<Balancer> lb;
  Pool(std::vector<std::vector<std::string>> adapters, std::int64_t slots,
       const std::string& yaml = "{type: lora_affinity, balance_slack: 1}") {
    for (std::size_t i = 0; i < adapters.size(); ++i) {
      owned.push_back(std::make_unique<Replica>());
      owned.back()->ordinal = static_cast<std::uint32_t>(i);
      owned.back()->adapters = adapters[i];
      owned.back()->max_adapters = slots;
      ptrs.push_back(owned.back().get());
    }
    auto made = pool::make_balancer("lora_affinity", YAML::Load(yaml), ptrs, "t:1:1", "t");
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    lb = std::move(*made);
  }
  std::uint32_t pick(std::string_view adapter) {
    RouteRequest rr;
    rr.adapter = adapter;
    return lb->pick(ptrs, rr).ordinal;
  }
};

}  // namespace

TEST(LoraAffinity, SendsAnAdapterWhereItIsLoaded) {
  Pool p({{"sql"}, {"chat"}, {}, {}}, 2);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(p.pick("sql"), 0u);
    EXPECT_EQ(p.pick("chat"), 1u);
  }
}

TEST(LoraAffinity, SpreadsNewAdaptersOverFreeSlots) {
  Pool p({{"sql"}, {"chat"}, {}, {}}, 2);
  // New adapters go first to the replicas holding none, then to those holding fewer.
  auto a = p.pick("law");
  auto b = p.pick("med");
  EXPECT_EQ(std::set<std::uint32_t>({a, b}), (std::set<std::uint32_t>{2, 3}));
  auto c = p.pick("bio");
  auto d = p.pick("fin");
  EXPECT_EQ(std::set<std::uint32_t>({c, d}).size(), 2u);
  // Every adapter sticks to the replica it was spread to.
  EXPECT_EQ(p.pick("law"), a);
  EXPECT_EQ(p.pick("med"), b);
  EXPECT_EQ(p.pick("bio"), c);
  EXPECT_EQ(p.pick("sql"), 0u);
}

TEST(LoraAffinity, SpillsAHotAdapterOverToAnotherReplica) {
  Pool p({{"sql"}, {}, {}, {}}, 4);
  p.ptrs[0]->in_flight = 8;  // least loaded 0 → limit 0 × 1.5 + 1
  auto spill = p.pick("sql");
  EXPECT_NE(spill, 0u);
  // Now two replicas hold it; load decides between them.
  p.ptrs[0]->in_flight = 0;
  p.ptrs[spill]->in_flight = 1;
  EXPECT_EQ(p.pick("sql"), 0u);
  p.ptrs[0]->in_flight = 2;
  EXPECT_EQ(p.pick("sql"), spill);
}

TEST(LoraAffinity, EvictsTheLeastRecentlyUsedAdapterWhenFull) {
  Pool p({{"a"}, {"b"}}, 1);
  // No free slot anywhere: the least-loaded replica takes the new adapter, dropping its old one.
  p.ptrs[1]->in_flight = 1;
  EXPECT_EQ(p.pick("c"), 0u);
  p.ptrs[1]->in_flight = 0;
  p.ptrs[0]->in_flight = 1;
  EXPECT_EQ(p.pick("c"), 0u);  // it holds c now
  EXPECT_EQ(p.pick("b"), 1u);
  // `a` was evicted from replica 0: it goes to the least loaded (1), evicting b there.
  EXPECT_EQ(p.pick("a"), 1u);
}

TEST(LoraAffinity, BaseModelRequestsGoToTheLeastLoaded) {
  Pool p({{"a"}, {}, {}}, 2);
  p.ptrs[0]->in_flight = 3;
  p.ptrs[1]->in_flight = 2;
  p.ptrs[2]->in_flight = 1;
  EXPECT_EQ(p.pick(""), 2u);
}
