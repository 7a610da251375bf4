#include "policies/assignment.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <queue>
#include <string>

namespace switchboard::policies {
namespace {

Error bad(const std::string& why) {
  return make_error(ErrorKind::kBadRequest, "invalid_request", why);
}

std::int64_t cap_of(const std::vector<std::int64_t>& capacity, std::size_t j, std::size_t n) {
  if (capacity.empty() || capacity[j] < 0) return static_cast<std::int64_t>(n);
  return capacity[j];
}

Result<bool> check(std::size_t n, std::size_t m, const std::vector<double>& u,
                   const std::vector<std::int64_t>& capacity, const char* what) {
  if (m == 0) return bad("no models to assign prompts to");
  if (u.size() != n * m) return bad(std::string(what) + " must have prompts × models entries");
  for (double v : u)
    if (!std::isfinite(v)) return bad(std::string(what) + " has a non-finite entry");
  if (!capacity.empty() && capacity.size() != m)
    return bad("capacity must have one entry per model");
  std::int64_t slots = 0;
  for (std::size_t j = 0; j < m; ++j) slots += cap_of(capacity, j, n);
  if (slots < static_cast<std::int64_t>(n))
    return bad("the models' capacities (" + std::to_string(slots) +
               ") are fewer than the prompts (" + std::to_string(n) + ")");
  return true;
}

// Shortest augmenting paths over the model nodes. heaps[j*m+k] holds (u[p][j] − u[p][k], p) for
// prompts p at j: the loss of moving p from j to k; entries whose prompt left j are dropped lazily.
class Augmenter {
 public:
  Augmenter(std::size_t n, std::size_t m, const std::vector<double>& u,
            const std::vector<std::int64_t>& capacity)
      : n_(n), m_(m), u_(u), assign_(n, -1), count_(m, 0), cap_(m), heaps_(m * m) {
    for (std::size_t j = 0; j < m; ++j) cap_[j] = cap_of(capacity, j, n);
  }

  void insert(std::size_t i) {
    const double* row = &u_[i * m_];
    // The best model with a free slot is optimal when it is the row's best (every chain of moves
    // from the optimal current assignment loses).
    std::size_t best = 0;
    for (std::size_t j = 1; j < m_; ++j)
      if (row[j] > row[best]) best = j;
    if (count_[best] < cap_[best]) return place(i, best);
    // Bellman-Ford (maximising gain) from "i enters model j" through "p moves j → k".
    const double kNone = -std::numeric_limits<double>::infinity();
    std::vector<double> w(m_ * m_, kNone);
    std::vector<std::size_t> who(m_ * m_, 0);
    for (std::size_t j = 0; j < m_; ++j)
      for (std::size_t k = 0; k < m_; ++k)
        if (j != k)
          if (auto top = this->top(j, k))
            w[j * m_ + k] = -top->first, who[j * m_ + k] = top->second;
    std::vector<double> d(row, row + m_);
    std::vector<std::ptrdiff_t> pred(m_, -1);  // -1: entered directly
    for (std::size_t round = 0; round + 1 < m_; ++round) {
      bool changed = false;
      for (std::size_t j = 0; j < m_; ++j)
        for (std::size_t k = 0; k < m_; ++k) {
          const double e = w[j * m_ + k];
          if (e == kNone) continue;
          if (d[j] + e > d[k] + 1e-12) {
            d[k] = d[j] + e;
            pred[k] = static_cast<std::ptrdiff_t>(j);
            changed = true;
          }
        }
      if (!changed) break;
    }
    std::ptrdiff_t end = -1;
    for (std::size_t j = 0; j < m_; ++j)
      if (count_[j] < cap_[j] && (end < 0 || d[j] > d[end])) end = static_cast<std::ptrdiff_t>(j);
    // Walk back: each edge j → k moves its prompt into k, freeing a slot at j for the step before.
    std::size_t k = static_cast<std::size_t>(end);
    std::size_t guard = 0;
    while (pred[k] >= 0 && guard++ < m_) {
      const std::size_t j = static_cast<std::size_t>(pred[k]);
      const std::size_t p = who[j * m_ + k];
      --count_[j];
      place(p, k);
      k = j;
    }
    place(i, k);
  }

  const std::vector<int>& assignment() const { return assign_; }

 private:
  using Entry = std::pair<double, std::size_t>;
  using Heap = std::priority_queue<Entry, std::vector<Entry>, std::greater<>>;

  std::optional<Entry> top(std::size_t j, std::size_t k) {
    Heap& h = heaps_[j * m_ + k];
    while (!h.empty() && assign_[h.top().second] != static_cast<int>(j)) h.pop();
    if (h.empty()) return std::nullopt;
    return h.top();
  }

  void place(std::size_t p, std::size_t j) {
    assign_[p] = static_cast<int>(j);
    ++count_[j];
    const double* row = &u_[p * m_];
    for (std::size_t k = 0; k < m_; ++k)
      if (k != j) heaps_[j * m_ + k].push({row[j] - row[k], p});
  }

