// The dual-ascent price update of the capacity controller (pipeline/capacity_controller.h).
#include "pipeline/capacity_controller.h"

#include <gtest/gtest.h>

#include "config/config.h"

using namespace switchboard;

namespace {

std::shared_ptr<const config::Config> config_with(const std::string& control) {
  const std::string yaml = R"(models:
  - name: a
    capacity: {rps: 10}
    replicas: [{url: "http://127.0.0.1:9"}]
  - name: b
    replicas: [{url: "http://127.0.0.1:9"}]
  - name: c
    capacity: {concurrent: 2}
    replicas: [{url: "http://127.0.0.1:9"}]
routes:
  - name: r
    budget: {usd_per_hour: 36}
    policy: {type: static, model: a}
)" + control;
  auto cfg = config::parse_config(yaml, "t.yaml");
  EXPECT_TRUE(cfg.ok()) << (cfg.ok() ? "" : cfg.error().message);
  return *cfg;
}

}  // namespace

TEST(CapacityController, PriceRisesOverCapacityAndDecaysUnder) {
  auto cfg = config_with("control: {price_step: 0.1, smoothing: 1, max_price: 0.5}\n");
  pipeline::CapacityController c(*cfg);
  EXPECT_FALSE(c.empty());
  EXPECT_TRUE(c.active_for("anything"));  // a model has a capacity
  // 20 requests in 1 s against 10 rps: +0.1 × (20/10 − 1) = +0.1 per step.
  for (int step = 1; step <= 3; ++step) {
    for (int i = 0; i < 20; ++i) c.on_start("a"), c.on_finish("a", "r", 10, 0);
    c.step(1.0, step);
    EXPECT_NEAR(c.model_price("a"), 0.1 * step, 1e-12);
  }
  // 5 requests per second: −0.05 per step, floored at 0.
  for (int step = 0; step < 10; ++step) {
    for (int i = 0; i < 5; ++i) c.on_start("a"), c.on_finish("a", "r", 10, 0);
    c.step(1.0, 10 + step);
  }
  EXPECT_EQ(c.model_price("a"), 0);
  // Far over capacity: capped at max_price.
  for (int step = 0; step < 10; ++step) {
    for (int i = 0; i < 200; ++i) c.on_start("a"), c.on_finish("a", "r", 10, 0);
    c.step(1.0, 30 + step);
  }
  EXPECT_DOUBLE_EQ(c.model_price("a"), 0.5);
  EXPECT_EQ(c.model_price("b"), 0);  // no capacity
  EXPECT_EQ(c.model_price("unknown"), 0);
}

TEST(CapacityController, ConcurrentCapacityReadsRequestsInFlight) {
  auto cfg = config_with("control: {price_step: 0.1, smoothing: 1}\n");
  pipeline::CapacityController c(*cfg);
  for (int i = 0; i < 4; ++i) c.on_start("c");  // 4 in flight against 2
  c.step(0.5, 1);
  EXPECT_NEAR(c.model_price("c"), 0.1, 1e-12);
  for (int i = 0; i < 4; ++i) c.on_finish("c", "r", 1, 0);
  c.step(0.5, 2);
  EXPECT_NEAR(c.model_price("c"), 0.0, 1e-12);  // 0 in flight: −0.1
}

TEST(CapacityController, AMultiCallPlanCountsEveryCallOnItsModel) {
  auto cfg = config_with("control: {price_step: 0.1, smoothing: 1}\n");
  pipeline::CapacityController c(*cfg);
  // 20 cascades a second start on b and escalate to a: 20 calls a second against a's 10 rps.
  for (int i = 0; i < 20; ++i) {
    c.on_start("b");
    c.on_finish_calls("b", "r", {{"b", 30}, {"a", 50}}, 0.01);
  }
  c.step(1.0, 1);
  EXPECT_NEAR(c.model_price("a"), 0.1, 1e-12);  // +0.1 × (20/10 − 1)
  // The same on a concurrency cap: in flight is the first model's, settled by on_finish_calls.
  for (int i = 0; i < 4; ++i) c.on_start("c");
  for (int i = 0; i < 4; ++i) c.on_finish_calls("c", "r", {{"c", 5}, {"b", 5}}, 0);
  c.step(1.0, 2);
  EXPECT_EQ(c.model_price("c"), 0);  // nothing left in flight
}

