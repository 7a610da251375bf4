// Passive outlier ejection, the healthy-candidate filter, the retry budget and the /metrics parser.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "config/config.h"
#include "pool/health.h"
#include "pool/prom_text.h"
#include "pool/retry_budget.h"

using namespace switchboard;

namespace {

struct Pool {
  explicit Pool(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      owned.push_back(std::make_unique<Replica>());
      owned.back()->ordinal = static_cast<std::uint32_t>(i);
      ptrs.push_back(owned.back().get());
    }
  }
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> ptrs;
};

}  // namespace

TEST(OutlierEjection, EjectsAfterConsecutiveFailuresWithExponentialBackoff) {
  Pool p(1);
  Replica& r = *p.ptrs[0];
  pool::OutlierPolicy policy{3, 100, 350};
  std::int64_t now = 1'000'000;
  EXPECT_EQ(pool::record_failure(r, policy, now), 0);
  EXPECT_EQ(pool::record_failure(r, policy, now), 0);
  EXPECT_TRUE(pool::available(r, now));
  EXPECT_EQ(pool::record_failure(r, policy, now), 100);  // third in a row: ejected for base
  EXPECT_FALSE(pool::available(r, now + 99));
  EXPECT_TRUE(pool::available(r, now + 100));
  // Failures while ejected (requests already in flight) do not extend the ejection.
  EXPECT_EQ(pool::record_failure(r, policy, now + 50), 0);
  EXPECT_FALSE(pool::available(r, now + 99));
  // The probe after the ejection fails: ejected again, twice as long, then capped at max.
  EXPECT_EQ(pool::record_failure(r, policy, now + 100), 200);
  EXPECT_EQ(pool::record_failure(r, policy, now + 300), 350);
  EXPECT_EQ(pool::record_failure(r, policy, now + 650), 350);
  // One success resets everything: the next ejection is short again and needs 3 failures.
  pool::record_success(r, now + 650);
  EXPECT_EQ(pool::record_failure(r, policy, now + 1000), 0);
  EXPECT_EQ(pool::record_failure(r, policy, now + 1000), 0);
  EXPECT_EQ(pool::record_failure(r, policy, now + 1000), 100);
}

