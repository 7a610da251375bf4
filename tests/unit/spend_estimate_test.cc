// Budget estimates before an answer (pipeline/spend_estimate.h): the completion length assumed
// when a request sets no max_tokens, and what a request reserves at admission and once routed.
#include "pipeline/spend_estimate.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace switchboard::pipeline {
namespace {

constexpr const char* kConfig = R"(
models:
  - name: cheap
    price: {input_per_mtok: 1, output_per_mtok: 2}
    replicas: [{url: "http://127.0.0.1:1"}]
  - name: dear
    price: {input_per_mtok: 10, output_per_mtok: 30}
    replicas: [{url: "http://127.0.0.1:2"}]
routes:
  - name: auto
    policy: {type: static, model: cheap}
)";

std::shared_ptr<const config::Config> parsed() {
  auto c = config::parse_config(kConfig, "spend_estimate_test.yaml");
  EXPECT_TRUE(c) << c.error().message;
  return *c;
}

// Before a model's first answer a long answer is reserved (it was 0: a burst after a start all
// passed a nearly spent budget); the first answer sets the mean.
TEST(CompletionMeans, FirstAnswerSetsTheMeanLaterOnesMoveItBySixteenths) {
  constexpr auto kCold = CompletionMeans::kBeforeFirstAnswer;
  auto config = parsed();
  CompletionMeans means(*config);
  EXPECT_EQ(means.mean("cheap"), kCold);
  means.observe("cheap", 160);
  EXPECT_EQ(means.mean("cheap"), 160);
  means.observe("cheap", 320);
  EXPECT_EQ(means.mean("cheap"), 170);  // 160 + (320 - 160) / 16
  means.observe("cheap", 0);            // nothing to learn from
  means.observe("cheap", -5);
  means.observe("nope", 1000);          // not a configured model
  EXPECT_EQ(means.mean("cheap"), 170);
  EXPECT_EQ(means.mean("dear"), kCold);
  EXPECT_EQ(means.mean("nope"), kCold);
}

TEST(CompletionMeans, ContinuedAcrossAReloadForTheModelsKept) {
  auto config = parsed();
  constexpr auto kCold = CompletionMeans::kBeforeFirstAnswer;
  auto before = CompletionMeans::continued(*config);
  EXPECT_EQ(before->mean("cheap"), kCold);
  before->observe("cheap", 160);
  before->observe("dear", 300);
  auto renamed = config::parse_config(R"(
models:
  - name: cheap
    replicas: [{url: "http://127.0.0.1:1"}]
  - name: other
    replicas: [{url: "http://127.0.0.1:2"}]
)",
                                      "reloaded.yaml");
  ASSERT_TRUE(renamed) << renamed.error().message;
  auto after = CompletionMeans::continued(**renamed);
  EXPECT_EQ(after->mean("cheap"), 160);  // kept
  EXPECT_EQ(after->mean("other"), kCold);  // new
  EXPECT_EQ(after->mean("dear"), kCold);   // gone with its model
  // One mean per model: what the old runtime's last answers add still counts.
  before->observe("cheap", 320);
  EXPECT_EQ(after->mean("cheap"), 170);
  // A reload that fails (its instance dropped) changes nothing.
  CompletionMeans::continued(*config).reset();
  EXPECT_EQ(CompletionMeans::continued(**renamed)->mean("cheap"), 170);
}

// A request of the `auto` route at admission: config, means, the routes' models seen, a runtime.
struct Admission {
  std::shared_ptr<const config::Config> config = parsed();
  CompletionMeans means{*config};
  RouteModels routes{*config};
  Runtime runtime;
  RouteRuntime route;
  Admission() {
    runtime.config = config;
    route.config = &config->routes[0];
  }
};

