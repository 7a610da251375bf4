// round_robin, random, least_outstanding, p2c; the context-length filter shared by all balancers;
// option validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "pool/pool.h"

using namespace switchboard;
using ::testing::HasSubstr;

namespace {

// N replicas of one model and a balancer built from `spec` (a name, or a YAML mapping).
struct Pool {
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> ptrs;
  std::unique_ptr<Balancer> lb;

  Pool(std::size_t n, const std::string& spec, const std::vector<std::int64_t>& max_context = {}) {
    for (std::size_t i = 0; i < n; ++i) {
      auto r = std::make_unique<Replica>();
      r->ordinal = static_cast<std::uint32_t>(i);
      r->index = i;
      if (i < max_context.size()) r->max_context = max_context[i];
      ptrs.push_back(r.get());
      owned.push_back(std::move(r));
    }
    YAML::Node options = YAML::Load(spec);
    std::string type = options.IsMap() ? options["type"].as<std::string>() : spec;
    auto made = pool::make_balancer(type, options.IsMap() ? options : YAML::Node(), ptrs,
                                    "t.yaml:1:1", "t.yaml");
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    if (made.ok()) lb = std::move(*made);
  }
  std::size_t pick(const RouteRequest& rr = {}) { return lb->pick(ptrs, rr).ordinal; }
};

std::string build_error(const std::string& type, const std::string& yaml) {
  std::vector<Replica*> none;
  Replica r;
  none.push_back(&r);
  auto made = pool::make_balancer(type, YAML::Load(yaml), none, "b.yaml:3:5", "b.yaml");
  EXPECT_FALSE(made.ok());
  return made.ok() ? "" : made.error().message;
}

}  // namespace