// A stream that ends well long after it was sent (its head came before the replica began to fail)
// says nothing of the replica now: the backoff other requests' failures built up stays.
TEST(OutlierEjection, ASuccessSentBeforeTheLastFailureResetsNothing) {
  Pool p(1);
  Replica& r = *p.ptrs[0];
  pool::OutlierPolicy policy{2, 100, 10000};
  const std::int64_t sent = 1'000;
  for (std::int64_t t : {2'000, 2'000, 2'100}) pool::record_failure(r, policy, t);
  ASSERT_EQ(r.health.ejections.load(), 2);  // ejected twice meanwhile
  pool::record_success(r, sent);            // the old stream ends well
  EXPECT_EQ(r.health.ejections.load(), 2);
  EXPECT_EQ(r.health.consecutive_failures.load(), 3);
  EXPECT_EQ(pool::record_failure(r, policy, 2'300), 400);  // the backoff goes on doubling
  pool::record_success(r, 2'600);  // a probe sent after the last failure
  EXPECT_EQ(r.health.ejections.load(), 0);
  EXPECT_EQ(r.health.consecutive_failures.load(), 0);
}

// A few poison requests failing on every replica must not eject the whole model: at most
// max(1, max_ejection_percent % of its replicas) at once; the others keep counting their failures
// and are ejected once one returns.
TEST(OutlierEjection, NoMoreThanMaxEjectionPercentOfTheModel) {
  Pool p(4);
  pool::OutlierPolicy policy{1, 1000, 1000, 50};
  const std::int64_t now = 10'000;
  EXPECT_EQ(pool::record_failure(*p.ptrs[0], policy, now, p.ptrs), 1000);
  EXPECT_EQ(pool::record_failure(*p.ptrs[1], policy, now, p.ptrs), 1000);  // 2 of 4 = 50%
  EXPECT_EQ(pool::record_failure(*p.ptrs[2], policy, now, p.ptrs), 0);     // a third: no
  EXPECT_TRUE(pool::available(*p.ptrs[2], now));
  EXPECT_EQ(p.ptrs[2]->health.consecutive_failures.load(), 1);
  // The first two return: the third's next failure ejects it.
  EXPECT_EQ(pool::record_failure(*p.ptrs[2], policy, now + 1000, p.ptrs), 1000);
  // One replica, or a share below one replica: one may always be ejected.
  Pool one(1);
  EXPECT_EQ(pool::record_failure(*one.ptrs[0], policy, now, one.ptrs), 1000);
  Pool three(3);
  pool::OutlierPolicy ten{1, 1000, 1000, 10};
  EXPECT_EQ(pool::record_failure(*three.ptrs[0], ten, now, three.ptrs), 1000);
  EXPECT_EQ(pool::record_failure(*three.ptrs[1], ten, now, three.ptrs), 0);
}

TEST(OutlierEjection, ZeroConsecutiveFailuresNeverEjects) {
  Pool p(1);
  pool::OutlierPolicy off{0, 100, 100};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(pool::record_failure(*p.ptrs[0], off, 5), 0);
  EXPECT_TRUE(pool::available(*p.ptrs[0], 5));
}

TEST(OutlierEjection, BackoffDoublesUpToTheCap) {
  pool::OutlierPolicy policy{1, 1000, 30000};
  EXPECT_EQ(pool::ejection_ms(policy, 1), 1000);
  EXPECT_EQ(pool::ejection_ms(policy, 2), 2000);
  EXPECT_EQ(pool::ejection_ms(policy, 5), 16000);
  EXPECT_EQ(pool::ejection_ms(policy, 6), 30000);
  EXPECT_EQ(pool::ejection_ms(policy, 60), 30000);
}

TEST(HealthyCandidates, SkipsEjectedDownAndTriedReplicas) {
  Pool p(5);
  const std::int64_t now = 10'000;
  p.ptrs[1]->health.ejected_until_ms = now + 1;  // ejected
  p.ptrs[2]->health.down = true;                 // failed its health check
  p.ptrs[3]->health.ejected_until_ms = now;      // ejection just ended
  pool::CandidateBuffer buf;
  std::vector<const Replica*> tried{p.ptrs[0]};
  auto c = pool::healthy_candidates(p.ptrs, tried, now, buf);
  ASSERT_EQ(c.replicas.size(), 2u);
  EXPECT_EQ(c.replicas[0], p.ptrs[3]);
  EXPECT_EQ(c.replicas[1], p.ptrs[4]);
  EXPECT_EQ(c.unavailable, 2u);
  auto rest = pool::untried(p.ptrs, tried, buf);
  EXPECT_EQ(rest.size(), 4u);
}

TEST(HealthyCandidates, WorksPastTheInlineBuffer) {
  Pool p(100);
  for (int i = 0; i < 100; i += 2) p.ptrs[i]->health.down = true;
  pool::CandidateBuffer buf;
  auto c = pool::healthy_candidates(p.ptrs, {}, 0, buf);
  EXPECT_EQ(c.replicas.size(), 50u);
  EXPECT_EQ(c.unavailable, 50u);
  for (Replica* r : c.replicas) EXPECT_EQ(r->ordinal % 2, 1u);
}

TEST(RetryBudget, AllowsTheLargerOfPercentAndMinimum) {
  pool::RetryBudget b(20, 2);
  EXPECT_EQ(b.limit(0), 2);
  EXPECT_EQ(b.limit(100), 20);
  auto t1 = b.try_acquire(1);
  auto t2 = b.try_acquire(1);
  auto t3 = b.try_acquire(1);
  EXPECT_TRUE(t1);
  EXPECT_TRUE(t2);
  EXPECT_FALSE(t3);
  EXPECT_EQ(b.exhausted(), 1u);
  EXPECT_EQ(b.in_progress(), 2);
  { auto moved = std::move(t1); }  // a finished retry returns its slot
  EXPECT_EQ(b.in_progress(), 1);
  EXPECT_TRUE(b.try_acquire(1));
  // 20 % of 50 active requests: 10 concurrent retries.
  std::vector<pool::RetryBudget::Token> held;
  for (int i = 0; i < 20; ++i) {
    auto t = b.try_acquire(50);
    if (t) held.push_back(std::move(t));
  }
  EXPECT_EQ(b.in_progress(), 10);
}

TEST(RetryBudget, ZeroBudgetAllowsNoRetry) {
  pool::RetryBudget b(0, 0);
  EXPECT_FALSE(b.try_acquire(1000));
  EXPECT_EQ(b.exhausted(), 1u);
}

TEST(PromText, ReadsVllmGaugesAndSumsSeries) {
  auto g = pool::parse_vllm_gauges(
      "# HELP vllm:num_requests_running Number of requests currently running on GPU.\n"
      "# TYPE vllm:num_requests_running gauge\n"
      "vllm:num_requests_running{model_name=\"a b\"} 3.0\n"
      "vllm:num_requests_running{model_name=\"c\"} 2\n"
      "vllm:num_requests_waiting{model_name=\"a b\"} 7.0 1700000000000\r\n"
      "vllm:gpu_cache_usage_perc{model_name=\"a b\"} 0.25\n"
      "vllm:num_requests_swapped 4\n"
      "vllm:num_requests_waiting_total 99\n");
  ASSERT_TRUE(g.running && g.waiting && g.kv_usage);
  EXPECT_DOUBLE_EQ(*g.running, 5);
  EXPECT_DOUBLE_EQ(*g.waiting, 7);
  EXPECT_DOUBLE_EQ(*g.kv_usage, 0.25);
}

TEST(PromText, V1CacheGaugeAndGarbage) {
  auto g = pool::parse_vllm_gauges(
      "vllm:kv_cache_usage_perc 0.5\nvllm:num_requests_running{\nvllm:num_requests_waiting "
      "abc\n{}\n\n");
  EXPECT_FALSE(g.running);
  EXPECT_FALSE(g.waiting);
  ASSERT_TRUE(g.kv_usage);
  EXPECT_DOUBLE_EQ(*g.kv_usage, 0.5);
  EXPECT_FALSE(pool::parse_vllm_gauges("").running);
}

TEST(PoolConfig, ParsesPoolKeys) {
  auto cfg = config::parse_config(R"(models:
  - name: m
    adapters: [sql-lora]
    outlier_ejection: {consecutive_failures: 2, base_ejection_ms: 50, max_ejection_ms: 400, max_ejection_percent: 34}
    retry: {max_attempts: 4, budget_percent: 10, min_retries: 1}
    hedge: {after_ms: 300}
    health_check: {path: /health, interval_ms: 200, timeout_ms: 100, unhealthy_after: 3, healthy_after: 2}
    load_metrics: {interval_ms: 250}
    replicas: [{url: "http://127.0.0.1:1", adapters: [chat-lora]}]
)",
                                  "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const auto& p = (*cfg)->models[0].pool;
  EXPECT_EQ(p.outlier.consecutive_failures, 2);
  EXPECT_EQ(p.outlier.base_ejection.count(), 50);
  EXPECT_EQ(p.outlier.max_ejection.count(), 400);
  EXPECT_EQ(p.outlier.max_ejection_percent, 34);
  EXPECT_EQ(p.retry.max_attempts, 4);
  EXPECT_DOUBLE_EQ(p.retry.budget_percent, 10);
  EXPECT_EQ(p.retry.min_retries, 1);
  EXPECT_TRUE(p.hedge.enabled);
  EXPECT_EQ(p.hedge.after.count(), 300);
  EXPECT_TRUE(p.health_check.enabled);
  EXPECT_EQ(p.health_check.unhealthy_after, 3);
  EXPECT_EQ(p.health_check.healthy_after, 2);
  EXPECT_TRUE(p.load_metrics.enabled);
  EXPECT_EQ(p.load_metrics.path, "/metrics");
  EXPECT_EQ(p.load_metrics.timeout.count(), 125);
  EXPECT_EQ(p.adapters, (std::vector<std::string>{"sql-lora", "chat-lora"}));
  EXPECT_EQ((*cfg)->find_adapter_model("chat-lora"), &(*cfg)->models[0]);
  EXPECT_EQ((*cfg)->find_adapter_model("m"), nullptr);
}

TEST(PoolConfig, DefaultsAndErrors) {
  auto cfg =
      config::parse_config("models: [{name: m, replicas: [{url: 'http://h:1'}]}]\n", "t.yaml");
  ASSERT_TRUE(cfg.ok());
  const auto& p = (*cfg)->models[0].pool;
  EXPECT_EQ(p.retry.max_attempts, 3);
  EXPECT_EQ(p.outlier.consecutive_failures, 5);
  EXPECT_EQ(p.outlier.max_ejection_percent, 100);
  EXPECT_FALSE(p.hedge.enabled);
  EXPECT_FALSE(p.health_check.enabled);
  EXPECT_FALSE(p.load_metrics.enabled);
  auto err = [](const std::string& y) {
    auto c = config::parse_config(y, "t.yaml");
    return c.ok() ? std::string() : c.error().message;
  };
  EXPECT_NE(err("models: [{name: m, retry: {tries: 2}, replicas: [{url: 'http://h:1'}]}]")
                .find("t.yaml:1:"),
            std::string::npos);
  EXPECT_NE(err("models: [{name: m, outlier_ejection: {max_ejection_percent: 101}, "
                "replicas: [{url: 'http://h:1'}]}]")
                .find("max_ejection_percent must be in [0, 100]"),
            std::string::npos);
  EXPECT_NE(
      err("models: [{name: m, hedge: {after_ms: 5, max: 2}, replicas: [{url: 'http://h:1'}]}]")
          .find("max must be 1"),
      std::string::npos);
  EXPECT_NE(err("models: [{name: m, outlier_ejection: {base_ejection_ms: 10, max_ejection_ms: 5}, "
                "replicas: [{url: 'http://h:1'}]}]")
                .find("max_ejection_ms"),
            std::string::npos);
  // An adapter may not take a model's name.
  EXPECT_NE(err("models: [{name: m, replicas: [{url: 'http://h:1'}]}, "
                "{name: n, adapters: [m], replicas: [{url: 'http://h:2'}]}]")
                .find("adapter name 'm'"),
            std::string::npos);
}
