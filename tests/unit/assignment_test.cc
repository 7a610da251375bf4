// The batch assignment solver (policies/assignment.h) against brute force on small cases with a
// known optimum, and its proven bound.
#include "policies/assignment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

using namespace switchboard;
using policies::AssignmentProblem;

namespace {

// The best total quality within budget and capacities by enumerating every assignment.
double brute_force(const AssignmentProblem& p, bool* feasible) {
  const std::size_t n = p.prompts, m = p.models;
  std::vector<int> x(n, 0);
  double best = -std::numeric_limits<double>::infinity();
  std::function<void(std::size_t, double, double, std::vector<std::int64_t>&)> go =
      [&](std::size_t i, double q, double c, std::vector<std::int64_t>& count) {
        if (c > p.budget + 1e-12) return;
        if (i == n) {
          best = std::max(best, q);
          return;
        }
        for (std::size_t j = 0; j < m; ++j) {
          if (!p.capacity.empty() && p.capacity[j] >= 0 && count[j] >= p.capacity[j]) continue;
          ++count[j];
          go(i + 1, q + p.quality[i * m + j], c + p.cost[i * m + j], count);
          --count[j];
        }
      };
  std::vector<std::int64_t> count(m, 0);
  go(0, 0, 0, count);
  *feasible = std::isfinite(best);
  return best;
}

double max_utility_brute(std::size_t n, std::size_t m, const std::vector<double>& u,
                         const std::vector<std::int64_t>& cap) {
  AssignmentProblem p;
  p.prompts = n, p.models = m, p.quality = u, p.cost.assign(n * m, 0), p.capacity = cap;
  bool feasible = false;
  return brute_force(p, &feasible);
}

AssignmentProblem random_problem(std::mt19937& rng, std::size_t n, std::size_t m) {
  std::uniform_real_distribution<double> q(0, 1), c(0, 1);
  AssignmentProblem p;
  p.prompts = n, p.models = m;
  for (std::size_t i = 0; i < n * m; ++i) {
    p.quality.push_back(q(rng));
    p.cost.push_back(c(rng) * c(rng));
  }
  return p;
}

}  // namespace

TEST(Assignment, CapacitatedMaxUtilityIsExact) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 2 + trial % 6, m = 2 + trial % 3;
    std::uniform_real_distribution<double> d(-1, 1);
    std::vector<double> u(n * m);
    for (auto& v : u) v = d(rng);
    std::vector<std::int64_t> cap(m);
    std::int64_t slots = 0;
    for (std::size_t j = 0; j < m; ++j)
      slots += cap[j] = static_cast<std::int64_t>(rng() % (n / 2 + 1));
    cap[0] += std::max<std::int64_t>(0, static_cast<std::int64_t>(n) - slots);
    auto x = policies::max_utility_assignment(n, m, u, cap);
    ASSERT_TRUE(x.ok()) << x.error().message;
    double value = 0;
    std::vector<std::int64_t> count(m, 0);
    for (std::size_t i = 0; i < n; ++i) {
      value += u[i * m + (*x)[i]];
      ++count[(*x)[i]];
    }
    for (std::size_t j = 0; j < m; ++j) EXPECT_LE(count[j], cap[j]);
    EXPECT_NEAR(value, max_utility_brute(n, m, u, cap), 1e-9) << "trial " << trial;
  }
}

TEST(Assignment, KnownOptimumWithCapacity) {
  // Two prompts both prefer model 0, which takes one: the one losing less moves to model 1.
  auto x = policies::max_utility_assignment(2, 2, {0.9, 0.1, 0.8, 0.7}, {1, -1});
  ASSERT_TRUE(x.ok());
  EXPECT_EQ((*x)[0], 0);
  EXPECT_EQ((*x)[1], 1);
}

