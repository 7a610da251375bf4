// Prefix hashing, the prefix index, and the prefix_affinity balancer — including its known failure
// mode, collapsing a popular prefix's traffic onto one replica.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <thread>

#include "pool/hash.h"
#include "pool/pool.h"
#include "pool/prefix_hash.h"
#include "pool/prefix_index.h"

using namespace switchboard;

namespace {

struct Pool {
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> ptrs;
  std::unique_ptr<Balancer> lb;
  explicit Pool(std::size_t n, const std::string& yaml = "{type: prefix_affinity}") {
    for (std::size_t i = 0; i < n; ++i) {
      owned.push_back(std::make_unique<Replica>());
      owned.back()->ordinal = static_cast<std::uint32_t>(i);
      ptrs.push_back(owned.back().get());
    }
    auto made = pool::make_balancer("prefix_affinity", YAML::Load(yaml), ptrs, "t:1:1", "t");
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    lb = std::move(*made);
  }
  Replica& pick(const std::vector<std::uint64_t>& blocks) {
    RouteRequest rr;
    rr.prefix_blocks = blocks;
    return lb->pick(ptrs, rr);
  }
  std::vector<std::int64_t> loads() const {
    std::vector<std::int64_t> v;
    for (auto* r : ptrs) v.push_back(r->in_flight.load());
    return v;
  }
};

// Blocks of a "conversation": a shared system block 0, then blocks unique to conversation c, one
// more per turn (as the Mooncake trace's hash_ids).
std::vector<std::uint64_t> conversation(std::uint64_t c, std::size_t turn, std::size_t base = 4) {
  std::vector<std::uint64_t> b{0};
  for (std::size_t i = 0; i < base + turn; ++i) b.push_back(c * 1000 + i + 1);
  return b;
}

}  // namespace

TEST(PrefixHash, EqualPrefixesGiveEqualLeadingHashes) {
  std::string a(1000, 'x'), b = a;
  b[700] = 'y';  // differs in block 2 (of 256 chars)
  auto ha = pool::prefix_block_hashes(a, 256), hb = pool::prefix_block_hashes(b, 256);
  ASSERT_EQ(ha.size(), 3u);  // 3 full blocks; the partial 4th is left out
  ASSERT_EQ(hb.size(), 3u);
  EXPECT_EQ(ha[0], hb[0]);
  EXPECT_EQ(ha[1], hb[1]);
  EXPECT_NE(ha[2], hb[2]);
  // Chained: the same block text after a different prefix hashes differently.
  std::string c = "A" + std::string(255, 'x') + std::string(256, 'z');
  std::string d = "B" + std::string(255, 'x') + std::string(256, 'z');
  auto hc = pool::prefix_block_hashes(c, 256), hd = pool::prefix_block_hashes(d, 256);
  EXPECT_NE(hc[1], hd[1]);
  // A longer prompt extends the shorter one's hashes; max_blocks bounds the count.
  auto longer = pool::prefix_block_hashes(a + std::string(600, 'q'), 256);
  EXPECT_TRUE(std::equal(ha.begin(), ha.end(), longer.begin()));
  EXPECT_EQ(pool::prefix_block_hashes(a, 256, 2).size(), 2u);
  EXPECT_TRUE(pool::prefix_block_hashes("short", 256).empty());
  EXPECT_TRUE(pool::prefix_block_hashes(a, 0).empty());
  // Deterministic across calls (and processes: no random seed).
  EXPECT_EQ(pool::prefix_block_hashes(a, 256), ha);
  EXPECT_EQ(pool::prefix_block_hashes(std::string(8, 'a'), 8)[0],
            pool::prefix_block_hashes(std::string(8, 'a'), 8)[0]);
}

