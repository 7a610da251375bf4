// Trace formats, and the simulator running real balancers on small hand-checked traces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "sim/report.h"
#include "sim/simulator.h"
#include "sim/trace.h"

using namespace switchboard::sim;
using ::testing::HasSubstr;

namespace {

EngineParams simple() {
  EngineParams p;
  p.block_tokens = 4;
  p.kv_tokens = 64;
  p.step_us = 1000;
  p.prefill_us_per_token = 10;
  p.attention_us_per_ktok = 0;
  p.decode_us_per_ktok = 0;
  return p;
}

}  // namespace

TEST(SimTrace, ParsesMooncakeLines) {
  auto t = parse_mooncake(
      "{\"timestamp\": 3000, \"input_length\": 700, \"output_length\": 5, \"hash_ids\": [0, 7]}\n"
      "{\"timestamp\": 1000, \"input_length\": 600, \"output_length\": 0, \"hash_ids\": [0, 3], "
      "\"adapter\": \"sql\"}\n",
      "m.jsonl");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->format, "mooncake");
  ASSERT_EQ(t->requests.size(), 2u);
  // Sorted by arrival and relative to the first.
  EXPECT_EQ(t->requests[0].arrival_us, 0);
  EXPECT_EQ(t->requests[0].adapter, "sql");
  EXPECT_EQ(t->requests[1].arrival_us, 2'000'000);
  EXPECT_EQ(t->requests[1].blocks, (std::vector<std::uint64_t>{0, 7}));
  auto bad = parse_mooncake("{\"timestamp\": 1}\n", "m.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("m.jsonl:1: needs numeric timestamp"));
  EXPECT_FALSE(parse_mooncake("not json\n", "m").ok());
  // A timestamp beyond int64's microseconds (its cast was undefined, read as "negative").
  auto far = parse_mooncake(
      "{\"timestamp\": 1e300, \"input_length\": 7, \"output_length\": 5, \"hash_ids\": [0]}\n", "m");
  ASSERT_FALSE(far.ok());
  EXPECT_THAT(far.error().message, HasSubstr("timestamp must be a number of ms in [0, 1e15]"));
}

TEST(SimTrace, ParsesAzureCsvWithDistinctBlocks) {
  auto t = parse_azure(
      "TIMESTAMP,ContextTokens,GeneratedTokens\n"
      "2023-11-16 18:15:46.6805900,374,44\n"
      "2023-11-16 18:15:50.9951690,1024,109\n",
      "a.csv");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->format, "azure");
  EXPECT_EQ(t->requests[1].arrival_us, 4'314'579);
  EXPECT_EQ(t->requests[0].blocks.size(), 1u);  // ceil(374 / 512)
  EXPECT_EQ(t->requests[1].blocks.size(), 2u);
  EXPECT_NE(t->requests[0].blocks[0], t->requests[1].blocks[0]);
  auto bad =
      parse_azure("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,x,1\n", "a.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("a.csv:2:"));
  // One block id per 512 tokens: 1e11 tokens would allocate 1.5 GB for one line.
  auto huge = parse_azure(
      "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,99999999999,1\n", "a.csv");
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(huge.error().message, HasSubstr("at most 10,000,000"));
}

TEST(SimTrace, ReadsTheSharedTraces) {
  std::string dir = SB_SHARED_DATA;
  if (!std::filesystem::exists(dir + "/traces/mooncake_conversation.jsonl"))
    GTEST_SKIP() << "no shared data";
  auto m = load_trace(dir + "/traces/mooncake_conversation.jsonl", 100);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->requests.size(), 100u);
  EXPECT_EQ(m->requests[0].blocks[0], 0u);
  auto a = load_trace(dir + "/traces/azure_llm_2023_conv.csv", 100);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->format, "azure");
  EXPECT_FALSE(load_trace(dir + "/SOURCES.md").ok());
}

// A file is read as a stream from its start (a byte-order mark and blank lines before the first
// record are fine), and so is a pipe, which cannot be read twice.
TEST(SimTrace, LoadsFilesAndPipesFromTheirStart) {
  const auto dir = std::filesystem::temp_directory_path() / "sb_sim_trace_test";
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "t.jsonl").string();
  const std::string lines =
      "\xef\xbb\xbf\n\n"
      "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 2, \"hash_ids\": [1]}\n"
      "{\"timestamp\": 5, \"input_length\": 20, \"output_length\": 3, \"hash_ids\": [1, 2]}\n"
      "{\"timestamp\": 9, \"input_length\": 30, \"output_length\": 4, \"hash_ids\": [3]}\n";
  std::ofstream(file, std::ios::binary) << lines;
  auto t = load_trace(file);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->requests.size(), 3u);
  EXPECT_EQ(t->requests[0].input_tokens, 10);
  // More blank lines than any fixed look-ahead before the first record (4 KB was refused).
  const std::string padded = (dir / "padded.jsonl").string();
  std::ofstream(padded, std::ios::binary) << std::string(10000, '\n') << lines.substr(3);
  auto far = load_trace(padded);
  ASSERT_TRUE(far.ok()) << far.error().message;
  EXPECT_EQ(far->requests.size(), 3u);
  auto two = load_trace(file, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->requests.size(), 2u);
  const std::string fifo = (dir / "fifo").string();
  std::filesystem::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << lines; });
  auto piped = load_trace(fifo);
  writer.join();
  ASSERT_TRUE(piped.ok()) << piped.error().message;
  EXPECT_EQ(piped->requests.size(), 3u);
  EXPECT_EQ(piped->requests[2].output_tokens, 4);
  std::filesystem::remove_all(dir);
}