TEST(Assignment, BudgetOptimumWithinProvenGap) {
  std::mt19937 rng(11);
  double worst_ratio = 0;
  for (int trial = 0; trial < 150; ++trial) {
    const std::size_t n = 3 + trial % 5, m = 2 + trial % 3;
    AssignmentProblem p = random_problem(rng, n, m);
    double cheapest = 0, dearest = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double lo = 1e9, hi = 0;
      for (std::size_t j = 0; j < m; ++j)
        lo = std::min(lo, p.cost[i * m + j]), hi = std::max(hi, p.cost[i * m + j]);
      cheapest += lo, dearest += hi;
    }
    p.budget = cheapest + (dearest - cheapest) * (0.2 + 0.6 * (trial % 4) / 3.0);
    if (trial % 3 == 0) p.capacity.assign(m, static_cast<std::int64_t>(n / 2 + 1));
    bool feasible = false;
    const double best = brute_force(p, &feasible);
    auto r = policies::solve_assignment(p);
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (!feasible) {
      EXPECT_FALSE(r->within_budget);
      continue;
    }
    ASSERT_TRUE(r->within_budget) << "trial " << trial;
    EXPECT_LE(r->cost, p.budget + 1e-9);
    EXPECT_LE(r->quality, best + 1e-9);             // feasible, so not above the optimum
    EXPECT_GE(r->upper_bound, best - 1e-9);         // the bound is a true bound
    EXPECT_LE(best - r->quality, r->gap() + 1e-9);  // and the reported gap covers the loss
    double max_diff = 0;                            // one prompt's largest quality difference
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < m; ++j)
        for (std::size_t k = 0; k < m; ++k)
          max_diff = std::max(max_diff, p.quality[i * m + j] - p.quality[i * m + k]);
    if (p.capacity.empty()) {
      EXPECT_LE(best - r->quality, max_diff + 1e-9);
    }
    worst_ratio = std::max(worst_ratio, (best - r->quality) / best);
  }
  RecordProperty("worst_relative_loss", std::to_string(worst_ratio));
}

TEST(Assignment, SlackBudgetIsTheCapacitatedOptimum) {
  AssignmentProblem p;
  p.prompts = 3, p.models = 2;
  p.quality = {0.9, 0.5, 0.8, 0.6, 0.7, 0.2};
  p.cost = {1, 0.1, 1, 0.1, 1, 0.1};
  p.capacity = {2, -1};
  auto r = policies::solve_assignment(p);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->quality, 0.9 + 0.6 + 0.7);  // prompt 1 loses least by moving
  EXPECT_DOUBLE_EQ(r->gap(), 0);
  EXPECT_EQ(r->lambda, 0);
}

TEST(Assignment, TightBudgetKnownOptimum) {
  // Budget 1.2: only one prompt can use the dear model; the one gaining most per dollar gets it.
  AssignmentProblem p;
  p.prompts = 3, p.models = 2;
  p.quality = {0.9, 0.5, 0.9, 0.8, 0.9, 0.4};
  p.cost = {1, 0.1, 1, 0.1, 1, 0.1};
  p.budget = 1.2;
  auto r = policies::solve_assignment(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->model, (std::vector<int>{1, 1, 0}));
  EXPECT_NEAR(r->quality, 0.5 + 0.8 + 0.9, 1e-12);
  EXPECT_LE(r->cost, 1.2);
}

TEST(Assignment, BadInputIsRejected) {
  AssignmentProblem p;
  p.prompts = 2, p.models = 2;
  p.quality = {0.1, 0.2, 0.3};
  p.cost = {0, 0, 0, 0};
  EXPECT_FALSE(policies::solve_assignment(p).ok());
  p.quality = {0.1, 0.2, 0.3, 0.4};
  p.capacity = {0, 1};
  auto r = policies::solve_assignment(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("capacities"), std::string::npos);
  p.capacity = {};
  p.budget = -1;
  EXPECT_FALSE(policies::solve_assignment(p).ok());
}

TEST(Assignment, OverBudgetEvenAtCheapestIsReported) {
  AssignmentProblem p;
  p.prompts = 2, p.models = 2;
  p.quality = {0.9, 0.5, 0.9, 0.5};
  p.cost = {1, 0.5, 1, 0.5};
  p.budget = 0.5;
  auto r = policies::solve_assignment(p);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->within_budget);
  EXPECT_DOUBLE_EQ(r->cost, 1.0);  // the cheapest assignment
}
