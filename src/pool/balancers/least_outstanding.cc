// `least_outstanding`: the replica with the fewest requests in flight; ties rotate so that an idle
// pool is still spread evenly.
#include "switchboard/balancer.h"

namespace switchboard::pool {
namespace {

class LeastOutstanding final : public Balancer {
 public:
  Replica& pick(std::span<Replica* const> candidates, const RouteRequest&) override {
    std::size_t n = candidates.size();
    std::size_t start = next_.fetch_add(1, std::memory_order_relaxed) % n;
    Replica* best = candidates[start];
    auto best_load = best->in_flight.load(std::memory_order_relaxed);
    for (std::size_t i = 1; i < n; ++i) {
      Replica* r = candidates[(start + i) % n];
      auto load = r->in_flight.load(std::memory_order_relaxed);
      if (load < best_load) {
        best = r;
        best_load = load;
      }
    }
    return *best;
  }

 private:
  std::atomic<std::size_t> next_{0};
};

const BalancerRegistrar kRegister("least_outstanding", [] { return std::make_unique<LeastOutstanding>(); });

}  // namespace
}  // namespace switchboard::pool