TEST(BalancerRoundRobin, VisitsReplicasInTurn) {
  Pool p(3, "round_robin");
  std::vector<std::size_t> got;
  for (int i = 0; i < 6; ++i) got.push_back(p.pick());
  EXPECT_EQ(got, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(BalancerRoundRobin, ARetryDoesNotTakeATurn) {
  // Replica 0 fails every request it gets; each failure is retried on the other. A retry that
  // took a turn put replica 0 first on every request (since session 30 it takes none).
  for (const char* type : {"round_robin", "least_outstanding"}) {
    Pool p(2, type);
    int zero_first = 0;
    for (int i = 0; i < 100; ++i) {
      if (p.pick() != 0) continue;
      ++zero_first;
      RouteRequest retry;
      retry.retry = true;
      std::vector<Replica*> rest{p.ptrs[1]};
      EXPECT_EQ(p.lb->pick(rest, retry).ordinal, 1u);
    }
    EXPECT_EQ(zero_first, 50) << type;
  }
}

TEST(BalancerLeastOutstanding, PicksFewestInFlightAndRotatesTies) {
  Pool p(4, "least_outstanding");
  p.ptrs[0]->in_flight = 3;
  p.ptrs[1]->in_flight = 1;
  p.ptrs[2]->in_flight = 2;
  p.ptrs[3]->in_flight = 1;
  std::set<std::size_t> seen;
  for (int i = 0; i < 8; ++i) seen.insert(p.pick());
  EXPECT_EQ(seen, (std::set<std::size_t>{1, 3}));  // both tied replicas get traffic, nobody else
}

TEST(BalancerLeastOutstanding, UsesReportedLoadWhenFresh) {
  Pool p(2, "least_outstanding");
  p.ptrs[0]->in_flight = 1;
  p.ptrs[1]->in_flight = 2;
  // Replica 0 reports 5 running + 3 waiting (other gateways' traffic): it is the busier one.
  p.ptrs[0]->reported.running = 5;
  p.ptrs[0]->reported.waiting = 3;
  p.ptrs[0]->reported.own_at_report = 1;  // one of the 8 was this gateway's request
  EXPECT_EQ(p.ptrs[0]->load(), 8);
  EXPECT_EQ(p.pick(), 1u);
  // That request finished since the report: it no longer counts (7 others + 0 own).
  p.ptrs[0]->in_flight = 0;
  EXPECT_EQ(p.ptrs[0]->load(), 7);
  // A report that saw fewer than this gateway had then (it was taken before they arrived) adds nothing.
  p.ptrs[0]->reported.own_at_report = 9;
  EXPECT_EQ(p.ptrs[0]->load(), 0);
  p.ptrs[0]->in_flight = 1;
  p.ptrs[0]->reported.own_at_report = 1;
  // A stale report (-1) falls back to the gateway's own count.
  p.ptrs[0]->reported.waiting = -1;
  EXPECT_EQ(p.ptrs[0]->load(), 1);
  EXPECT_EQ(p.pick(), 0u);
}

TEST(BalancerRandom, IsUniformAndSeeded) {
  Pool a(4, "{type: random, seed: 7}"), b(4, "{type: random, seed: 7}");
  std::map<std::size_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    auto x = a.pick();
    EXPECT_EQ(x, b.pick());  // same seed, same sequence
    ++counts[x];
  }
  ASSERT_EQ(counts.size(), 4u);
  for (auto [_, c] : counts) EXPECT_NEAR(c, 1000, 150);
}

TEST(BalancerP2c, PrefersTheLessLoadedOfTwoAndNeverTheMostLoaded) {
  Pool p(4, "p2c");
  p.ptrs[0]->in_flight = 10;
  p.ptrs[1]->in_flight = 0;
  p.ptrs[2]->in_flight = 5;
  p.ptrs[3]->in_flight = 5;
  std::map<std::size_t, int> counts;
  for (int i = 0; i < 3000; ++i) ++counts[p.pick()];
  EXPECT_EQ(counts[0], 0);  // it loses every comparison
  // Replica 1 wins whenever drawn: in 3 of the 6 distinct pairs.
  EXPECT_NEAR(counts[1], 1500, 150);
  Pool one(1, "p2c");
  EXPECT_EQ(one.pick(), 0u);
}

TEST(BalancerContextPools, LongPromptsOnlyGoWhereTheyFit) {
  // Two small replicas (8k), one large (128k), one undeclared (no limit).
  for (const char* type :
       {"round_robin", "random", "least_outstanding", "p2c", "prefix_affinity", "lora_affinity"}) {
    SCOPED_TRACE(type);
    Pool p(4, type, {8192, 8192, 131072, 0});
    RouteRequest long_prompt;
    long_prompt.prompt_tokens = 20000;
    long_prompt.max_output_tokens = 1000;
    for (int i = 0; i < 50; ++i) EXPECT_GE(p.pick(long_prompt), 2u);
    RouteRequest short_prompt;
    short_prompt.prompt_tokens = 1000;
    std::set<std::size_t> seen;
    for (int i = 0; i < 50; ++i) seen.insert(p.pick(short_prompt));
    if (std::string(type) == "round_robin") {
      EXPECT_EQ(seen.size(), 4u);
    }
    // Too long for everyone: only the largest declared replicas (the upstream answers the error).
    Pool q(3, type, {8192, 65536, 65536});
    RouteRequest huge;
    huge.prompt_tokens = 200000;
    for (int i = 0; i < 20; ++i) EXPECT_GE(q.pick(huge), 1u);
  }
  Replica r;
  r.max_context = 4096;
  RouteRequest rr;
  rr.prompt_tokens = 4000;
  EXPECT_TRUE(pool::fits(r, rr));
  rr.max_output_tokens = 200;
  EXPECT_FALSE(pool::fits(r, rr));
  rr.prompt_tokens = 0;  // unknown: let it through
  rr.max_output_tokens = 0;
  EXPECT_TRUE(pool::fits(r, rr));
}

TEST(BalancerOptions, AreValidatedWithLocations) {
  EXPECT_THAT(build_error("psychic", "null"),
              HasSubstr("b.yaml:3:5: unknown balancer 'psychic' (known: "));
  auto msg = build_error("prefix_affinity", "{type: prefix_affinity,\n balance_margn: 1}");
  EXPECT_THAT(msg,
              HasSubstr("b.yaml:2:2: unknown key 'balance_margn' in prefix_affinity balancer"));
  EXPECT_THAT(build_error("round_robin", "{type: round_robin, seed: 1}"),
              HasSubstr("unknown key 'seed'"));
  EXPECT_THAT(build_error("prefix_affinity", "{type: prefix_affinity, balance_margin: -1}"),
              HasSubstr("balance_margin must be between 0 and 1000"));
  EXPECT_THAT(build_error("prefix_affinity", "{type: prefix_affinity, cache_blocks: lots}"),
              HasSubstr("b.yaml:1:39: prefix_affinity.cache_blocks must be an integer"));
  EXPECT_THAT(build_error("p2c", "{type: p2c, seed: [1]}"), HasSubstr("seed must be an integer"));
}

TEST(BalancerRegistry, HasEveryBalancerOfTheIssue) {
  auto names = BalancerRegistry::instance().names();
  for (const char* n :
       {"round_robin", "random", "least_outstanding", "p2c", "prefix_affinity", "lora_affinity"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}
