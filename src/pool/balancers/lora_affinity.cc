// `lora_affinity`: a request for a LoRA adapter goes to a replica that has the adapter loaded, so
// it does not wait for a load (or evict another adapter); new adapters are spread over replicas
// with free adapter slots. Requests without an adapter go to the least-loaded replica.
//
// The balancer keeps its own belief of which adapters each replica holds: the replica's configured
// `adapters` at start, plus every adapter it has since sent there, forgotten least recently used
// first once the replica's `max_adapters` slots are full (as vLLM's LRU of loaded adapters does).
//
// Rule for a request with adapter A (overloaded = load above the least-loaded replica's
// × (1 + balance_margin) + balance_slack, as in prefix_affinity):
//   1. the least-loaded holder of A that is not overloaded;
//   2. else (no holder, or all overloaded) the replica with a free slot that is not overloaded and
//      holds the fewest adapters (ties: least loaded) — A is spread there;
//   3. else the least-loaded holder, if any;
//   4. else the least-loaded replica, whose least recently used adapter gives way to A.
//
// Options: balance_margin (0.5), balance_slack (2). Thread safety: the belief is guarded by a
// mutex.
#include <algorithm>
#include <functional>
#include <mutex>
#include <vector>

#include "pool/options.h"
#include "pool/select.h"

namespace switchboard::pool {
namespace {

class LoraAffinity final : public Balancer {
 public:
  LoraAffinity(std::span<Replica* const> replicas, double margin, double slack)
      : margin_(margin), slack_(slack), loaded_(replicas.size()), slots_(replicas.size(), 0) {
    for (const Replica* r : replicas) {
      if (r->ordinal >= loaded_.size()) continue;
      slots_[r->ordinal] = r->max_adapters;
      for (const auto& a : r->adapters) touch(r->ordinal, hash(a));
    }
  }

 protected:
  Replica& choose(std::span<Replica* const> eligible, const RouteRequest& request) override {
    std::size_t n = eligible.size();
    std::size_t start = take_turn(next_, request) % n;
    if (request.adapter.empty() || n == 1) return *least_loaded(eligible, start);
    std::uint64_t a = hash(request.adapter);
    const LoadSnapshot loads(eligible);
    const double limit = overload_threshold(loads.loads(), margin_, slack_);

    std::lock_guard lock(mu_);
    std::size_t holder = n, holder_ok = n, free_ok = n, least = n;
    for (std::size_t k = 0; k < n; ++k) {
      std::size_t i = start + k < n ? start + k : start + k - n;
      std::uint32_t o = eligible[i]->ordinal;
      bool ok = static_cast<double>(loads[i]) <= limit;
      if (least == n || loads[i] < loads[least]) least = i;
      if (o >= loaded_.size()) continue;
      if (holds(o, a)) {
        if (holder == n || loads[i] < loads[holder]) holder = i;
        if (ok && (holder_ok == n || loads[i] < loads[holder_ok])) holder_ok = i;
      } else if (ok && has_free_slot(o)) {
        auto used = loaded_[o].size();
        if (free_ok == n || used < loaded_[eligible[free_ok]->ordinal].size() ||
            (used == loaded_[eligible[free_ok]->ordinal].size() && loads[i] < loads[free_ok]))
          free_ok = i;
      }
    }
    std::size_t pick = holder_ok != n ? holder_ok
                       : free_ok != n ? free_ok
                       : holder != n  ? holder
                                      : least;
    if (eligible[pick]->ordinal < loaded_.size()) touch(eligible[pick]->ordinal, a);
    return *eligible[pick];
  }

 private:
  static std::uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  bool holds(std::uint32_t o, std::uint64_t a) const {
    const auto& v = loaded_[o];
    return std::find(v.begin(), v.end(), a) != v.end();
  }
  bool has_free_slot(std::uint32_t o) const {
    return slots_[o] <= 0 || static_cast<std::int64_t>(loaded_[o].size()) < slots_[o];
  }
  // Makes `a` the most recently used adapter of replica o (front of the vector), evicting the
  // least recently used (back) when the slots are full.
  void touch(std::uint32_t o, std::uint64_t a) {
    auto& v = loaded_[o];
    auto it = std::find(v.begin(), v.end(), a);
    if (it != v.end()) {
      std::rotate(v.begin(), it, it + 1);
      return;
    }
    if (slots_[o] > 0 && static_cast<std::int64_t>(v.size()) >= slots_[o]) v.pop_back();
    v.insert(v.begin(), a);
  }

  const double margin_, slack_;
  std::atomic<std::size_t> next_{0};
  std::mutex mu_;
  std::vector<std::vector<std::uint64_t>>
      loaded_;                       // per ordinal, most recent first; guarded by mu_
  std::vector<std::int64_t> slots_;  // per ordinal; constant after construction
};

const BalancerRegistrar kRegister(
    "lora_affinity", [](const BalancerContext& ctx) -> Result<std::unique_ptr<Balancer>> {
      Options opts(ctx, "lora_affinity", {"balance_margin", "balance_slack"});
      double margin = opts.number("balance_margin", 0.5, 0, 1000);
      double slack = opts.number("balance_slack", 2, 0, 1e6);
      return std::unique_ptr<Balancer>(std::make_unique<LoraAffinity>(ctx.replicas, margin, slack));
    });

}  // namespace
}  // namespace switchboard::pool