TEST(CapacityController, BudgetLambdaTracksSpendRate) {
  auto cfg = config_with("control: {lambda_step: 10, smoothing: 1}\n");
  pipeline::CapacityController c(*cfg);
  // $36/hour = $0.01/s. Spending $0.02 in 1 s is 100% over: +10.
  c.on_finish("a", "r", 0, 0.02);
  c.step(1.0, 1);
  EXPECT_NEAR(c.route_lambda("r"), 10, 1e-9);
  c.on_finish("a", "r", 0, 0.015);  // 50% over: +5
  c.step(1.0, 2);
  EXPECT_NEAR(c.route_lambda("r"), 15, 1e-9);
  c.step(1.0, 3);  // nothing spent: −10
  EXPECT_NEAR(c.route_lambda("r"), 5, 1e-9);
  c.step(1.0, 4);
  EXPECT_EQ(c.route_lambda("r"), 0);  // floored at 0
  c.on_finish("a", "other", 0, 5);    // spend of a route without a budget is not counted
  c.step(1.0, 5);
  EXPECT_EQ(c.route_lambda("r"), 0);
  auto j = c.to_json();
  EXPECT_EQ(j["history"].size(), 5u);
  EXPECT_NEAR(j["history"][0]["lambdas"]["r"].get<double>(), 10, 1e-9);
}

// A burst far over the budget moves λ one step an interval, no more: it rose by 12 steps an
// interval at 13× the budget and fell by one, starving the route for a minute after 3 s.
TEST(CapacityController, ABurstWindsLambdaUpNoFasterThanItUnwinds) {
  auto cfg = config_with("control: {lambda_step: 10, price_step: 0.1, smoothing: 1}\n");
  pipeline::CapacityController c(*cfg);
  for (int s = 1; s <= 3; ++s) {
    c.on_finish("a", "r", 0, 0.13);  // 13× $0.01/s
    for (int i = 0; i < 130; ++i) c.on_start("a"), c.on_finish("a", "r", 0, 0);  // 13× 10 rps
    c.step(1.0, s);
  }
  EXPECT_NEAR(c.route_lambda("r"), 30, 1e-9);
  EXPECT_NEAR(c.model_price("a"), 0.3, 1e-9);
  for (int s = 4; s <= 6; ++s) c.step(1.0, s);  // nothing at all: as many steps down
  EXPECT_EQ(c.route_lambda("r"), 0);
  EXPECT_NEAR(c.model_price("a"), 0, 1e-12);
}

TEST(CapacityController, SmoothingAveragesLoad) {
  auto cfg = config_with("control: {price_step: 0.1, smoothing: 0.5}\n");
  pipeline::CapacityController c(*cfg);
  for (int i = 0; i < 10; ++i) c.on_start("a");
  c.step(1.0, 1);  // first load taken as measured: 10 = capacity, price stays 0
  EXPECT_EQ(c.model_price("a"), 0);
  for (int i = 0; i < 30; ++i) c.on_start("a");
  c.step(1.0, 2);  // load 0.5·30 + 0.5·10 = 20: +0.1
  EXPECT_NEAR(c.models()[0].load, 20, 1e-12);
  EXPECT_NEAR(c.model_price("a"), 0.1, 1e-12);
}

TEST(CapacityController, HistoryIsBounded) {
  auto cfg = config_with("control: {history: 3}\n");
  pipeline::CapacityController c(*cfg);
  for (int i = 0; i < 10; ++i) c.step(1.0, i);
  EXPECT_EQ(c.to_json()["history"].size(), 3u);
}

