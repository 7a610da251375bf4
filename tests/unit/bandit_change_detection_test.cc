// The bandit's change detection (policies/bandit/change_detector.h): no alarm on a stationary
// stream of 0/1 scores, an alarm within a few dozen observations when their mean drops, the arm
// frozen until its model's alarm and learning after it, and the detectors' save/restore.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "policies/bandit/bandit_policy.h"
#include "policies/bandit/change_detector.h"
#include "policies/objective.h"

namespace switchboard::policies {
namespace {

std::shared_ptr<const Objective> models_ab() {
  ObjectiveSettings s;
  s.models = {"a", "b"};
  s.context_windows = {0, 0};
  return std::make_shared<const Objective>(std::move(s));
}

Feedback scored(const std::string& model, double score) {
  Feedback f;
  f.signals.embedding = {1.0f};
  f.model = model;
  f.score = score;
  return f;
}

bandit::BanditOptions detecting() {
  bandit::BanditOptions o;
  o.dim = 1;
  o.alpha = 0;
  o.embedding_weight = 0;  // a per-model bias only
  o.prior = 1;
  o.detect_changes = true;
  return o;
}

double predicted(const bandit::BanditPolicy& p, const std::string& model) {
  RouteRequest req;
  req.prompt_text = "q";
  Signals s;
  s.embedding = {1.0f};
  auto d = p.choose(req, s);
  EXPECT_TRUE(d);
  for (const auto& c : d->candidates)
    if (c.model == model) return c.predicted_quality;
  ADD_FAILURE() << "no candidate " << model;
  return -1;
}

TEST(ChangeDetector, QuietOnAStationaryStreamAndQuickOnAShift) {
  std::mt19937_64 rng(7);
  std::bernoulli_distribution before(0.8), after(0.35);
  bandit::ChangeDetector d;  // δ = 0.1, h = 8
  for (int i = 0; i < 5000; ++i) ASSERT_FALSE(d.add((before(rng) ? 1.0 : 0.0) - 0.8)) << i;
  int needed = 0;
  while (!d.add((after(rng) ? 1.0 : 0.0) - 0.8)) ASSERT_LT(++needed, 80);
  EXPECT_GT(needed, 5);  // evidence accumulates: one bad answer is not a change
  EXPECT_EQ(d.alarms, 1u);
  EXPECT_EQ(d.n, 0u);  // restarted
}

TEST(ChangeDetector, APredictionWrongFromTheFirstObservationAlarms) {
  // A constant residual is its own running mean: the shift test alone never saw it (since
  // session 30 the residuals are also tested against 0, with δ = 0.25).
  bandit::ChangeDetector d;
  int needed = 1;
  while (!d.add(-1.0)) ASSERT_LT(++needed, 20);
  EXPECT_EQ(needed, 11);  // 8 / (1 − 0.25) = 10.7
  // A small stable bias (a slightly miscalibrated predictor) is left alone.
  std::mt19937_64 rng(3);
  std::bernoulli_distribution scores(0.7);
  bandit::ChangeDetector e;
  e.delta = 1e9;  // the bias test alone
  for (int i = 0; i < 5000; ++i) ASSERT_FALSE(e.add((scores(rng) ? 1.0 : 0.0) - 0.8)) << i;
}

TEST(ChangeDetector, JsonRoundTripAndBadInput) {
  bandit::ChangeDetector d;
  for (double r : {0.2, -0.1, 0.4, 0.0}) d.add(r);
  bandit::ChangeDetector e;
  ASSERT_TRUE(e.from_json(d.to_json()));
  EXPECT_EQ(e.to_json(), d.to_json());
  EXPECT_FALSE(e.from_json({{"mean", 0}}));
  EXPECT_FALSE(d.add(std::nan("")));  // ignored
}

TEST(BanditChangeDetection, ArmFrozenUntilItsModelChangesThenLearns) {
  bandit::BanditPolicy p(models_ab(), detecting(), nullptr);
  for (int i = 0; i < 50; ++i) ASSERT_FALSE(p.observe(scored("a", 0.0)));
  // Steady answers: no alarm, nothing learned.
  EXPECT_EQ(p.state()->arms[0]->n, 0u);
  EXPECT_EQ(predicted(p, "a"), 0.0);
  // a starts succeeding: each 1 is a residual of +1 against the mean of 0 seen so far.
  int events = 0;
  while (p.state()->arms[0]->n == 0) {
    ASSERT_FALSE(p.observe(scored("a", 1.0)));
    ASSERT_LT(++events, 20);
  }
  EXPECT_GE(events, 9);  // h / (1 − δ) = 8.9
  EXPECT_EQ(p.summary()["change_alarms"]["a"], 1);
  EXPECT_EQ(p.summary()["change_alarms"]["b"], 0);
  // From the alarm on the arm learns every event: the prediction follows the new scores.
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(p.observe(scored("a", 1.0)));
  EXPECT_EQ(p.state()->arms[0]->n, 11u);
  EXPECT_GT(predicted(p, "a"), 0.5);  // learned the new scores
  EXPECT_EQ(p.state()->arms[1]->n, 0u);

  // Saved and restored: the alarm, the learning flag and the arm carry over.
  bandit::BanditPolicy q(models_ab(), detecting(), nullptr);
  ASSERT_FALSE(q.restore(p.save()));
  EXPECT_EQ(q.summary()["change_alarms"], p.summary()["change_alarms"]);
  EXPECT_NEAR(predicted(q, "a"), predicted(p, "a"), 1e-9);  // A⁻¹ refactored on restore
  ASSERT_FALSE(q.observe(scored("a", 1.0)));
  EXPECT_EQ(q.state()->arms[0]->n, 12u);  // still learning after the restore
  // A state saved before detectors existed restores as fresh detectors.
  auto old = p.save();
  old.erase("detectors");
  bandit::BanditPolicy r(models_ab(), detecting(), nullptr);
  EXPECT_FALSE(r.restore(old));
  auto broken = p.save();
  broken["detectors"] = nlohmann::json::array({1});
  EXPECT_TRUE(r.restore(broken));
  // Since session 28: an arm no learning could produce is refused, and the state stays fresh (a
  // singular A made the arm's predictions NaN for good; 1e300 pinned routing to it).
  const auto size = p.save()["arms"][0]["a"].size();
  for (const auto& [key, poison] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"a", std::vector<double>(size, 0.0)},
           {"b", std::vector<double>(p.save()["arms"][0]["b"].size(), 1e300)},
           {"a", std::vector<double>(size, std::nan(""))}}) {
    auto bad = p.save();
    bad["arms"][0][key] = poison;
    bandit::BanditPolicy fresh(models_ab(), detecting(), nullptr);
    const double before = predicted(fresh, "a");
    EXPECT_TRUE(fresh.restore(bad)) << key;
    EXPECT_EQ(predicted(fresh, "a"), before) << key;
  }
  // A singular cost line (since session 31): it solved to NaN, read as a cost of 0 (a free model).
  auto singular = p.save();
  singular["costs"][0]["a"] = {0, 0, 0, 0};
  singular["costs"][0]["n"] = 5;
  bandit::BanditPolicy fresh(models_ab(), detecting(), nullptr);
  EXPECT_TRUE(fresh.restore(singular));
}

TEST(BanditChangeDetection, AnArmWrongFromTheFirstFeedbackLearns) {
  // The arm predicts 0 for a; a scores 1 from the very first event on. Before session 30 no alarm
  // ever came (the residuals never moved from their own mean) and the arm never learned.
  bandit::BanditPolicy p(models_ab(), detecting(), nullptr);
  int events = 0;
  while (p.state()->arms[0]->n == 0) {
    ASSERT_FALSE(p.observe(scored("a", 1.0)));
    ASSERT_LT(++events, 20);
  }
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(p.observe(scored("a", 1.0)));
  EXPECT_GT(predicted(p, "a"), 0.5);
}

TEST(BanditChangeDetection, OffLearnsFromEveryEvent) {
  auto o = detecting();
  o.detect_changes = false;
  bandit::BanditPolicy p(models_ab(), o, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(p.observe(scored("a", 1.0)));
  EXPECT_EQ(p.state()->arms[0]->n, 5u);
  EXPECT_GT(predicted(p, "a"), 0.5);
}

}  // namespace
}  // namespace switchboard::policies
