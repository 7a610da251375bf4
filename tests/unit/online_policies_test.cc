// The online-learning policies (switchboard/learning.h): LinUCB arithmetic on a hand-computed case,
// Thompson sampling's determinism, the atomic snapshot swap, and the Elo update.
#include <gtest/gtest.h>

#include <limits>

#include <atomic>
#include <cmath>
#include <thread>

#include "policies/bandit/bandit_policy.h"
#include "policies/bandit/linear_arm.h"
#include "policies/elo/elo_policy.h"
#include "config/config.h"
#include "policies/objective.h"
#include "switchboard/policy.h"

namespace switchboard::policies {
namespace {

std::shared_ptr<const Objective> two_models(double lambda = 0) {
  ObjectiveSettings s;
  s.models = {"a", "b"};
  s.context_windows = {0, 0};
  s.lambda = lambda;
  return std::make_shared<const Objective>(std::move(s));
}

Signals with_embedding(float e) {
  Signals s;
  s.embedding = {e};
  return s;
}

Feedback score_feedback(const std::string& model, float e, double score, double cost = 0) {
  Feedback f;
  f.signals = with_embedding(e);
  f.model = model;
  f.score = score;
  f.cost = cost;
  return f;
}

TEST(LinearArm, ShermanMorrisonMatchesHandComputedRidge) {
  // x = (1, 1), r = 1 then x = (0, 1), r = 0 with A₀ = I:
  // A = [[2,1],[1,3]], A⁻¹ = 1/5·[[3,-1],[-1,2]], b = (1,1), θ = (0.4, 0.2).
  auto arm = bandit::LinearArm::make(2, 1.0);
  Eigen::VectorXd x1(2), x2(2);
  x1 << 1, 1;
  x2 << 0, 1;
  auto one = arm.updated(x1, 1.0);
  EXPECT_NEAR(one.mean(x1), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(one.width(x1), std::sqrt(2.0 / 3.0), 1e-12);
  auto two = one.updated(x2, 0.0);
  EXPECT_NEAR(two.a_inv(0, 0), 0.6, 1e-12);
  EXPECT_NEAR(two.a_inv(0, 1), -0.2, 1e-12);
  EXPECT_NEAR(two.a_inv(1, 1), 0.4, 1e-12);
  EXPECT_NEAR(two.theta[0], 0.4, 1e-12);
  EXPECT_NEAR(two.theta[1], 0.2, 1e-12);
  EXPECT_EQ(two.n, 2u);
  EXPECT_EQ(arm.n, 0u);  // the original is untouched
}

TEST(LinearArm, ANonFiniteContextOrRewardTeachesNothing) {
  // An embedding that overflowed to inf/NaN made an arm NaN for good, and the NaN arm then won
  // every later decision.
  auto arm = bandit::LinearArm::make(2, 1.0).updated(Eigen::Vector2d(1, 0), 1.0);
  Eigen::Vector2d bad(std::numeric_limits<double>::quiet_NaN(), 1);
  for (const auto& next : {arm.updated(bad, 1.0), arm.updated(Eigen::Vector2d(0, 1), INFINITY),
                           arm.updated(bad, 1.0, 0.9)}) {
    EXPECT_TRUE(next.theta.allFinite());
    EXPECT_DOUBLE_EQ(next.mean(Eigen::Vector2d(1, 0)), arm.mean(Eigen::Vector2d(1, 0)));
  }
}

TEST(LinearArm, DiscountForgetsOldRewards) {
  Eigen::VectorXd x(2);
  x << 0, 1;  // the bias term only
  auto keep = bandit::LinearArm::make(2, 1.0), forget = keep;
  for (int i = 0; i < 100; ++i) {
    keep = keep.updated(x, 1.0);
    forget = forget.updated(x, 1.0, 0.9);
  }
  for (int i = 0; i < 30; ++i) {
    keep = keep.updated(x, 0.0);
    forget = forget.updated(x, 0.0, 0.9);
  }
  EXPECT_NEAR(keep.mean(x), 100.0 / 131.0, 1e-9);  // ridge: Σr / (prior + n)
  // γ = 0.9: the 100 old 1s weigh 0.9^30·Σ0.9^k ≈ 0.42 against ≈ 9.6 for the 30 new 0s.
  EXPECT_LT(forget.mean(x), 0.05);
  EXPECT_GT(forget.width(x), keep.width(x));  // and it is less sure: it remembers less
}

TEST(BanditPolicy, LinUcbExploresTheUntriedArmThenExploits) {
  bandit::BanditOptions o;
  o.dim = 1;
  o.alpha = 2;
  bandit::BanditPolicy p(two_models(), o, nullptr);
  RouteRequest req;
  req.prompt_text = "q";
  ASSERT_FALSE(p.observe(score_feedback("a", 1, 1.0)));
  // a: 2/3 + 2·sqrt(2/3) = 2.30; b (untried): 0 + 2·sqrt(2) = 2.83.
  auto d = p.choose(req, with_embedding(1));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->plan.model, "b");
  // Ten 0s for b (width sqrt(2/21): 0 + 0.62) against 21 1s for a (0.977 + 2·sqrt(2/43) = 1.41).
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(p.observe(score_feedback("b", 1, 0.0)));
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(p.observe(score_feedback("a", 1, 1.0)));
  d = p.choose(req, with_embedding(1));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->plan.model, "a");
  EXPECT_EQ(p.observations(), 31u);
  // A model the policy does not route to, and feedback without a score, are refused.
  EXPECT_TRUE(p.observe(score_feedback("zzz", 1, 1.0)));
  Feedback none;
  none.model = "a";
  EXPECT_TRUE(p.observe(none));
}

TEST(BanditPolicy, CostIsLearnedAndPricedByLambda) {
  bandit::BanditOptions o;
  o.dim = 1;
  o.alpha = 0;
  bandit::BanditPolicy p(two_models(/*lambda=*/100), o, nullptr);
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(p.observe(score_feedback("a", 1, 0.9, /*cost=*/0.01)));    // 0.9 − 1.0
    ASSERT_FALSE(p.observe(score_feedback("b", 1, 0.6, /*cost=*/0.0001)));  // 0.6 − 0.01
  }
  RouteRequest req;
  req.prompt_text = "q";
  auto d = p.choose(req, with_embedding(1));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->plan.model, "b");
  req.lambda = 0.0;
  d = p.choose(req, with_embedding(1));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->plan.model, "a");
}

