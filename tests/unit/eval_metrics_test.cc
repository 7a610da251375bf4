// The evaluator's metrics against small cases computed by hand (see docs/evaluation.md).
#include <gtest/gtest.h>

#include "eval/metrics.h"

namespace switchboard::eval {
namespace {

using Points = std::vector<CurvePoint>;

CurvePoint pt(double cost, double quality, double strong_share = 0) {
  return {cost, quality, strong_share};
}

constexpr double kEps = 1e-12;

TEST(Aiq, UndefinedWithoutPointsOrCostUnit) {
  EXPECT_FALSE(aiq({}, 4).has_value());
  EXPECT_FALSE(aiq({pt(1, 0.5)}, 0).has_value());
}

TEST(Aiq, SinglePointCountsFromItsCostToTheMaximum) {
  // Nothing left of x = 0.5, then 0.8 flat to x = 1.
  EXPECT_NEAR(*aiq({pt(2, 0.8)}, 4), 0.4, kEps);
  // The most expensive model alone has no area at all.
  EXPECT_NEAR(*aiq({pt(4, 0.9)}, 4), 0.0, kEps);
  // A free model's AIQ is its quality.
  EXPECT_NEAR(*aiq({pt(0, 0.6)}, 4), 0.6, kEps);
}

TEST(Aiq, TwoPointsAreJoinedLinearly) {
  // x from 0.25 to 1, a trapezoid: 0.75 * (0.5 + 0.9) / 2.
  EXPECT_NEAR(*aiq({pt(4, 0.9), pt(1, 0.5)}, 4), 0.525, kEps);
}

TEST(Aiq, PointsUnderTheHullDoNotCount) {
  // (0.5, 0.3) lies under the chord from (0, 0.2) to (1, 1.0).
  EXPECT_NEAR(*aiq({pt(0, 0.2), pt(2, 0.3), pt(4, 1.0)}, 4), 0.6, kEps);
  auto hull = nondecreasing_hull({pt(0, 0.2), pt(2, 0.3), pt(4, 1.0)}, 4);
  EXPECT_EQ(hull, (std::vector<Vertex>{{0, 0.2}, {1, 1.0}}));
}

TEST(Aiq, CollinearPointsGiveTheSameArea) {
  EXPECT_NEAR(*aiq({pt(0, 0), pt(2, 0.5), pt(4, 1)}, 4), 0.5, kEps);
  EXPECT_EQ(nondecreasing_hull({pt(0, 0), pt(2, 0.5), pt(4, 1)}, 4).size(), 2u);
}

TEST(Aiq, FallingTailIsReplacedByAFlatLine) {
  // Hull (0.25, 0.6) → (0.5, 0.9), then 0.9 flat: 0.25 * 0.75 + 0.5 * 0.9.
  EXPECT_NEAR(*aiq({pt(1, 0.6), pt(2, 0.9), pt(4, 0.7)}, 4), 0.6375, kEps);
}

TEST(Aiq, TiesInCostKeepTheBetterPointTiesInQualityTheCheaper) {
  EXPECT_NEAR(*aiq({pt(2, 0.5), pt(2, 0.8)}, 4), 0.4, kEps);
  // Equal quality at x = 0.25 and 0.75: flat from the cheaper one.
  EXPECT_NEAR(*aiq({pt(3, 0.8), pt(1, 0.8)}, 4), 0.6, kEps);
  EXPECT_EQ(nondecreasing_hull({pt(3, 0.8), pt(1, 0.8)}, 4), (std::vector<Vertex>{{0.25, 0.8}}));
}

TEST(Aiq, DominatedPolicyScoresLower) {
  Points better = {pt(1, 0.7), pt(2, 0.8)};
  Points worse = {pt(1, 0.6), pt(2, 0.7)};
  EXPECT_NEAR(*aiq(better, 4), 0.25 * 0.75 + 0.5 * 0.8, kEps);
  EXPECT_NEAR(*aiq(worse, 4), 0.25 * 0.65 + 0.5 * 0.7, kEps);
  EXPECT_LT(*aiq(worse, 4), *aiq(better, 4));
  // Adding dominated points never changes the area.
  Points both = better;
  both.insert(both.end(), worse.begin(), worse.end());
  EXPECT_NEAR(*aiq(both, 4), *aiq(better, 4), kEps);
}

TEST(Aiq, CostsBeyondTheMaximumAreCutOff) {
  // From x = 0.5 (0.5) towards x = 2 (1.0); at x = 1 the line is at 0.5 + 0.5 / 3.
  const double y1 = 0.5 + 0.5 / 3;
  EXPECT_NEAR(*aiq({pt(2, 0.5), pt(8, 1.0)}, 4), 0.5 * (0.5 + y1) / 2, kEps);
  EXPECT_NEAR(*aiq({pt(6, 1.0)}, 4), 0.0, kEps);
}

TEST(Apgr, AnchorsAloneGiveOneHalf) {
  // A random mix of weak and strong recovers the gap linearly: area 0.5.
  EXPECT_NEAR(*apgr({}, 0.6, 0.8), 0.5, kEps);
  EXPECT_NEAR(*apgr({pt(1, 0.6, 0), pt(2, 0.7, 0.5), pt(3, 0.8, 1)}, 0.6, 0.8), 0.5, kEps);
}

TEST(Apgr, OneMiddlePoint) {
  // PGR 0.75 at share 0.5: 0.5 * 0.75 / 2 + 0.5 * (0.75 + 1) / 2.
  Points p = {pt(1, 0.75, 0.5)};
  EXPECT_NEAR(*apgr(p, 0.6, 0.8), 0.625, kEps);
  EXPECT_NEAR(*cpt(p, 0.6, 0.8, 0.5), 0.5 * 0.5 / 0.75, kEps);
  EXPECT_NEAR(*cpt(p, 0.6, 0.8, 0.8), 0.5 + 0.05 * 0.5 / 0.25, kEps);
}

TEST(Apgr, TiesInShareKeepTheBestPgr) {
  Points p = {pt(1, 0.70, 0.5), pt(1.5, 0.75, 0.5)};
  EXPECT_NEAR(*apgr(p, 0.6, 0.8), 0.625, kEps);
  // A point at share 0 better than the weak model replaces the (0, 0) anchor.
  Points q = {pt(1, 0.7, 0)};
  EXPECT_NEAR(*apgr(q, 0.6, 0.8), 0.75, kEps);
  EXPECT_NEAR(*cpt(q, 0.6, 0.8, 0.5), 0.0, kEps);
  EXPECT_NEAR(*cpt(q, 0.6, 0.8, 0.8), 0.6, kEps);
}

TEST(Apgr, DominatedPolicyBelowTheDiagonal) {
  // Worse than the weak model half-way: PGR -0.5 at share 0.5.
  Points p = {pt(1, 0.5, 0.5)};
  EXPECT_NEAR(*apgr(p, 0.6, 0.8), 0.5 * (0 - 0.5) / 2 + 0.5 * (-0.5 + 1) / 2, kEps);
  // First reaches 0.5 on the last segment: from (0.5, -0.5) to (1, 1).
  EXPECT_NEAR(*cpt(p, 0.6, 0.8, 0.5), 0.5 + 1.0 * 0.5 / 1.5, kEps);
}

TEST(Apgr, UndefinedWithoutAGap) {
  EXPECT_FALSE(apgr({pt(1, 0.7, 0.5)}, 0.8, 0.8).has_value());
  EXPECT_FALSE(apgr({pt(1, 0.7, 0.5)}, 0.8, 0.6).has_value());
  EXPECT_FALSE(cpt({pt(1, 0.7, 0.5)}, 0.8, 0.6, 0.5).has_value());
}

TEST(Cpt, NeverReachedIsUndefined) {
  EXPECT_FALSE(cpt({}, 0.6, 0.8, 1.5).has_value());
  EXPECT_NEAR(*cpt({}, 0.6, 0.8, 1.0), 1.0, kEps);
}

TEST(QualityAtBudget, BestAffordablePoint) {
  Points p = {pt(1, 0.6), pt(2, 0.8), pt(3, 0.9), pt(2.5, 0.7)};
  EXPECT_NEAR(*quality_at_budget(p, 10, 0.10), 0.6, kEps);
  EXPECT_NEAR(*quality_at_budget(p, 10, 0.25), 0.8, kEps);  // 2.5 is affordable but worse
  EXPECT_NEAR(*quality_at_budget(p, 10, 0.50), 0.9, kEps);
  EXPECT_FALSE(quality_at_budget(p, 10, 0.05).has_value());
  // Free data (every cost 0): every point is within any budget (it said "-").
  EXPECT_NEAR(*quality_at_budget({pt(0, 0.5), pt(0, 0.7)}, 0, 0.1), 0.7, kEps);
  EXPECT_FALSE(quality_at_budget(p, -1, 0.5).has_value());
  // Exactly on the budget counts despite rounding (0.1 * 3 != 0.3 in binary).
  EXPECT_TRUE(quality_at_budget({pt(0.3, 0.5)}, 3, 0.1).has_value());
}

TEST(ParetoFront, DropsDominatedAndDuplicatePoints) {
  auto front =
      pareto_front({pt(2, 0.8), pt(1, 0.6), pt(2, 0.7), pt(3, 0.75), pt(1, 0.6), pt(4, 0.9)});
  ASSERT_EQ(front.size(), 3u);
  EXPECT_EQ(front[0].cost, 1);
  EXPECT_EQ(front[1].cost, 2);
  EXPECT_EQ(front[1].quality, 0.8);
  EXPECT_EQ(front[2].cost, 4);
}

}  // namespace
}  // namespace switchboard::eval
