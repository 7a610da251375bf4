// Replica health on the request path: passive outlier ejection and the healthy-candidate filter.
//
// A replica is *available* when the active health check has not marked it down
// (ReplicaHealth::down) and it is not ejected (ejected_until_ms is in the past). The gateway
// reports every attempt's outcome: record_failure() after a connect error, reset, timeout or 5xx;
// record_success() after any other answer. After `consecutive_failures` failures in a row the
// replica is ejected for base × 2^(k−1) ms, capped at max, where k counts its ejections since its
// last success. When the ejection ends the replica is picked again (as a probe): one success
// (of an attempt sent after the last failure) resets both counters, one more failure ejects it again for twice as long.
//
// Everything here is lock-free (relaxed atomics) and allocation-free for pools of up to 64
// replicas; safe to call from every worker thread at once.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "switchboard/balancer.h"

namespace switchboard::pool {

struct OutlierPolicy {
  std::int32_t consecutive_failures = 5;  // failures in a row that eject; 0 = never eject
  std::int64_t base_ejection_ms = 1000;   // first ejection
  std::int64_t max_ejection_ms = 30000;   // cap of the exponential backoff
  // Of the replicas record_failure() is shown, at most this share ejected at once — always at
  // least one (Envoy's max_ejection_percent).
  std::int32_t max_ejection_percent = 100;
};

// Milliseconds of the steady clock (the time base of ejected_until_ms).
inline std::int64_t steady_ms(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline std::int64_t steady_ms() { return steady_ms(std::chrono::steady_clock::now()); }

bool available(const Replica& r, std::int64_t now_ms);

// The ejection time of the k-th ejection in a row (k >= 1): base × 2^(k−1), at most max.
std::int64_t ejection_ms(const OutlierPolicy& policy, std::int32_t k);

// Resets the failure and ejection counters (writes only when they are not zero already) after an
// attempt sent at `sent_ms` (steady_ms()) succeeded — unless a failure was counted since it was
// sent: a stream that ends well minutes after its head says nothing of the replica's state now,
// and must not reset the backoff other requests' failures built up meanwhile.
void record_success(Replica& r, std::int64_t sent_ms);
// Counts a failure; ejects the replica when it reaches policy.consecutive_failures and is not
// ejected already — unless `model` (all of its model's replicas, `r` among them) already has
// max(1, max_ejection_percent % of them) ejected. Returns the ejection's length in ms when this call
// ejected it, else 0.
std::int64_t record_failure(Replica& r, const OutlierPolicy& policy, std::int64_t now_ms,
                            std::span<Replica* const> model = {});

// A candidate list on the stack for pools of up to 64 replicas (heap beyond).
class CandidateBuffer {
 public:
  Replica** reserve(std::size_t n) {
    if (n <= small_.size()) return small_.data();
    large_.resize(n);
    return large_.data();
  }

 private:
  std::array<Replica*, 64> small_;
  std::vector<Replica*> large_;
};

struct Candidates {
  std::span<Replica* const> replicas;  // available and not excluded, in the pool's order
  std::size_t unavailable = 0;  // replicas left out as ejected or down (not counting excluded)
};

// The replicas of `all` that are available at `now_ms` and not in `exclude` (replicas a request
// already tried). One pass, no allocation for up to 64 replicas; the result views `buffer`.
Candidates healthy_candidates(std::span<Replica* const> all,
                              std::span<const Replica* const> exclude, std::int64_t now_ms,
                              CandidateBuffer& buffer);

// The replicas of `all` not in `exclude`, whatever their health (the last resort when none is
// available).
std::span<Replica* const> untried(std::span<Replica* const> all,
                                  std::span<const Replica* const> exclude, CandidateBuffer& buffer);

}  // namespace switchboard::pool