TEST(PrefixIndex, FindsTheDeepestHoldersAmongCandidates) {
  pool::PrefixIndex idx(4, 100);
  std::vector<std::uint64_t> a{1, 2, 3, 4}, b{1, 2, 9};
  idx.insert(a, 0);
  idx.insert(b, 2);
  std::uint64_t holders = 0;
  EXPECT_EQ(idx.deepest(a, 0b1111, &holders), 4u);
  EXPECT_EQ(holders, 0b0001u);
  EXPECT_EQ(idx.deepest(a, 0b1110, &holders), 2u);  // replica 0 is not a candidate
  EXPECT_EQ(holders, 0b0100u);
  EXPECT_EQ(idx.deepest(std::vector<std::uint64_t>{1, 2, 7}, 0b1111, &holders), 2u);
  EXPECT_EQ(holders, 0b0101u);
  EXPECT_EQ(idx.deepest(std::vector<std::uint64_t>{42}, 0b1111, &holders), 0u);
  EXPECT_EQ(holders, 0u);
  EXPECT_EQ(idx.depth_of(a, 0), 4u);
  EXPECT_EQ(idx.depth_of(a, 2), 2u);
  EXPECT_EQ(idx.depth_of(a, 1), 0u);
  // Extending a held prefix adds only the new blocks.
  idx.insert(std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}, 0, 4);
  EXPECT_EQ(idx.replica_blocks(0), 6u);
  EXPECT_EQ(idx.depth_of(std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}, 0), 6u);
  // A longer prompt probes only its own recorded lengths (1, 2, 4, 7): the match is known to
  // within a factor of two.
  EXPECT_EQ(idx.depth_of(std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7}, 0), 4u);
  EXPECT_EQ(idx.deepest(std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7}, 0b1111, &holders), 4u);
  EXPECT_EQ(holders, 0b0001u);
}

TEST(PrefixIndex, RecordsPowersOfTwoAndThePromptsLength) {
  using L = std::vector<std::uint32_t>;
  EXPECT_EQ(pool::PrefixIndex::lengths(0), L{});
  EXPECT_EQ(pool::PrefixIndex::lengths(1), L{1});
  EXPECT_EQ(pool::PrefixIndex::lengths(3), (L{1, 2, 3}));
  EXPECT_EQ(pool::PrefixIndex::lengths(16), (L{1, 2, 4, 8, 16}));
  EXPECT_EQ(pool::PrefixIndex::lengths(20), (L{1, 2, 4, 8, 16, 20}));
  EXPECT_EQ(pool::PrefixIndex::lengths(1 << 20).back(), 65535u);
  EXPECT_EQ(pool::PrefixIndex::lengths(1 << 20).size(), 17u);
  // A new 64-block prompt is 7 entries; a turn that extends a held 20-block conversation to 28
  // blocks adds one entry (28) under the held 16.
  pool::PrefixIndex idx(2, 1000);
  std::vector<std::uint64_t> conv;
  for (std::uint64_t b = 0; b < 64; ++b) conv.push_back(b + 1);
  idx.insert(conv, 0);
  EXPECT_EQ(idx.replica_entries(0), 7u);
  EXPECT_EQ(idx.replica_blocks(0), 64u);
  std::span<const std::uint64_t> all(conv);
  idx.insert(all.first(20), 1);
  EXPECT_EQ(idx.replica_entries(1), 6u);
  EXPECT_EQ(idx.depth_of(all.first(20), 1), 20u);
  idx.insert(all.first(28), 1);
  EXPECT_EQ(idx.replica_entries(1), 7u);
  EXPECT_EQ(idx.depth_of(all.first(28), 1), 28u);
  EXPECT_EQ(idx.depth_of(all.first(20), 1), 20u);
  std::uint64_t holders = 0;
  EXPECT_EQ(idx.deepest(all.first(40), 0b11, &holders), 32u);
  EXPECT_EQ(holders, 0b01u);
  EXPECT_EQ(idx.deepest(all.first(24), 0b10, &holders), 16u);
  EXPECT_EQ(holders, 0b10u);
}