// Before any feedback a cold bandit prices models from the config's list prices: the expensive
// model listed first (which a tie would pick) is not taken for free. An untried model's list price
// is then scaled by what the route's answers really cost against their list price, and a model's
// own billed costs replace the estimate.
TEST(BanditPolicy, ListPricesPriceModelsBeforeTheirFirstBilledAnswer) {
  auto config = config::parse_config(R"(models:
  - name: a
    price: {input_per_mtok: 10, output_per_mtok: 30}
    replicas: [{url: "http://127.0.0.1:1"}]
  - name: b
    price: {input_per_mtok: 0.1, output_per_mtok: 0.2}
    replicas: [{url: "http://127.0.0.1:2"}]
)",
                                     "prices.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const YAML::Node spec = YAML::Load("{type: bandit, alpha: 0, lambda: 100}");
  const std::string where = "prices.yaml:route";
  const PolicyFactory* factory = PolicyRegistry::instance().find("bandit");
  ASSERT_TRUE(factory);
  auto made = (*factory)(PolicyContext{spec, **config, where});
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto& p = dynamic_cast<bandit::BanditPolicy&>(**made);
  RouteRequest req;
  req.prompt_text = "q";
  req.prompt_tokens = 1000;
  // a: 0.01 + 30 × 256 / 1e6 = $0.01768 (λ·cost 1.77); b: 0.0001 + 0.2 × 256 / 1e6 = $0.0001512.
  auto d = p.choose(req, with_embedding(1));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->plan.model, "b");
  ASSERT_EQ(d->candidates.size(), 2u);
  EXPECT_NEAR(d->candidates[0].predicted_cost, 0.01768, 1e-9);
  EXPECT_NEAR(d->candidates[1].predicted_cost, 0.0001512, 1e-9);
  // b's answers bill half their list-price estimate: a, still untried, is priced at half too.
  Feedback billed = score_feedback("b", 1, 0.5, 0.0001512 / 2);
  billed.prompt_tokens = 1000;
  ASSERT_FALSE(p.observe(billed));
  d = p.choose(req, with_embedding(1));
  ASSERT_TRUE(d);
  EXPECT_NEAR(d->candidates[0].predicted_cost, 0.01768 / 2, 1e-9);
  // Its own billed answers replace the estimate.
  Feedback own = score_feedback("a", 1, 0.5, 0.0002);
  own.prompt_tokens = 1000;
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(p.observe(own));
  EXPECT_NEAR(p.state()->costs[0].predict(1000), 0.0002, 1e-5);
}

