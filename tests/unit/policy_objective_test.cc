// The shared objective of the learned policies: λ resolution, constraints, ordering, ties.
#include <gtest/gtest.h>

#include <limits>

#include "config/config.h"
#include "policies/objective.h"

namespace switchboard::policies {
namespace {

ObjectiveSettings settings() {
  ObjectiveSettings s;
  s.models = {"big", "mid", "cheap"};
  s.context_windows = {128000, 32000, 4000};
  s.objectives = Objectives{0, 100, 1e6};
  return s;
}

std::vector<std::string> s_models() { return settings().models; }

// big: 0.9 for $0.01, mid: 0.8 for $0.002, cheap: 0.5 for $0.0001.
std::vector<ModelPrediction> preds() {
  return {{0.9, 0.01}, {0.8, 0.002}, {0.5, 0.0001}};
}

TEST(PolicyObjective, LambdaZeroPicksBestQuality) {
  Objective o(settings());
  RouteRequest r;
  r.lambda = 0;
  auto d = o.decide("knn", preds(), r);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->plan.model, "big");
  EXPECT_EQ(d->policy, "knn");
  EXPECT_EQ(d->plan.fallbacks, (std::vector<std::string>{"mid", "cheap"}));
  ASSERT_EQ(d->candidates.size(), 3u);
  EXPECT_DOUBLE_EQ(*d->candidates[1].utility, 0.8);
  EXPECT_NE(d->reason.find("lambda 0 from request"), std::string::npos) << d->reason;
}

TEST(PolicyObjective, ANaNUtilityRanksLast) {
  // A NaN prediction (an input that overflowed) compared as no number does and could come first.
  Objective o(settings());
  RouteRequest r;
  r.lambda = 0;
  for (std::size_t broken = 0; broken < 3; ++broken) {
    auto p = preds();
    p[broken].quality = std::numeric_limits<double>::quiet_NaN();
    auto d = o.decide("bandit", p, r);
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_NE(d->plan.model, s_models()[broken]);
    EXPECT_EQ(d->plan.fallbacks.back(), s_models()[broken]);
  }
}

TEST(PolicyObjective, LambdaTradesQualityForCost) {
  Objective o(settings());
  RouteRequest r;
  r.lambda = 20;  // big 0.7, mid 0.76, cheap 0.498
  EXPECT_EQ(o.decide("knn", preds(), r)->plan.model, "mid");
  r.lambda = 1000;  // big -9.1, mid -1.2, cheap 0.4
  auto d = o.decide("knn", preds(), r);
  EXPECT_EQ(d->plan.model, "cheap");
  EXPECT_EQ(d->plan.fallbacks, (std::vector<std::string>{"mid", "big"}));
}

TEST(PolicyObjective, NamedObjectivesAndDefaults) {
  auto s = settings();
  Objective o(s);
  RouteRequest r;
  EXPECT_EQ(o.lambda_for(r)->first, 100);  // default objective: balanced
  r.objective = "quality";
  EXPECT_EQ(o.decide("knn", preds(), r)->plan.model, "big");
  r.objective = "cost";
  EXPECT_EQ(o.decide("knn", preds(), r)->plan.model, "cheap");
  r.objective = "balanced";
  EXPECT_EQ(o.decide("knn", preds(), r)->plan.model, "mid");  // 0.9-1, 0.8-0.2, 0.5-0.01
  r.lambda = 0;                                          // an explicit λ wins over the objective
  EXPECT_EQ(o.decide("knn", preds(), r)->plan.model, "big");
  r.lambda.reset();
  r.objective = "cheapest";
  auto bad = o.decide("knn", preds(), r);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kBadRequest);
  EXPECT_NE(bad.error().message.find("cheapest"), std::string::npos);
  s.lambda = 0;  // the spec's λ beats the default objective
  EXPECT_EQ(Objective(s).decide("knn", preds(), RouteRequest{})->plan.model, "big");
}

TEST(PolicyObjective, ContextWindowExcludesModels) {
  Objective o(settings());
  RouteRequest r;
  r.lambda = 1000;
  r.prompt_tokens = 3000;
  r.max_output_tokens = 2000;  // 5000 > cheap's 4000
  auto d = o.decide("knn", preds(), r);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->plan.model, "mid");
  EXPECT_FALSE(d->candidates[2].eligible);
  EXPECT_NE(d->candidates[2].note.find("context window 4000"), std::string::npos);
  EXPECT_EQ(d->plan.fallbacks, (std::vector<std::string>{"big"}));
  r.prompt_tokens = 200000;
  auto none = o.decide("knn", preds(), r);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, ErrorKind::kBadRequest);
}

TEST(PolicyObjective, MaxCostIsACeiling) {
  Objective o(settings());
  RouteRequest r;
  r.lambda = 0;
  r.max_cost = 0.005;
  auto d = o.decide("knn", preds(), r);
  EXPECT_EQ(d->plan.model, "mid");
  EXPECT_FALSE(d->candidates[0].eligible);
  EXPECT_NE(d->candidates[0].note.find("max_cost"), std::string::npos);
  r.max_cost = 0.00001;  // nothing fits: the cheapest
  d = o.decide("knn", preds(), r);
  EXPECT_EQ(d->plan.model, "cheap");
  EXPECT_TRUE(d->plan.fallbacks.empty());
  EXPECT_NE(d->reason.find("cheapest"), std::string::npos);
}

TEST(PolicyObjective, LatencyPenaltyAndTies) {
  auto s = settings();
  s.mu = 0.1;  // 0.1 quality points per second
  Objective o(s);
  RouteRequest r;
  r.lambda = 0;
  auto p = preds();
  p[0].latency_ms = 3000;  // big: 0.9 - 0.3 = 0.6 < mid 0.8
  EXPECT_EQ(o.decide("knn", p, r)->plan.model, "mid");
  std::vector<ModelPrediction> tie = {{0.5, 0.02}, {0.5, 0.01}, {0.5, 0.01}};
  EXPECT_EQ(Objective(settings()).decide("knn", tie, r)->plan.model, "mid");  // cheaper, then earlier
}

TEST(PolicyObjective, ParsesSpecKeys) {
  auto cfg = config::parse_config(R"(
models:
  - {name: a, context_window: 100, replicas: [{url: "http://127.0.0.1:1"}]}
  - {name: b, replicas: [{url: "http://127.0.0.1:2"}]}
routes:
  - {name: r, policy: {type: static, model: a}}
)",
                                  "t.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto spec = YAML::Load(
      "{type: knn, models: [b, a], objective: cost, objectives: {balanced: 7}, mu: 0.5}");
  auto s = parse_objective_settings(spec, **cfg, "t.yaml:5:3", Objectives{1, 2, 3});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->models, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(s->context_windows, (std::vector<std::int64_t>{0, 100}));
  EXPECT_EQ(s->objectives, (Objectives{1, 7, 3}));
  EXPECT_EQ(s->default_objective, "cost");
  EXPECT_EQ(s->mu, 0.5);
  auto unknown =
      parse_objective_settings(YAML::Load("{models: [zz]}"), **cfg, "t.yaml:5:3", std::nullopt);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("t.yaml:5:3: `models` names unknown model 'zz'"),
            std::string::npos);
  EXPECT_FALSE(parse_objective_settings(YAML::Load("{lambda: -1}"), **cfg, "w", std::nullopt));
  EXPECT_FALSE(parse_objective_settings(YAML::Load("{objective: fast}"), **cfg, "w", std::nullopt));
}

}  // namespace
}  // namespace switchboard::policies