TEST(CapacityController, ConfigErrors) {
  auto bad = [](const std::string& yaml) {
    auto cfg = config::parse_config(yaml, "t.yaml");
    return cfg.ok() ? std::string() : cfg.error().message;
  };
  EXPECT_NE(bad("models: [{name: a, capacity: {rps: 0}, replicas: [{url: 'http://x:1'}]}]")
                .find("must be > 0"),
            std::string::npos);
  EXPECT_NE(
      bad("models: [{name: a, capacity: {rps: 1, concurrent: 2}, replicas: [{url: 'http://x:1'}]}]")
          .find("exactly one"),
      std::string::npos);
  EXPECT_NE(bad("models: [{name: a, capacity: {qps: 1}, replicas: [{url: 'http://x:1'}]}]")
                .find("unknown key"),
            std::string::npos);
  EXPECT_NE(bad("models: [{name: a, replicas: [{url: 'http://x:1'}]}]\nroutes: [{name: r, budget: "
                "{usd_per_hour: -1}, "
                "policy: {type: static, model: a}}]")
                .find("budget.usd_per_hour"),
            std::string::npos);
  EXPECT_NE(bad("models: [{name: a, replicas: [{url: 'http://x:1'}]}]\ncontrol: {smoothing: 2}")
                .find("smoothing"),
            std::string::npos);
  EXPECT_NE(bad("models: [{name: a, capacity: {concurrent: 0.5}, replicas: [{url: 'http://x:1'}]}]")
                .find("capacity.concurrent must be a whole number"),
            std::string::npos);
}

TEST(CapacityController, ReloadCarriesPricesAndLambdaOver) {
  auto cfg = config_with("control: {price_step: 0.1, lambda_step: 1, smoothing: 1}\n");
  pipeline::CapacityController old(*cfg);
  for (int step = 1; step <= 3; ++step) {
    for (int i = 0; i < 20; ++i) old.on_start("a"), old.on_finish("a", "r", 10, 0.02);
    old.step(1.0, step);
  }
  ASSERT_GT(old.model_price("a"), 0.2);
  ASSERT_GT(old.route_lambda("r"), 0);
  // The same config: prices, λ and history carry over; a fresh controller starts at 0.
  pipeline::CapacityController fresh(*cfg);
  EXPECT_EQ(fresh.model_price("a"), 0);
  EXPECT_EQ(fresh.carry_over(old), 3u);  // a and c (seen by a step), route r
  EXPECT_DOUBLE_EQ(fresh.model_price("a"), old.model_price("a"));
  EXPECT_DOUBLE_EQ(fresh.route_lambda("r"), old.route_lambda("r"));
  EXPECT_EQ(fresh.to_json()["history"].size(), old.to_json()["history"].size());
  // The next step goes on from the carried price (smoothed load carried too): under capacity now,
  // the price decays from where it was rather than from 0.
  const double before = fresh.model_price("a");
  for (int i = 0; i < 5; ++i) fresh.on_start("a"), fresh.on_finish("a", "r", 10, 0);
  fresh.step(1.0, 4);
  EXPECT_NEAR(fresh.model_price("a"), before - 0.05, 1e-12);
  // Another config (model a without capacity, c renamed away): only what both control carries.
  auto other = config::parse_config(R"(models:
  - name: a
    replicas: [{url: "http://127.0.0.1:9"}]
  - name: c
    capacity: {concurrent: 2}
    replicas: [{url: "http://127.0.0.1:9"}]
routes:
  - name: r2
    budget: {usd_per_hour: 1}
    policy: {type: static, model: a}
)",
                                    "u.yaml");
  ASSERT_TRUE(other.ok());
  pipeline::CapacityController changed(**other);
  EXPECT_EQ(changed.carry_over(old), 1u);  // c only
  EXPECT_EQ(changed.model_price("a"), 0);
  EXPECT_EQ(changed.route_lambda("r2"), 0);
  EXPECT_TRUE(changed.to_json()["history"].empty());
  // Model a's capacity in another unit: its load (20 req/s) would read as 20 tokens/s.
  auto tokens = config::parse_config(R"(models:
  - name: a
    capacity: {tokens_per_s: 1000}
    replicas: [{url: "http://127.0.0.1:9"}]
routes:
  - name: r
    budget: {usd_per_hour: 36}
    policy: {type: static, model: a}
)",
                                     "t.yaml");
  ASSERT_TRUE(tokens.ok());
  pipeline::CapacityController retyped(**tokens);
  EXPECT_EQ(retyped.carry_over(old), 1u);  // route r only
  EXPECT_EQ(retyped.model_price("a"), 0);
  EXPECT_EQ(retyped.to_json()["models"][0]["load"], 0);
  EXPECT_TRUE(retyped.to_json()["history"].empty());
  EXPECT_EQ(retyped.model_names(), std::vector<std::string>{"a:tokens_per_s"});
}