TEST(PrefixIndex, ForgetsLeastRecentlyUsedPromptsDeepestFirstAndStaysBounded) {
  pool::PrefixIndex idx(2, 6);
  std::vector<std::uint64_t> a{1, 2, 3}, b{10, 11, 12}, c{20, 21, 22};
  idx.insert(a, 0);
  idx.insert(b, 0);
  idx.insert(a, 0);  // a is used again: b is now the least recent
  idx.insert(c, 0);  // over capacity: b goes, deepest block first
  EXPECT_EQ(idx.depth_of(a, 0), 3u);
  EXPECT_EQ(idx.depth_of(c, 0), 3u);
  EXPECT_EQ(idx.depth_of(b, 0), 0u);
  EXPECT_EQ(idx.replica_blocks(0), 6u);
  // Partial eviction keeps the prompt's first blocks (a replica never holds a block without its
  // prefix).
  idx.insert(std::vector<std::uint64_t>{30}, 0);
  EXPECT_EQ(idx.depth_of(a, 0), 2u);  // a's deepest block (3) went first
  // A shared first block stays while any prompt below it lives.
  pool::PrefixIndex t(1, 5);
  t.insert(std::vector<std::uint64_t>{0, 1, 2}, 0);
  t.insert(std::vector<std::uint64_t>{0, 5, 6}, 0);  // 5 blocks: 0 is shared
  EXPECT_EQ(t.replica_blocks(0), 5u);
  t.insert(std::vector<std::uint64_t>{0, 1, 2}, 0);  // touch the first prompt
  t.insert(std::vector<std::uint64_t>{9}, 0);        // evicts 6 (the older prompt's leaf)
  EXPECT_EQ(t.depth_of(std::vector<std::uint64_t>{0, 1, 2}, 0), 3u);
  EXPECT_EQ(t.depth_of(std::vector<std::uint64_t>{0, 5, 6}, 0), 2u);
  // Replica 1 is unaffected by replica 0's evictions, and a block shared by both stays for 1.
  idx.insert(std::vector<std::uint64_t>{20, 21}, 1);
  for (std::uint64_t i = 100; i < 110; ++i) idx.insert(std::vector<std::uint64_t>{i}, 0);
  std::uint64_t holders = 0;
  EXPECT_EQ(idx.deepest(c, 0b11, &holders), 2u);
  EXPECT_EQ(holders, 0b10u);
  EXPECT_EQ(idx.depth_of(c, 0), 0u);
  // Memory stays bounded however many distinct prefixes pass through.
  for (std::uint64_t i = 0; i < 100000; ++i)
    idx.insert(std::vector<std::uint64_t>{1000000 + i, 2000000 + i},
               static_cast<std::uint32_t>(i % 2));
  EXPECT_LE(idx.replica_blocks(0), 6u);
  EXPECT_LE(idx.distinct_blocks(), 12u);
  EXPECT_LT(idx.memory_bytes(), 64u * 1024);
  // A prompt longer than the capacity keeps its beginning.
  idx.insert(std::vector<std::uint64_t>{50, 51, 52, 53, 54, 55, 56, 57, 58, 59}, 0);
  EXPECT_EQ(idx.depth_of(std::vector<std::uint64_t>{50, 51, 52, 53, 54, 55, 56, 57, 58, 59}, 0),
            4u);  // recorded 1, 2, 4, 8, 10: the last two go
}

TEST(PrefixAffinity, SendsARepeatedPrefixBackToItsReplica) {
  Pool p(8);
  std::map<std::uint64_t, std::uint32_t> home;
  for (std::uint64_t c = 0; c < 8; ++c) home[c] = p.pick(conversation(c, 0)).ordinal;
  std::set<std::uint32_t> homes;
  for (auto [_, r] : home) homes.insert(r);
  EXPECT_EQ(homes.size(), 8u);  // an idle pool spreads new conversations
  for (std::size_t turn = 1; turn < 5; ++turn)
    for (std::uint64_t c = 0; c < 8; ++c) EXPECT_EQ(p.pick(conversation(c, turn)).ordinal, home[c]);
  // No prefix: least loaded.
  p.ptrs[3]->in_flight = -1;
  EXPECT_EQ(p.pick({}).ordinal, 3u);
}

