// The simulator's replica model and KV cache against hand-computed small traces.
#include <gtest/gtest.h>

#include "sim/engine.h"
#include "sim/kv_cache.h"
#include "sim/simulator.h"

using namespace switchboard::sim;

namespace {

// Round numbers: 1 ms per step, 10 µs per prefill token, no attention or decode cost, 4-token
// blocks.
EngineParams simple() {
  EngineParams p;
  p.block_tokens = 4;
  p.kv_tokens = 64;
  p.max_batch = 8;
  p.chunk_tokens = 100;
  p.step_us = 1000;
  p.prefill_us_per_token = 10;
  p.attention_us_per_ktok = 0;
  p.decode_us_per_ktok = 0;
  return p;
}

TraceRequest req(std::int64_t at_us, std::int64_t in, std::int64_t out,
                 std::vector<std::uint64_t> blocks) {
  TraceRequest r;
  r.arrival_us = at_us;
  r.input_tokens = in;
  r.output_tokens = out;
  r.blocks = std::move(blocks);
  return r;
}

// Drives one engine alone through a trace (what the simulator does for each replica).
std::vector<RequestOutcome> run_one(const Trace& t, const EngineParams& p,
                                    ReplicaCounters* counters = nullptr) {
  SimOptions o;
  o.engine = p;
  o.replicas = 1;
  auto r = simulate(t, o, "round_robin");
  EXPECT_TRUE(r.ok());
  if (counters) *counters = r->replicas[0];
  return r->requests;
}

}  // namespace

TEST(SimEngine, PrefillThenOneTokenPerStep) {
  Trace t;
  t.requests = {req(0, 8, 3, {1, 2})};
  auto out = run_one(t, simple());
  // Step 1: 1000 + 8 × 10 = 1080 µs, first token. Steps 2 and 3: 1000 µs each.
  EXPECT_EQ(out[0].ttft_us, 1080);
  EXPECT_EQ(out[0].e2e_us, 3080);
  EXPECT_EQ(out[0].cached_tokens, 0);
}

TEST(SimEngine, ReusesACachedPrefix) {
  Trace t;
  t.requests = {req(0, 8, 3, {1, 2}), req(5000, 10, 1, {1, 2, 3})};
  ReplicaCounters c;
  auto out = run_one(t, simple(), &c);
  // Blocks 1 and 2 (8 tokens) are cached: only 2 tokens to prefill, 1000 + 20 µs; one output
  // token, so the request ends with its first token.
  EXPECT_EQ(out[1].cached_tokens, 8);
  EXPECT_EQ(out[1].ttft_us, 1020);
  EXPECT_EQ(out[1].e2e_us, 1020);
  EXPECT_EQ(c.prefill_tokens, 8 + 2);
  SimOptions o;
  o.engine = simple();
  o.replicas = 1;
  auto r = simulate(t, o, "round_robin");
  EXPECT_DOUBLE_EQ(r->summary.hit_rate, 8.0 / 18.0);
  // A fully cached prompt still computes its last token.
  Trace again;
  again.requests = {req(0, 8, 1, {1, 2}), req(5000, 8, 1, {1, 2})};
  auto out2 = run_one(again, simple());
  EXPECT_EQ(out2[1].cached_tokens, 7);
  EXPECT_EQ(out2[1].ttft_us, 1010);
}

TEST(SimEngine, BatchesAndChunks) {
  Trace t;
  t.requests = {req(0, 8, 2, {1, 2}), req(0, 8, 2, {3, 4})};
  auto out = run_one(t, simple());
  // Both arrive at 0; the first starts a step alone (the second waits for the next step).
  // Step 1 [0, 1080): A's prefill. Step 2 [1080, 2160): A decodes, B prefills (1000 + 80).
  // Step 3 [2160, 3160): B decodes.
  EXPECT_EQ(out[0].ttft_us, 1080);
  EXPECT_EQ(out[0].e2e_us, 2160);
  EXPECT_EQ(out[1].ttft_us, 2160);
  EXPECT_EQ(out[1].e2e_us, 3160);

  auto p = simple();
  p.chunk_tokens = 5;  // 8 prompt tokens take two steps: 1050 + 1030
  Trace one;
  one.requests = {req(0, 8, 1, {1, 2})};
  EXPECT_EQ(run_one(one, p)[0].ttft_us, 2080);
}

TEST(SimEngine, AttentionAndDecodeCostsGrowWithContext) {
  auto p = simple();
  p.attention_us_per_ktok = 1000;  // 1 µs per prompt token per token of context before it
  p.decode_us_per_ktok = 1000;     // 1 µs per context token per decode step
  Trace t;
  t.requests = {req(0, 8, 2, {1, 2})};
  auto out = run_one(t, p);
  // Prefill: 1000 + 8 × (10 + (0 + 8/2)) = 1112. Decode at context 9: 1000 + 9 = 1009.
  EXPECT_EQ(out[0].ttft_us, 1112);
  EXPECT_EQ(out[0].e2e_us, 1112 + 1009);
}

TEST(SimEngine, WaitsForKvRoomAndRejectsWhatNeverFits) {
  auto p = simple();
  p.kv_tokens = 16;  // 4 blocks
  Trace t;
  // 8 prompt + 8 output tokens = 4 blocks each: the second waits until the first is done.
  t.requests = {req(0, 8, 8, {1, 2}), req(0, 8, 8, {3, 4}), req(0, 20, 1, {5, 6, 7, 8, 9})};
  ReplicaCounters c;
  auto out = run_one(t, p, &c);
  EXPECT_EQ(out[0].e2e_us, 1080 + 7 * 1000);
  EXPECT_EQ(out[1].ttft_us, out[0].e2e_us + 1080);
  EXPECT_TRUE(out[2].rejected);
  EXPECT_EQ(c.rejected, 1);
}

TEST(SimEngine, BatchLimitQueuesRequests) {
  auto p = simple();
  p.max_batch = 1;
  Trace t;
  t.requests = {req(0, 4, 1, {1}), req(10, 4, 1, {2})};
  auto out = run_one(t, p);
  EXPECT_EQ(out[0].e2e_us, 1040);
  EXPECT_EQ(out[1].ttft_us, 1040 + 1040 - 10);
}

TEST(SimKvCache, EvictsLeastRecentlyUsedExtensionsFirst) {
  KvCache kv(4);
  std::vector<std::uint64_t> a{1, 2, 3}, b{1, 9};
  ASSERT_TRUE(kv.admit(a, 0));
  kv.mark_computed(a);
  EXPECT_EQ(kv.match(a), 3u);
  kv.release(a, 0);
  // b shares block 1; needs 1 new block: fits without eviction (4 - 3 = 1 free).
  ASSERT_TRUE(kv.admit(b, 0));
  EXPECT_EQ(kv.evictions(), 0);
  kv.mark_computed(b);
  kv.release(b, 0);
  // 3 private blocks: evicts 3 of {1, 2, 3, 9}; the least recently used go first: 3, 2, then 9
  // (b was used last, its deepest block before its first).
  ASSERT_TRUE(kv.admit({}, 3));
  EXPECT_EQ(kv.evictions(), 3);
  EXPECT_EQ(kv.match(a), 1u);
  EXPECT_EQ(kv.match(b), 1u);
  EXPECT_FALSE(kv.admit(std::vector<std::uint64_t>{5, 6}, 0));  // 1 pinned-free slot only
  kv.release({}, 3);
  EXPECT_TRUE(kv.admit(std::vector<std::uint64_t>{5, 6}, 0));
  EXPECT_EQ(kv.match(std::vector<std::uint64_t>{5}), 0u);  // not computed yet
}