TEST(SpendEstimate, AdmissionCountsTheNamedModelOrARoutesDearestAtMaxTokensOrTheMean) {
  Admission a;
  auto& [config, means, routes, runtime, route] = a;
  RequestContext ctx;
  ctx.runtime = &runtime;
  ctx.signals.prompt_tokens = 1000;
  ctx.req.model = "cheap";
  ctx.req.max_tokens = 500;
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes), (1000 * 1 + 500 * 2) / 1e6);
  ctx.req.choices = 3;  // `n`: three answers of up to max_tokens each, one prompt
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes), (1000 * 1 + 3 * 500 * 2) / 1e6);
  ctx.req.choices = 1;
  ctx.route = &route;  // a policy that does not say, before its first decision: any model
  ctx.req.model = "auto";
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes), (1000 * 10 + 500 * 30) / 1e6);
  // Without max_tokens: a long answer until the models have answered, then their means.
  ctx.req.max_tokens.reset();
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes),
                   (1000 * 10 + CompletionMeans::kBeforeFirstAnswer * 30) / 1e6);
  means.observe("dear", 200);
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes), (1000 * 10 + 200 * 30) / 1e6);
  // Once the route has decided — its candidates and plan name only the cheap model — the
  // admission estimate is the cheap model's.
  ctx.req.max_tokens = 500;
  ctx.decision.emplace();
  ctx.decision->plan.model = "cheap";
  Candidate c;
  c.model = "cheap";
  ctx.rec.candidates.push_back(c);
  routes.saw(ctx);
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes), (1000 * 1 + 500 * 2) / 1e6);
  // A fallback to the dear model widens it again.
  ctx.decision->plan.fallbacks = {"dear"};
  routes.saw(ctx);
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes), (1000 * 10 + 500 * 30) / 1e6);
}

TEST(SpendEstimate, ARouteWhosePolicySaysItsModelsReservesForTheDearestOfThemFromTheStart) {
  Admission a;
  auto& [config, means, routes, runtime, route] = a;
  route.models = {config->find_model("cheap")};  // Policy::models() of `static: cheap`
  RequestContext ctx;
  ctx.runtime = &runtime;
  ctx.route = &route;
  ctx.signals.prompt_tokens = 1000;
  ctx.req.model = "auto";
  ctx.req.max_tokens = 500;
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes), (1000 * 1 + 500 * 2) / 1e6);
  route.models.push_back(config->find_model("dear"));
  EXPECT_DOUBLE_EQ(admission_spend_estimate(ctx, means, routes), (1000 * 10 + 500 * 30) / 1e6);
}

TEST(SpendEstimate, OnceRoutedThePlansModelsAtTheirPriceOrTheirPrediction) {
  auto config = parsed();
  CompletionMeans means(*config);
  means.observe("cheap", 100);
  Runtime runtime;
  runtime.config = config;
  RequestContext ctx;
  ctx.runtime = &runtime;
  ctx.signals.prompt_tokens = 1000;
  EXPECT_DOUBLE_EQ(plan_spend_estimate(ctx, means), 0);  // no decision yet
  ctx.decision.emplace();
  ctx.decision->plan.model = "cheap";
  EXPECT_DOUBLE_EQ(plan_spend_estimate(ctx, means), (1000 * 1 + 100 * 2) / 1e6);
  Candidate c;
  c.model = "cheap";
  c.predicted_cost = 0.5;  // the policy predicts more: the larger counts
  ctx.rec.candidates.push_back(c);
  EXPECT_DOUBLE_EQ(plan_spend_estimate(ctx, means), 0.5);
}

TEST(SpendEstimate, APlanMayMakeEachDistinctModelsCallAndItsAggregatorsAtMostMaxCalls) {
  RequestContext ctx;
  EXPECT_EQ(plan_calls_at_most(ctx), 1);  // before a decision
  ctx.decision.emplace();
  ctx.decision->plan.model = "cheap";
  ctx.decision->plan.fallbacks = {"dear"};
  EXPECT_EQ(plan_calls_at_most(ctx), 1);  // a fallback answers instead, not besides
  Plan& p = ctx.decision->plan;
  p.kind = "cascade";
  p.tiers.resize(2);
  p.tiers[0].models = {"a", "b"};
  p.tiers[1].models = {"a", "c"};  // a's answer is reused, not asked again
  EXPECT_EQ(plan_calls_at_most(ctx), 3);
  p.aggregate.model = "synth";
  EXPECT_EQ(plan_calls_at_most(ctx), 4);
  p.bounds.max_calls = 2;
  EXPECT_EQ(plan_calls_at_most(ctx), 2);
}

}  // namespace
}  // namespace switchboard::pipeline
