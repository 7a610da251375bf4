// The cost of one Balancer::pick() as the gateway calls it (through the context-length filter),
// for every registered balancer on pools of 8 and 64 replicas. The reference is round_robin in the
// same process: compare ratios, not absolute times (bench/README.md).
//
// prefix_affinity (default options: 2048 blocks of 1024 characters remembered per replica, at most
// 64 blocks per request) is measured on three workloads, `blocks` being the prompt's length:
//   repeat    conversations seen before (as many as fill half the index), asked again: the pick
//             finds the replica and touches one block (a multi-turn chat, a shared document);
//   new       every prompt is new apart from a 2-block shared system prompt: the pick inserts
//             blocks-2 nodes and, once the index is full, evicts as many;
//   mooncake  the Mooncake conversation trace's block ids in order (24 blocks of 512 tokens on
//             average, 37% of them seen before; at most 64 considered), cycled with fresh ids.
// A separate benchmark has two threads share one balancer (its mutex).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "pool/hash.h"
#include "pool/health.h"
#include "pool/pool.h"
#include "pool/prefix_hash.h"
#include "sim/trace.h"

using namespace switchboard;

namespace {

struct Fleet {
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> ptrs;
  std::unique_ptr<Balancer> lb;
  Fleet(const std::string& type, std::size_t n, bool spread_loads) {
    for (std::size_t i = 0; i < n; ++i) {
      owned.push_back(std::make_unique<Replica>());
      owned.back()->ordinal = static_cast<std::uint32_t>(i);
      owned.back()->in_flight = spread_loads ? static_cast<std::int64_t>(pool::mix64(i) % 16) : 0;
      if (type == "lora_affinity") owned.back()->max_adapters = 8;
      ptrs.push_back(owned.back().get());
    }
    auto made = pool::make_balancer(type, YAML::Node(), ptrs, "bench", "bench");
    lb = std::move(made.value());
  }
};

// The load-aware balancers: loads move like the gateway's (the chosen replica gets a request,
// another one finishes one), kept within 0..31.
void simple(benchmark::State& state, const std::string& type) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Fleet f(type, n, true);
  std::vector<std::string> adapters;
  for (int i = 0; i < 32; ++i) adapters.push_back("adapter-" + std::to_string(i));
  RouteRequest rr;
  rr.prompt_tokens = 2000;
  std::uint64_t i = 0;
  for (auto _ : state) {
    std::uint64_t x = pool::mix64(i++);
    if (type == "lora_affinity") rr.adapter = adapters[x % adapters.size()];
    Replica& r = f.lb->pick(f.ptrs, rr);
    benchmark::DoNotOptimize(&r);
    if (r.in_flight.load(std::memory_order_relaxed) < 31)
      r.in_flight.fetch_add(1, std::memory_order_relaxed);
    Replica* done = f.ptrs[(x >> 32) % n];
    if (done->in_flight.load(std::memory_order_relaxed) > 0)
      done->in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// What the gateway does per attempt: the health filter (one replica in 8 ejected, one down, one
// already tried by this request) and then pick() on what is left.
void healthy(benchmark::State& state, const std::string& type) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Fleet f(type, n, true);
  const std::int64_t now = pool::steady_ms();
  for (std::size_t i = 0; i < n; i += 8) f.ptrs[i]->health.ejected_until_ms = now + 3'600'000;
  f.ptrs[1]->health.down = true;
  const Replica* tried[] = {f.ptrs[2]};
  pool::CandidateBuffer buffer;
  RouteRequest rr;
  rr.prompt_tokens = 2000;
  std::uint64_t i = 0;
  for (auto _ : state) {
    std::uint64_t x = pool::mix64(i++);
    auto c = pool::healthy_candidates(f.ptrs, tried, now, buffer);
    Replica& r = f.lb->pick(c.replicas, rr);
    benchmark::DoNotOptimize(&r);
    if (r.in_flight.load(std::memory_order_relaxed) < 31) r.in_flight.fetch_add(1, std::memory_order_relaxed);
    Replica* done = f.ptrs[(x >> 32) % n];
    if (done->in_flight.load(std::memory_order_relaxed) > 0) done->in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

std::vector<std::uint64_t> conversation(std::uint64_t c, std::size_t blocks) {
  std::vector<std::uint64_t> out{0, 1};
  for (std::size_t b = 2; b < blocks; ++b) out.push_back(c * 1000 + b);
  return out;
}

const sim::Trace* mooncake() {
  static const auto trace = [] {
    auto t = sim::load_trace(std::string(SB_SHARED_DATA) + "/traces/mooncake_conversation.jsonl");
    return t ? std::make_unique<sim::Trace>(std::move(*t)) : nullptr;
  }();
  return trace.get();
}

enum Workload { kRepeat, kNew, kMooncake };

void prefix(benchmark::State& state, Workload w) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto blocks = static_cast<std::size_t>(state.range(1));
  Fleet f("prefix_affinity", n, false);
  RouteRequest rr;
  rr.prompt_tokens = 2000;
  std::vector<std::vector<std::uint64_t>> prompts;
  if (w == kRepeat) {
    // As many conversations as fill half of the index (2048 blocks per replica by default), so
    // that they stay in it.
    std::size_t count =
        std::min<std::size_t>(4096, 1024 * n / std::max<std::size_t>(blocks - 2, 1));
    for (std::uint64_t c = 0; c < count; ++c) prompts.push_back(conversation(c, blocks));
    for (const auto& p : prompts) {  // warm: every conversation has its replica
      rr.prefix_blocks = p;
      f.lb->pick(f.ptrs, rr);
    }
  } else if (w == kMooncake) {
    const sim::Trace* t = mooncake();
    if (!t) {
      state.SkipWithError("no ../shared/data/traces/mooncake_conversation.jsonl");
      return;
    }
    for (const auto& r : t->requests) prompts.push_back(r.blocks);
  }
  std::vector<std::uint64_t> scratch;
  std::uint64_t i = 0;
  for (auto _ : state) {
    const std::vector<std::uint64_t>* p;
    if (w == kRepeat) {
      p = &prompts[pool::mix64(i) % prompts.size()];
    } else if (w == kNew) {
      scratch = conversation(i + 10'000, blocks);
      p = &scratch;
    } else {
      const auto& src = prompts[i % prompts.size()];
      std::uint64_t cycle = i / prompts.size();
      scratch.assign(src.begin(), src.end());
      if (cycle)
        for (auto& b : scratch) b += cycle << 32;  // each pass over the trace is new traffic
      p = &scratch;
    }
    ++i;
    rr.prefix_blocks = *p;
    Replica& r = f.lb->pick(f.ptrs, rr);
    benchmark::DoNotOptimize(&r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Two gateway threads picking through one shared prefix_affinity balancer.
void BM_PrefixAffinityShared(benchmark::State& state) {
  static std::unique_ptr<Fleet> fleet;
  static std::vector<std::vector<std::uint64_t>> prompts;
  if (state.thread_index() == 0) {
    fleet = std::make_unique<Fleet>("prefix_affinity", 64, false);
    prompts.clear();
    for (std::uint64_t c = 0; c < 4096; ++c) prompts.push_back(conversation(c, 16));  // fits
    RouteRequest warm;
    for (const auto& p : prompts) {
      warm.prefix_blocks = p;
      fleet->lb->pick(fleet->ptrs, warm);
    }
  }
  RouteRequest rr;
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {  // the loop starts on all threads together, after thread 0's set-up
    rr.prefix_blocks = prompts[pool::mix64(i++) % prompts.size()];
    Replica& r = fleet->lb->pick(fleet->ptrs, rr);
    benchmark::DoNotOptimize(&r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_PrefixBlockHashes(benchmark::State& state) {
  std::string prompt(static_cast<std::size_t>(state.range(0)), 'x');
  for (std::size_t i = 0; i < prompt.size(); ++i)
    prompt[i] = static_cast<char>('a' + pool::mix64(i) % 26);
  for (auto _ : state) benchmark::DoNotOptimize(pool::prefix_block_hashes(prompt, 512));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

}  // namespace

BENCHMARK_CAPTURE(simple, round_robin, "round_robin")->ArgName("replicas")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(simple, random, "random")->ArgName("replicas")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(simple, least_outstanding, "least_outstanding")
    ->ArgName("replicas")
    ->Arg(8)
    ->Arg(64);
BENCHMARK_CAPTURE(simple, p2c, "p2c")->ArgName("replicas")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(healthy, least_outstanding, "least_outstanding")->ArgName("replicas")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(healthy, p2c, "p2c")->ArgName("replicas")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(simple, lora_affinity, "lora_affinity")->ArgName("replicas")->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(simple, prefix_affinity_no_prefix, "prefix_affinity")
    ->ArgName("replicas")
    ->Arg(64);
BENCHMARK_CAPTURE(prefix, repeat, kRepeat)
    ->ArgNames({"replicas", "blocks"})
    ->Args({8, 16})
    ->Args({64, 4})
    ->Args({64, 16})
    ->Args({64, 64});
BENCHMARK_CAPTURE(prefix, new, kNew)
    ->ArgNames({"replicas", "blocks"})
    ->Args({8, 16})
    ->Args({64, 4})
    ->Args({64, 16})
    ->Args({64, 64});
BENCHMARK_CAPTURE(prefix, mooncake, kMooncake)
    ->ArgNames({"replicas", "blocks"})
    ->Args({8, 0})
    ->Args({64, 0});
BENCHMARK(BM_PrefixAffinityShared)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_PrefixBlockHashes)->Arg(8 << 10)->Arg(128 << 10);

BENCHMARK_MAIN();
