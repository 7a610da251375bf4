// `least_outstanding`: the replica with the lowest load (Replica::load(): requests in flight, or
// the replica's own report when scraped); ties rotate so that an idle pool is still spread
// evenly. No options.
#include "pool/options.h"
#include "pool/select.h"

namespace switchboard::pool {
namespace {

class LeastOutstanding final : public Balancer {
 protected:
  Replica& choose(std::span<Replica* const> eligible, const RouteRequest& request) override {
    return *least_loaded(eligible, take_turn(next_, request));
  }

 private:
  std::atomic<std::size_t> next_{0};
};

const BalancerRegistrar kRegister(
    "least_outstanding", [](const BalancerContext& ctx) -> Result<std::unique_ptr<Balancer>> {
      Options(ctx, "least_outstanding", {});  // rejects any option
      return std::unique_ptr<Balancer>(std::make_unique<LeastOutstanding>());
    });

}  // namespace
}  // namespace switchboard::pool
