// Shared selection helpers for the balancers.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "switchboard/balancer.h"

namespace switchboard::pool {

// Each candidate's load() read once, on the stack for pools of up to 64 replicas.
class LoadSnapshot {
 public:
  explicit LoadSnapshot(std::span<Replica* const> candidates) : n_(candidates.size()) {
    if (n_ > kInline) large_.resize(n_);
    std::int64_t* out = data();
    for (std::size_t i = 0; i < n_; ++i) out[i] = candidates[i]->load();
  }
  std::span<const std::int64_t> loads() const { return {data(), n_}; }
  std::int64_t operator[](std::size_t i) const { return data()[i]; }

 private:
  static constexpr std::size_t kInline = 64;
  std::int64_t* data() { return n_ > kInline ? large_.data() : small_; }
  const std::int64_t* data() const { return n_ > kInline ? large_.data() : small_; }
  std::size_t n_;
  std::int64_t small_[kInline];
  std::vector<std::int64_t> large_;
};

// A balancer's turn: the next one, or for another try of one request (RouteRequest::retry) the
// current one, not advanced.
inline std::size_t take_turn(std::atomic<std::size_t>& next, const RouteRequest& request) {
  return request.retry ? next.load(std::memory_order_relaxed)
                       : next.fetch_add(1, std::memory_order_relaxed);
}

// The candidate with the lowest load(); among equals, the first found scanning from `start`
// (callers rotate `start`, so that an idle pool is still spread evenly).
inline Replica* least_loaded(std::span<Replica* const> candidates, std::size_t start) {
  std::size_t n = candidates.size();
  start %= n;
  Replica* best = candidates[start];
  std::int64_t best_load = best->load();
  for (std::size_t i = 1; i < n; ++i) {
    std::size_t j = start + i;
    Replica* r = candidates[j >= n ? j - n : j];
    std::int64_t load = r->load();
    if (load < best_load) {
      best = r;
      best_load = load;
    }
  }
  return best;
}

// The load above which a replica counts as overloaded: the least-loaded candidate's load times
// (1 + margin), plus `slack` requests so that a nearly idle pool does not flap. Relative to the
// least loaded rather than the mean, so that a popular prefix or adapter spreads to idle replicas
// instead of settling on a subset just under the mean's margin while the rest stay idle.
inline double overload_threshold(std::span<const std::int64_t> loads, double margin, double slack) {
  std::int64_t least = loads[0];
  for (auto l : loads) least = l < least ? l : least;
  return static_cast<double>(least) * (1 + margin) + slack;
}

}  // namespace switchboard::pool