TEST(PrefixAffinity, LeavesAnOverloadedReplicaForTheNextBestMatch) {
  Pool p(4, "{type: prefix_affinity, balance_margin: 0.5, balance_slack: 1}");
  // Turns of 3, 4, 5 and 6 blocks: depths are known to within a factor of two (recorded lengths
  // are powers of two and the prompt's own), so the turns cross 4 for the deeper match to show.
  auto turn = [](std::size_t t) { return conversation(1, t, 2); };
  auto home = p.pick(turn(0)).ordinal;
  p.ptrs[home]->in_flight = 10;  // least loaded 0 → limit 0 × 1.5 + 1: overloaded
  auto other = p.pick(turn(1)).ordinal;
  EXPECT_NE(other, home);
  // The overflow replica now holds the longer prefix (turn 1: 4 blocks against 2 recorded on
  // home for this 5-block prompt), so it is the deepest match.
  p.ptrs[home]->in_flight = 0;
  EXPECT_EQ(p.pick(turn(2)).ordinal, other);
  // When it is overloaded, the first replica (a shorter match) still beats the idle ones.
  p.ptrs[other]->in_flight = 6;
  p.ptrs[home]->in_flight = 1;  // at the limit (0 × 1.5 + 1), not above it
  EXPECT_EQ(p.pick(turn(3)).ordinal, home);
}

// The known failure of prefix routers: one hot prefix (a long shared system prompt, a popular
// document) draws every request to the replica that saw it first. Requests never finish here, so
// in-flight counts only grow — the worst case for load.
TEST(PrefixAffinity, DoesNotCollapseOntoOneReplica) {
  Pool p(8);
  std::vector<std::uint64_t> hot{7, 8, 9, 10, 11, 12, 13, 14};
  std::set<std::uint32_t> used;
  for (int i = 0; i < 800; ++i) {
    auto blocks = hot;
    blocks.push_back(100000 + i);  // each request adds its own question
    auto before = p.loads();
    Replica& r = p.pick(blocks);
    used.insert(r.ordinal);
    // Never above the least-loaded replica × (1 + 0.5) + 2, the default guard.
    ASSERT_LE(before[r.ordinal], *std::min_element(before.begin(), before.end()) * 1.5 + 2)
        << "request " << i;
    r.in_flight.fetch_add(1);
  }
  EXPECT_EQ(used.size(), 8u);  // the hot prefix was replicated onto every replica
  auto loads = p.loads();
  auto [lo, hi] = std::minmax_element(loads.begin(), loads.end());
  EXPECT_GE(*lo, 95);  // the mean is 100
  EXPECT_LE(*hi, 105);

  // While nobody is overloaded, affinity holds: the hot prefix stays on one replica.
  Pool q(8);
  std::set<std::uint32_t> homes;
  for (int i = 0; i < 200; ++i) homes.insert(q.pick(hot).ordinal);
  EXPECT_EQ(homes.size(), 1u);
}

TEST(PrefixAffinity, IsSafeUnderConcurrentPicks) {
  Pool p(16, "{type: prefix_affinity, cache_blocks: 64}");
  std::vector<std::thread> threads;
  std::atomic<long> picks{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        auto blocks = conversation(static_cast<std::uint64_t>((i * 7 + t) % 500),
                                   static_cast<std::size_t>(i % 5));
        Replica& r = p.pick(blocks);
        r.in_flight.fetch_add(1);
        r.in_flight.fetch_sub(1);
        ++picks;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(picks.load(), 80000);
  for (auto* r : p.ptrs) EXPECT_EQ(r->in_flight.load(), 0);
}

TEST(PrefixAffinity, ReportsItsBlockSizeToTheGateway) {
  Pool p(2, "{type: prefix_affinity, block_chars: 128}");
  EXPECT_EQ(p.lb->prefix_blocking().block_chars, 128u);
  EXPECT_EQ(p.lb->prefix_blocking().max_blocks, 64u);
  // The gateway's one call: hashes as much of the prompt as the balancer looks at.
  EXPECT_EQ(pool::prefix_blocks_for(*p.lb, std::string(1000, 'a')).size(), 7u);
  EXPECT_EQ(pool::prefix_blocks_for(*p.lb, std::string(100000, 'a')).size(), 64u);
  EXPECT_EQ(pool::prefix_blocks_for(*p.lb, std::string(1000, 'a')),
            pool::prefix_block_hashes(std::string(1000, 'a'), 128));
  auto rr = pool::make_balancer("round_robin", YAML::Node(), p.ptrs, "t", "t");
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ((*rr)->prefix_blocking().block_chars, 0u);  // the gateway need not hash prompts for it
  EXPECT_TRUE(pool::prefix_blocks_for(**rr, std::string(1000, 'a')).empty());
}
