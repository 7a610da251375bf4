// `round_robin`: replicas in turn, regardless of load. No options.
#include "pool/options.h"
#include "pool/select.h"
#include "switchboard/balancer.h"

namespace switchboard::pool {
namespace {

class RoundRobin final : public Balancer {
 protected:
  Replica& choose(std::span<Replica* const> eligible, const RouteRequest& request) override {
    return *eligible[take_turn(next_, request) % eligible.size()];
  }

 private:
  std::atomic<std::size_t> next_{0};
};

const BalancerRegistrar kRegister(
    "round_robin", [](const BalancerContext& ctx) -> Result<std::unique_ptr<Balancer>> {
      Options(ctx, "round_robin", {});  // rejects any option
      return std::unique_ptr<Balancer>(std::make_unique<RoundRobin>());
    });

}  // namespace
}  // namespace switchboard::pool