TEST(BanditPolicy, AnEmbeddingContextUnderAnotherEmbeddingProviderIsRefused) {
  auto config = config::parse_config(R"(signals:
  embedding: {provider: http, url: "http://127.0.0.1:3", model: e}
models:
  - name: a
    replicas: [{url: "http://127.0.0.1:2"}]
)",
                                     "http.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const PolicyFactory* factory = PolicyRegistry::instance().find("bandit");
  ASSERT_TRUE(factory);
  auto make = [&](const char* yaml) {
    const YAML::Node spec = YAML::Load(yaml);
    return (*factory)(PolicyContext{spec, **config, "http.yaml:route"});
  };
  // It read no embedding (the provider's vectors never have the GloVe size) and learned from the
  // constant term alone, silently.
  auto refused = make("{type: bandit}");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("signals.embedding.provider is `http`"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(make("{type: bandit, embedding_weight: 0}").ok());
}

// A preference without a score rates both answers: winner 1, loser 0 (tie 0.5 each), each at its
// own request's context; the arms then hold exactly what the same scores would have taught them.
TEST(BanditPolicy, LearnsFromPairwisePreferences) {
  bandit::BanditOptions o;
  o.dim = 1;
  o.alpha = 0;
  bandit::BanditPolicy p(two_models(), o, nullptr);
  bandit::BanditPolicy scored(two_models(), o, nullptr);
  auto pair = [](float ea, float eb, double outcome) {
    Feedback f;
    f.signals = with_embedding(ea);
    f.model = "a";
    f.other = "b";
    f.outcome = outcome;
    f.cost = 0.001;
    f.other_cost = 0.002;
    f.other_signals = with_embedding(eb);
    return f;
  };
  // On e = 1, b beats a; on e = −1 (another prompt), a beats b; one tie at e = 1.
  for (int i = 0; i < 5; ++i) {
    ASSERT_FALSE(p.observe(pair(1, -1, 0.0)));  // a (at 1) lost to b (at −1)
    ASSERT_FALSE(scored.observe(score_feedback("a", 1, 0.0, 0.001)));
    ASSERT_FALSE(scored.observe(score_feedback("b", -1, 1.0, 0.002)));
  }
  ASSERT_FALSE(p.observe(pair(1, 1, 0.5)));
  ASSERT_FALSE(scored.observe(score_feedback("a", 1, 0.5, 0.001)));
  ASSERT_FALSE(scored.observe(score_feedback("b", 1, 0.5, 0.002)));
  EXPECT_EQ(p.observations(), 6u);  // one event per preference
  for (std::size_t m = 0; m < 2; ++m) {
    const auto& x = *p.state()->arms[m];
    const auto& y = *scored.state()->arms[m];
    EXPECT_EQ(x.n, 6u);
    EXPECT_NEAR((x.theta - y.theta).norm(), 0, 1e-12);
    EXPECT_NEAR(p.state()->costs[m].predict(0), scored.state()->costs[m].predict(0), 1e-12);
  }
  RouteRequest req;
  req.prompt_text = "q";
  auto d = p.choose(req, with_embedding(-1));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->plan.model, "b");
  // Without other_signals the other answer is of the same prompt.
  bandit::BanditPolicy same(two_models(), o, nullptr);
  Feedback f = pair(1, 0, 1.0);
  f.other_signals.reset();
  ASSERT_FALSE(same.observe(f));
  EXPECT_NEAR(same.state()->arms[1]->mean(same.context(with_embedding(1))), 0.0, 1e-12);
  EXPECT_GT(same.state()->arms[0]->mean(same.context(with_embedding(1))), 0.5);
  // A score wins over a comparison (eval --online sends both): only the rated model learns.
  Feedback both = score_feedback("a", 1, 1.0);
  both.other = "b";
  both.outcome = 0.0;
  bandit::BanditPolicy only(two_models(), o, nullptr);
  ASSERT_FALSE(only.observe(both));
  EXPECT_EQ(only.state()->arms[0]->n, 1u);
  EXPECT_EQ(only.state()->arms[1]->n, 0u);
  // Unknown other model, an outcome outside [0, 1]: refused, nothing learned.
  Feedback bad = pair(1, 1, 1.0);
  bad.other = "zzz";
  EXPECT_TRUE(p.observe(bad));
  bad = pair(1, 1, 1.5);
  EXPECT_TRUE(p.observe(bad));
  EXPECT_EQ(p.observations(), 6u);
}

std::vector<std::string> thompson_choices(std::uint64_t seed) {
  bandit::BanditOptions o;
  o.dim = 1;
  o.alpha = 1;
  o.seed = seed;
  o.algorithm = bandit::Algorithm::kThompson;
  bandit::BanditPolicy p(two_models(), o, nullptr);
  std::vector<std::string> out;
  for (int i = 0; i < 60; ++i) {
    const std::string text = "prompt " + std::to_string(i);
    RouteRequest req;
    req.prompt_text = text;
    auto d = p.choose(req, with_embedding(static_cast<float>(i % 3)));
    EXPECT_TRUE(d);
    out.push_back(d->plan.model);
    EXPECT_FALSE(p.observe(score_feedback(d->plan.model, static_cast<float>(i % 3),
                                          d->plan.model == "a" ? 0.6 : 0.5)));
  }
  return out;
}

