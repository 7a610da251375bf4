// The retry budget of one model (Envoy's rule): a retry may start only while the retries in
// progress on the model stay below max(min_retries, budget_percent % of the model's active
// requests). "Active requests" are the attempts this gateway has in flight on the model's
// replicas (Replica::in_flight summed), retries included. The budget caps how much extra load
// retries add when a model is failing: with the default 20 %, a failing fleet sees at most
// 1.2 × its normal request rate, never the max_attempts × a naive retry loop would send.
//
// Thread-safe, lock-free; a Token returns its slot when destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "switchboard/balancer.h"

namespace switchboard::pool {

class RetryBudget {
 public:
  RetryBudget(double budget_percent, std::int64_t min_retries)
      : percent_(budget_percent), min_retries_(min_retries) {}

  class Token {
   public:
    Token() = default;
    explicit Token(RetryBudget* b) : b_(b) {}
    Token(Token&& o) noexcept : b_(o.b_) { o.b_ = nullptr; }
    Token& operator=(Token&& o) noexcept {
      if (this != &o) {
        release();
        b_ = o.b_;
        o.b_ = nullptr;
      }
      return *this;
    }
    ~Token() { release(); }
    explicit operator bool() const { return b_ != nullptr; }

   private:
    void release() {
      if (b_) b_->active_.fetch_sub(1, std::memory_order_relaxed);
      b_ = nullptr;
    }
    RetryBudget* b_ = nullptr;
  };

  // The largest number of concurrent retries allowed with `active_requests` in flight.
  std::int64_t limit(std::int64_t active_requests) const {
    auto by_share =
        static_cast<std::int64_t>(percent_ * static_cast<double>(active_requests) / 100.0);
    return by_share > min_retries_ ? by_share : min_retries_;
  }
  // A token when a retry may start now (holding it counts the retry as in progress), else an
  // empty token and exhausted() grows by one.
  Token try_acquire(std::int64_t active_requests) {
    std::int64_t cap = limit(active_requests);
    std::int64_t cur = active_.load(std::memory_order_relaxed);
    while (cur < cap) {
      if (active_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed))
        return Token(this);
    }
    exhausted_.fetch_add(1, std::memory_order_relaxed);
    return Token();
  }
  std::int64_t in_progress() const { return active_.load(std::memory_order_relaxed); }
  std::uint64_t exhausted() const { return exhausted_.load(std::memory_order_relaxed); }

 private:
  const double percent_;
  const std::int64_t min_retries_;
  std::atomic<std::int64_t> active_{0};
  std::atomic<std::uint64_t> exhausted_{0};
};

// Σ in_flight over `replicas`: a model's active requests for the budget.
inline std::int64_t active_requests(std::span<Replica* const> replicas) {
  std::int64_t n = 0;
  for (const Replica* r : replicas) n += r->in_flight.load(std::memory_order_relaxed);
  return n;
}

}  // namespace switchboard::pool
