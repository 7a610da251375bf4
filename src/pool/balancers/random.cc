// `random`: a uniformly random replica. Options: `seed` (default 0), for reproducible runs.
#include "pool/hash.h"
#include "pool/options.h"
#include "switchboard/balancer.h"

namespace switchboard::pool {
namespace {

class RandomBalancer final : public Balancer {
 public:
  explicit RandomBalancer(std::uint64_t seed) : random_(seed) {}

 protected:
  Replica& choose(std::span<Replica* const> eligible, const RouteRequest&) override {
    return *eligible[random_.below(eligible.size())];
  }

 private:
  CounterRandom random_;
};

const BalancerRegistrar kRegister(
    "random", [](const BalancerContext& ctx) -> Result<std::unique_ptr<Balancer>> {
      Options opts(ctx, "random", {"seed"});
      auto seed = static_cast<std::uint64_t>(opts.integer("seed", 0, 0, INT64_MAX));
      return std::unique_ptr<Balancer>(std::make_unique<RandomBalancer>(seed));
    });

}  // namespace
}  // namespace switchboard::pool