TEST(BanditPolicy, ThompsonSamplingIsDeterministicForASeed) {
  const auto one = thompson_choices(7), two = thompson_choices(7), other = thompson_choices(8);
  EXPECT_EQ(one, two);
  EXPECT_NE(one, other);
  // It samples: both arms are tried.
  EXPECT_NE(std::count(one.begin(), one.end(), "a"), 0);
  EXPECT_NE(std::count(one.begin(), one.end(), "b"), 0);
}

TEST(BanditPolicy, ObserveSwapsAnImmutableSnapshotWhileChooseRuns) {
  bandit::BanditOptions o;
  o.dim = 1;
  bandit::BanditPolicy p(two_models(), o, nullptr);
  const auto before = p.state();
  ASSERT_FALSE(p.observe(score_feedback("a", 1, 1.0)));
  const auto after = p.state();
  EXPECT_NE(before.get(), after.get());
  EXPECT_EQ(before->observations, 0u);
  EXPECT_EQ(before->arms[0]->n, 0u);  // the old snapshot is unchanged
  EXPECT_EQ(after->arms[0]->n, 1u);
  EXPECT_EQ(after->arms[1].get(), before->arms[1].get());  // untouched arms are shared

  std::atomic<bool> stop{false};
  std::atomic<int> choices{0}, failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      RouteRequest req;
      req.prompt_text = "q";
      do {  // at least once, however late the thread is scheduled
        if (!p.choose(req, with_embedding(1))) ++failures;
        ++choices;
      } while (!stop);
    });
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t)
    writers.emplace_back([&, t] {
      while (choices == 0) std::this_thread::yield();  // the readers are running
      for (int i = 0; i < 500; ++i) (void)p.observe(score_feedback(t ? "a" : "b", 1, 0.5));
    });
  for (auto& w : writers) w.join();
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(choices, 0);
  EXPECT_EQ(p.observations(), 1001u);  // no update lost
  EXPECT_EQ(p.state()->arms[0]->n + p.state()->arms[1]->n, 1001u);
}

TEST(Elo, UpdateMatchesTheEloFormula) {
  elo::Ratings r;
  r.rating = {1500, 1500, 1500};
  elo::elo_update(r, 0, 1, 1.0, 16);
  EXPECT_DOUBLE_EQ(r.rating[0], 1508);
  EXPECT_DOUBLE_EQ(r.rating[1], 1492);
  // 1508 vs 1500: E = 1/(1+10^(-8/400)); a tie moves a by 16·(0.5 − E).
  const double e = 1.0 / (1.0 + std::pow(10.0, -8.0 / 400.0));
  elo::elo_update(r, 0, 2, 0.5, 16);
  EXPECT_NEAR(r.rating[0], 1508 + 16 * (0.5 - e), 1e-9);
  EXPECT_NEAR(r.rating[2], 1500 - 16 * (0.5 - e), 1e-9);
  EXPECT_EQ(r.games, 2u);
  const auto q = elo::expected_scores(r);
  EXPECT_GT(q[0], q[2]);
  EXPECT_GT(q[2], q[1]);
}

TEST(EloPolicy, LearnsPreferencesAndPricesCost) {
  elo::EloPolicy p(two_models(/*lambda=*/0), 16, false, 20);
  Feedback f;
  f.model = "a";
  f.other = "b";
  f.outcome = 1.0;
  f.cost = 0.01;
  f.other_cost = 0.0001;
  for (int i = 0; i < 30; ++i) ASSERT_FALSE(p.observe(f));
  RouteRequest req;
  auto d = p.choose(req, Signals{});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->plan.model, "a");
  req.lambda = 1000.0;  // 10 quality points for a's extra cent: b
  d = p.choose(req, Signals{});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->plan.model, "b");
  Feedback score_only;
  score_only.model = "a";
  score_only.score = 1;
  EXPECT_TRUE(p.observe(score_only));  // elo needs a comparison
  EXPECT_NE(p.cannot_learn(score_only), std::nullopt);
  EXPECT_EQ(p.cannot_learn(f), std::nullopt);
  Feedback same = f;
  same.other = "a";
  EXPECT_NE(p.cannot_learn(same), std::nullopt);
}

TEST(EloPolicy, ModelsNotYetBilledCostTheirListPrice) {
  // Cold ratings tie; before session 30 an unbilled model cost 0, so the first listed one won
  // whatever its price. At λ > 0 the cheaper one by list price wins now.
  elo::EloPolicy p(two_models(/*lambda=*/0), 16, false, 20, {{{30.0, 60.0}}, {{0.5, 1.5}}});
  RouteRequest req;
  req.prompt_tokens = 1000;
  req.lambda = 10.0;
  auto d = p.choose(req, Signals{});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->plan.model, "b");
  EXPECT_NEAR(d->candidates[0].predicted_cost, (30.0 * 1000 + 60.0 * 256) / 1e6, 1e-12);
}

}  // namespace
}  // namespace switchboard::policies