// Two conversations of two turns on two replicas. Round robin sends each second turn to the
// other replica (no reuse); prefix_affinity sends it home (its first 8 tokens are cached).
TEST(Simulator, RunsTheGatewaysBalancers) {
  Trace t;
  t.block_tokens = 4;
  auto add = [&](std::int64_t at, std::vector<std::uint64_t> blocks) {
    TraceRequest r;
    r.arrival_us = at;
    r.input_tokens = static_cast<std::int64_t>(blocks.size()) * 4;
    r.output_tokens = 1;
    r.blocks = std::move(blocks);
    t.requests.push_back(std::move(r));
  };
  add(0, {1, 2});         // conversation A, turn 1
  add(0, {5, 6});         // conversation B, turn 1
  add(10000, {1, 2, 3});  // A, turn 2
  add(10001, {5, 6, 7});  // B, turn 2 (after A's turn 2: replicas alternate)
  SimOptions o;
  o.engine = simple();
  o.replicas = 2;
  auto rr = simulate(t, o, "round_robin");
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(rr->requests[0].replica, 0);
  EXPECT_EQ(rr->requests[2].replica, 0);  // in turn: 0, 1, 0, 1 — here both second turns are lucky
  EXPECT_EQ(rr->requests[3].replica, 1);
  auto pa = simulate(t, o, "prefix_affinity");
  ASSERT_TRUE(pa.ok());
  EXPECT_EQ(pa->requests[2].replica, pa->requests[0].replica);
  EXPECT_EQ(pa->requests[3].replica, pa->requests[1].replica);
  EXPECT_NE(pa->requests[0].replica, pa->requests[1].replica);
  EXPECT_EQ(pa->requests[2].cached_tokens, 8);
  EXPECT_EQ(pa->requests[3].cached_tokens, 8);
  // Turn-2 TTFT: 1000 + 4 × 10 with the prefix, 1000 + 12 × 10 without.
  EXPECT_EQ(pa->requests[3].ttft_us, 1040);
  EXPECT_DOUBLE_EQ(pa->summary.hit_rate, 16.0 / 40.0);
  // Swap the order of B's turn 2 so that round robin misses both.
  t.requests[3].blocks = {1, 2, 3};
  t.requests[2].blocks = {5, 6, 7};
  auto rr2 = simulate(t, o, "round_robin");
  EXPECT_DOUBLE_EQ(rr2->summary.hit_rate, 0.0);
  auto bad = simulate(t, o, "psychic");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("unknown balancer 'psychic'"));
}

TEST(Simulator, KeepsInFlightCountsLikeTheGatewayAndIsDeterministic) {
  Trace t;
  t.block_tokens = 4;
  for (int i = 0; i < 200; ++i) {
    TraceRequest r;
    r.arrival_us = i * 300;
    r.input_tokens = 40 + (i * 37) % 200;
    r.output_tokens = 1 + (i * 13) % 20;
    for (std::int64_t b = 0; b < (r.input_tokens + 3) / 4; ++b)
      r.blocks.push_back(static_cast<std::uint64_t>(i % 10) * 1000 + b);
    t.requests.push_back(r);
  }
  SimOptions o;
  o.engine = simple();
  o.engine.kv_tokens = 4096;
  o.replicas = 4;
  for (const char* b : {"round_robin", "random", "least_outstanding", "p2c", "prefix_affinity"}) {
    SCOPED_TRACE(b);
    auto x = simulate(t, o, b);
    auto y = simulate(t, o, b);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(x->summary.completed, 200u);
    for (std::size_t i = 0; i < t.requests.size(); ++i) {
      ASSERT_EQ(x->requests[i].ttft_us, y->requests[i].ttft_us);
      ASSERT_EQ(x->requests[i].replica, y->requests[i].replica);
    }
    std::int64_t total = 0;
    for (const auto& c : x->replicas) total += c.requests;
    EXPECT_EQ(total, 200);
    EXPECT_GT(x->summary.ttft_p99_ms, 0);
    EXPECT_GE(x->summary.ttft_p99_ms, x->summary.ttft_p50_ms);
  }
  // least_outstanding balances in-flight counts: with uniform work, request counts stay even.
  auto lo = simulate(t, o, "least_outstanding");
  EXPECT_LT(lo->summary.spread_requests, 1.2);
}