  std::size_t n_, m_;
  const std::vector<double>& u_;
  std::vector<int> assign_;
  std::vector<std::int64_t> count_, cap_;
  std::vector<Heap> heaps_;
};

struct Evaluated {
  std::vector<int> x;
  double quality = 0, cost = 0, lagrangian = 0;  // lagrangian = λ·budget + Σ(q − λc)
};

Evaluated solve_at(const AssignmentProblem& p, double lambda) {
  const std::size_t n = p.prompts, m = p.models;
  std::vector<double> u(n * m);
  for (std::size_t i = 0; i < n * m; ++i) u[i] = p.quality[i] - lambda * p.cost[i];
  Augmenter a(n, m, u, p.capacity);
  for (std::size_t i = 0; i < n; ++i) a.insert(i);
  Evaluated e;
  e.x = a.assignment();
  double value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i * m + static_cast<std::size_t>(e.x[i]);
    e.quality += p.quality[k];
    e.cost += p.cost[k];
    value += u[k];
  }
  e.lagrangian = (std::isfinite(p.budget) ? lambda * p.budget : 0) + value;
  return e;
}

}  // namespace

Result<std::vector<int>> max_utility_assignment(std::size_t n, std::size_t m,
                                                const std::vector<double>& utility,
                                                const std::vector<std::int64_t>& capacity) {
  auto ok = check(n, m, utility, capacity, "utility");
  if (!ok) return ok.error();
  Augmenter a(n, m, utility, capacity);
  for (std::size_t i = 0; i < n; ++i) a.insert(i);
  return a.assignment();
}

Result<AssignmentResult> solve_assignment(const AssignmentProblem& p) {
  const std::size_t n = p.prompts, m = p.models;
  if (auto ok = check(n, m, p.quality, p.capacity, "quality"); !ok) return ok.error();
  if (auto ok = check(n, m, p.cost, p.capacity, "cost"); !ok) return ok.error();
  for (double c : p.cost)
    if (c < 0) return bad("cost has a negative entry");
  if (std::isnan(p.budget) || p.budget < 0) return bad("the budget must be a number >= 0");
  AssignmentResult r;
  auto finish = [&](const Evaluated& e, double lambda, double bound) {
    r.model = e.x;
    r.quality = e.quality;
    r.cost = e.cost;
    r.lambda = lambda;
    r.upper_bound = bound;
  };
  Evaluated lo = solve_at(p, 0);
  ++r.solves;
  if (lo.cost <= p.budget) {  // the budget does not bind: the capacitated optimum is exact
    finish(lo, 0, lo.quality);
    return r;
  }
  double upper = lo.lagrangian;  // the dual at λ = 0
  // Find a λ whose solution is within budget, doubling from a scale where cost matters.
  double max_q = 0, max_c = 0;
  for (std::size_t i = 0; i < n * m; ++i) {
    max_q = std::max(max_q, std::abs(p.quality[i]));
    if (p.cost[i] > 0) max_c = std::max(max_c, p.cost[i]);
  }
  double lambda_lo = 0, lambda_hi = max_c > 0 ? std::max(max_q, 1e-9) / max_c : 1;
  Evaluated hi = solve_at(p, lambda_hi);
  ++r.solves;
  upper = std::min(upper, hi.lagrangian);
  for (int k = 0; hi.cost > p.budget && k < 200; ++k) {
    lambda_lo = lambda_hi;
    lo = std::move(hi);
    lambda_hi *= 4;
    hi = solve_at(p, lambda_hi);
    ++r.solves;
    upper = std::min(upper, hi.lagrangian);
  }
  if (hi.cost > p.budget) {  // no assignment within the capacities meets the budget
    finish(hi, lambda_hi, upper);
    r.within_budget = false;
    return r;
  }
  for (int k = 0; k < 100 && lambda_hi - lambda_lo > 1e-12 * lambda_hi; ++k) {
    const double mid = 0.5 * (lambda_lo + lambda_hi);
    Evaluated e = solve_at(p, mid);
    ++r.solves;
    upper = std::min(upper, e.lagrangian);
    if (e.cost <= p.budget) {
      lambda_hi = mid;
      hi = std::move(e);
    } else {
      lambda_lo = mid;
      lo = std::move(e);
    }
  }
  finish(hi, lambda_hi, upper);
  // Greedy exchange: spend the rest of the budget on single moves (to a model with a free slot)
  // by decreasing quality gained per dollar.
  std::vector<std::int64_t> count(m, 0);
  for (int j : r.model) ++count[static_cast<std::size_t>(j)];
  struct Move {
    double ratio, dq, dc;
    std::size_t i, j;
  };
  std::vector<Move> moves;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t from = static_cast<std::size_t>(r.model[i]);
    for (std::size_t j = 0; j < m; ++j) {
      const double dq = p.quality[i * m + j] - p.quality[i * m + from];
      const double dc = p.cost[i * m + j] - p.cost[i * m + from];
      if (dq <= 0) continue;
      moves.push_back({dc <= 0 ? std::numeric_limits<double>::infinity() : dq / dc, dq, dc, i, j});
    }
  }
  std::sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) {
    if (a.ratio != b.ratio) return a.ratio > b.ratio;
    return a.dq > b.dq;
  });
  double left = p.budget - r.cost;
  std::vector<bool> moved(n, false);
  for (const auto& mv : moves) {
    if (moved[mv.i] || mv.dc > left) continue;
    const std::size_t from = static_cast<std::size_t>(r.model[mv.i]);
    if (count[mv.j] >= cap_of(p.capacity, mv.j, n)) continue;
    --count[from];
    ++count[mv.j];
    r.model[mv.i] = static_cast<int>(mv.j);
    r.quality += mv.dq;
    r.cost += mv.dc;
    left -= mv.dc;
    moved[mv.i] = true;
    ++r.exchanges;
  }
  r.upper_bound = std::max(upper, r.quality);
  return r;
}

}  // namespace switchboard::policies
