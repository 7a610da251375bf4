// `round_robin`: replicas in turn, regardless of load.
#include "switchboard/balancer.h"

namespace switchboard::pool {
namespace {

class RoundRobin final : public Balancer {
 public:
  Replica& pick(std::span<Replica* const> candidates, const RouteRequest&) override {
    return *candidates[next_.fetch_add(1, std::memory_order_relaxed) % candidates.size()];
  }

 private:
  std::atomic<std::size_t> next_{0};
};

const BalancerRegistrar kRegister("round_robin", [] { return std::make_unique<RoundRobin>(); });

}  // namespace
}  // namespace switchboard::pool