TEST(Simulator, RoutesLongPromptsToReplicasThatFit) {
  Trace t;
  t.block_tokens = 4;
  for (int i = 0; i < 20; ++i) {
    TraceRequest r;
    r.arrival_us = i * 100;
    r.input_tokens = i % 2 ? 40 : 400;
    r.output_tokens = 1;
    for (std::int64_t b = 0; b < r.input_tokens / 4; ++b)
      r.blocks.push_back(static_cast<std::uint64_t>(i) * 1000 + b);
    t.requests.push_back(r);
  }
  SimOptions o;
  o.engine = simple();
  o.engine.kv_tokens = 4096;
  o.replicas = 3;
  o.max_context = {100, 100, 1000};
  auto x = simulate(t, o, "round_robin");
  ASSERT_TRUE(x.ok());
  for (std::size_t i = 0; i < t.requests.size(); i += 2) EXPECT_EQ(x->requests[i].replica, 2);
}

TEST(SimReport, PercentilesAndOutputs) {
  std::vector<double> v{5, 1, 4, 2, 3};
  EXPECT_EQ(percentile(v, 50), 3);
  EXPECT_EQ(percentile(v, 99), 5);
  EXPECT_EQ(percentile(v, 0), 1);
  std::vector<double> empty;
  EXPECT_EQ(percentile(empty, 50), 0);

  Trace t;
  t.block_tokens = 4;
  TraceRequest r;
  r.input_tokens = 8;
  r.output_tokens = 2;
  r.blocks = {1, 2};
  t.requests = {r};
  SimOptions o;
  o.engine = simple();
  o.replicas = 2;
  Report rep;
  rep.trace_path = "t<1>";
  rep.requests = 1;
  rep.options = o;
  rep.runs.push_back(*simulate(t, o, "round_robin"));
  rep.runs.push_back(*simulate(t, o, "prefix_affinity"));
  auto j = report_json(rep);
  EXPECT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["balancer"], "round_robin");
  EXPECT_DOUBLE_EQ(j["runs"][0]["ttft_ms"]["p50"].get<double>(), 1.08);
  EXPECT_EQ(j["runs"][1]["replicas"].size(), 2u);
  EXPECT_EQ(j["fleet"]["engine"]["step_us"], 1000.0);
  auto svg = report_svg(rep);
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("t&lt;1&gt;"));
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_THAT(report_text(rep), HasSubstr("prefix_affinity"));
}

// The collapse case end to end: every request carries the same long system prompt (16 blocks of
// 512 tokens) and a short question of its own. A prefix router that only chased the cache would
// queue everything on one replica; prefix_affinity must keep the load spread (no replica above
// 1.5 × the mean) while still reusing the prefix nearly everywhere.
TEST(Simulator, PrefixAffinityDoesNotCollapseOnAHotPrefix) {
  Trace t;
  for (int i = 0; i < 3000; ++i) {
    TraceRequest r;
    r.arrival_us = i * 20'000;  // 50 requests/s
    r.input_tokens = 16 * 512 + 300;
    r.output_tokens = 100 + (i * 7919) % 200;
    for (std::uint64_t b = 0; b < 16; ++b) r.blocks.push_back(b);
    r.blocks.push_back(1'000'000 + static_cast<std::uint64_t>(i));
    t.requests.push_back(std::move(r));
  }
  SimOptions o;
  o.replicas = 8;
  auto pa = simulate(t, o, "prefix_affinity");
  auto lo = simulate(t, o, "least_outstanding");
  ASSERT_TRUE(pa.ok() && lo.ok());
  EXPECT_LE(pa->summary.spread_requests, 1.5);
  EXPECT_LE(pa->summary.spread_busy, 1.5);
  for (const auto& c : pa->replicas) EXPECT_GT(c.requests, 0);
  EXPECT_GT(pa->summary.hit_rate, 0.9);  // the prefix is cached on every replica
  // As fast as least_outstanding once the prefix is everywhere. (Its TTFT p99 is higher: the first
  // requests queue on the first holders while the prefix is being replicated — a cold-start cost.)
  EXPECT_LE(pa->summary.ttft_p90_ms, lo->summary.ttft_p90_ms * 1.1);
  EXPECT_LE(pa->summary.e2e_p99_ms, lo->summary.e2e_p99_ms * 1.1);
}
