// Batch assignment of prompts to models (`switchboard batch --budget`, docs/capacity.md):
//
//     maximise  Σ_i q[i][x_i]   subject to   Σ_i c[i][x_i] ≤ budget,   #{i : x_i = j} ≤ capacity[j]
//
// over one model x_i per prompt: a knapsack with assignment and capacity constraints. Solved by
// Lagrangian relaxation of the budget with bisection on λ; for each λ the capacitated assignment
// maximising Σ (q − λ·c) is solved exactly (a transportation problem: shortest augmenting paths
// prompt by prompt, Hungarian-style, over the few model nodes). The λ that just meets the budget
// gives a feasible solution; a greedy exchange then spends what is left of the budget on the best
// quality-per-dollar single moves. The Lagrangian dual, min over λ of λ·budget + max Σ(q − λc),
// bounds the optimum from above, so every result carries a proven optimality gap
// (upper_bound − quality; in practice at most about one prompt's quality difference).
//
// Contract: pure computation, no I/O, deterministic. Errors (kBadRequest): matrices whose sizes do
// not match n×m, non-finite or negative numbers, fewer capacity slots than prompts.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::policies {

struct AssignmentProblem {
  std::size_t prompts = 0, models = 0;
  std::vector<double> quality;         // prompts × models, row-major: predicted quality
  std::vector<double> cost;            // prompts × models, row-major: predicted USD (≥ 0)
  std::vector<std::int64_t> capacity;  // per model; < 0 = unbounded (empty = all unbounded)
  double budget = std::numeric_limits<double>::infinity();  // USD
};

struct AssignmentResult {
  std::vector<int> model;  // per prompt: the model index
  double quality = 0;      // Σ predicted quality of the assignment
  double cost = 0;         // Σ predicted cost
  double lambda = 0;       // the budget's multiplier at the solution (0 when the budget is slack)
  // Proven: no assignment within budget and capacities has more total quality than this.
  double upper_bound = 0;
  // Whether the budget is met; false when even the cheapest assignment within the capacities
  // exceeds it (that assignment is returned).
  bool within_budget = true;
  std::size_t solves = 0;     // capacitated assignments solved (bisection steps)
  std::size_t exchanges = 0;  // greedy single moves applied after the bisection
  double gap() const { return upper_bound - quality; }
};

// The capacitated assignment maximising Σ utility[i][x_i] exactly (the building block; exposed
// for tests). `utility` is prompts × models row-major. Errors as solve_assignment.
Result<std::vector<int>> max_utility_assignment(std::size_t prompts, std::size_t models,
                                                const std::vector<double>& utility,
                                                const std::vector<std::int64_t>& capacity);

Result<AssignmentResult> solve_assignment(const AssignmentProblem& problem);

}  // namespace switchboard::policies
