#include "pool/health.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>

#include "pool/spin_lock.h"

namespace switchboard::pool {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;

bool excluded(const Replica* r, std::span<const Replica* const> exclude) {
  for (const Replica* e : exclude)
    if (e == r) return true;
  return false;
}
}  // namespace

bool available(const Replica& r, std::int64_t now_ms) {
  return !r.health.down.load(kRelaxed) && r.health.ejected_until_ms.load(kRelaxed) <= now_ms &&
         r.health.paused_until_ms.load(kRelaxed) <= now_ms;
}

std::int64_t ejection_ms(const OutlierPolicy& policy, std::int32_t k) {
  std::int64_t ms = std::max<std::int64_t>(policy.base_ejection_ms, 1);
  for (std::int32_t i = 1; i < k && ms < policy.max_ejection_ms; ++i) ms *= 2;
  return std::min(ms, std::max(policy.max_ejection_ms, policy.base_ejection_ms));
}

void record_success(Replica& r, std::int64_t sent_ms) {
  if (r.health.last_failure_ms.load(kRelaxed) > sent_ms) return;  // news older than a failure
  if (r.health.consecutive_failures.load(kRelaxed) != 0)
    r.health.consecutive_failures.store(0, kRelaxed);
  if (r.health.ejections.load(kRelaxed) != 0) r.health.ejections.store(0, kRelaxed);
}

std::int64_t record_failure(Replica& r, const OutlierPolicy& policy, std::int64_t now_ms,
                            std::span<Replica* const> model) {
  std::int32_t failures = r.health.consecutive_failures.fetch_add(1, kRelaxed) + 1;
  if (r.health.last_failure_ms.load(kRelaxed) < now_ms) r.health.last_failure_ms.store(now_ms, kRelaxed);
  if (policy.consecutive_failures <= 0 || failures < policy.consecutive_failures) return 0;
  std::int64_t until = r.health.ejected_until_ms.load(kRelaxed);
  if (until > now_ms) return 0;  // already ejected (a concurrent failure got there first)
  const auto share = static_cast<std::size_t>(std::clamp(policy.max_ejection_percent, 0, 100));
  // Bounded: counting the others and ejecting this one are one step for the model (two replicas
  // reaching the threshold at once on two threads both saw room, and a model of two was ejected
  // whole). One of a few striped locks, by the model's replica list; taken only to eject.
  std::unique_lock<SpinLock> hold;
  if (!model.empty() && share < 100) {
    static std::array<SpinLock, 16> stripes;
    hold = std::unique_lock(
        stripes[(reinterpret_cast<std::uintptr_t>(model.data()) >> 4) % stripes.size()]);
    const auto allowed = std::max<std::size_t>(1, model.size() * share / 100);
    std::size_t ejected = 0;
    for (const Replica* other : model)
      if (other != &r && other->health.ejected_until_ms.load(kRelaxed) > now_ms) ++ejected;
    if (ejected >= allowed) return 0;  // its failures still count: ejected once another returns
  }
  std::int32_t k = r.health.ejections.load(kRelaxed) + 1;
  std::int64_t ms = ejection_ms(policy, k);
  if (!r.health.ejected_until_ms.compare_exchange_strong(until, now_ms + ms, kRelaxed)) return 0;
  r.health.ejections.store(k, kRelaxed);
  return ms;
}

Candidates healthy_candidates(std::span<Replica* const> all,
                              std::span<const Replica* const> exclude, std::int64_t now_ms,
                              CandidateBuffer& buffer) {
  Replica** out = buffer.reserve(all.size());
  std::size_t n = 0, unavailable = 0;
  for (Replica* r : all) {
    if (!exclude.empty() && excluded(r, exclude)) continue;
    if (available(*r, now_ms)) {
      out[n++] = r;
    } else {
      ++unavailable;
    }
  }
  return {std::span<Replica* const>(out, n), unavailable};
}

std::span<Replica* const> untried(std::span<Replica* const> all,
                                  std::span<const Replica* const> exclude,
                                  CandidateBuffer& buffer) {
  Replica** out = buffer.reserve(all.size());
  std::size_t n = 0;
  for (Replica* r : all)
    if (!excluded(r, exclude)) out[n++] = r;
  return {out, n};
}

}  // namespace switchboard::pool