namespace {
// A fleet of gateways as a test double: adds the other gateways' figures to this one's and keeps
// what it was given; `reachable` false answers like an unreachable Redis.
struct FakeFleet final : pipeline::CapacityFleet {
  Measures others;
  bool reachable = true;
  std::vector<Measures> published;
  std::optional<Measures> exchange(const Measures& local, std::int64_t) override {
    published.push_back(local);
    if (!reachable) return std::nullopt;
    Measures sum = local;
    for (std::size_t i = 0; i < sum.models.size(); ++i) sum.models[i] += others.models[i];
    for (std::size_t i = 0; i < sum.routes.size(); ++i) sum.routes[i] += others.routes[i];
    sum.gateways = 2;
    return sum;
  }
};
}  // namespace

// Shared through a fleet, the controller publishes its own measured figures and steps on the
// fleet's sums: a gateway exactly at a capacity alone still raises the price when another gateway
// loads the same model; unreachable, it steps on its own figures.
TEST(CapacityController, StepsOnTheFleetsSumsWhenShared) {
  auto cfg = config_with("control: {price_step: 0.1, lambda_step: 10, smoothing: 1}\n");
  pipeline::CapacityController c(*cfg);
  auto fleet = std::make_unique<FakeFleet>();
  FakeFleet* f = fleet.get();
  EXPECT_EQ(c.model_names(), (std::vector<std::string>{"a:rps", "c:concurrent"}));
  EXPECT_EQ(c.route_names(), (std::vector<std::string>{"r"}));
  f->others.models = {10, 0};   // another gateway sends `a` 10 rps
  f->others.routes = {36};      // and spends the route's whole budget
  c.share(std::move(fleet));
  // This gateway: 10 requests in 1 s to `a` (its capacity) and $0.01 (its budget rate).
  for (int i = 0; i < 10; ++i) c.on_start("a"), c.on_finish("a", "r", 10, 0.001);
  c.step(1.0, 1);
  ASSERT_EQ(f->published.size(), 1u);
  EXPECT_DOUBLE_EQ(f->published[0].models[0], 10);  // its own figures
  EXPECT_NEAR(f->published[0].routes[0], 36, 1e-9);
  EXPECT_NEAR(c.model_price("a"), 0.1, 1e-12);   // 20 rps against 10: +0.1
  EXPECT_NEAR(c.route_lambda("r"), 10, 1e-9);    // $72/h against $36/h: +10
  auto j = c.to_json();
  EXPECT_EQ(j["shared"], true);
  EXPECT_EQ(j["gateways"], 2);
  EXPECT_DOUBLE_EQ(j["models"][0]["load"].get<double>(), 20);
  // Unreachable: its own 10 rps, exactly the capacity — the price stays.
  f->reachable = false;
  for (int i = 0; i < 10; ++i) c.on_start("a"), c.on_finish("a", "r", 10, 0.001);
  c.step(1.0, 2);
  EXPECT_NEAR(c.model_price("a"), 0.1, 1e-12);
  EXPECT_NEAR(c.route_lambda("r"), 10, 1e-9);
  EXPECT_EQ(c.to_json()["gateways"], 1);
}
