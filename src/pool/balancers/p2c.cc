// `p2c` (power of two choices, Mitzenmacher 2001): two distinct replicas drawn at random, the less
// loaded of them wins (the first drawn on a tie). Nearly as even as least_outstanding without
// herding every gateway thread onto the same replica between load updates. Options: `seed`.
#include "pool/hash.h"
#include "pool/options.h"
#include "switchboard/balancer.h"

namespace switchboard::pool {
namespace {

class PowerOfTwo final : public Balancer {
 public:
  explicit PowerOfTwo(std::uint64_t seed) : random_(seed) {}

 protected:
  Replica& choose(std::span<Replica* const> eligible, const RouteRequest&) override {
    std::size_t n = eligible.size();
    if (n == 1) return *eligible[0];
    std::size_t a = random_.below(n);
    std::size_t b = random_.below(n - 1);
    if (b >= a) ++b;  // distinct from a, still uniform
    Replica* x = eligible[a];
    Replica* y = eligible[b];
    return y->load() < x->load() ? *y : *x;
  }

 private:
  CounterRandom random_;
};

const BalancerRegistrar kRegister(
    "p2c", [](const BalancerContext& ctx) -> Result<std::unique_ptr<Balancer>> {
      Options opts(ctx, "p2c", {"seed"});
      auto seed = static_cast<std::uint64_t>(opts.integer("seed", 0, 0, INT64_MAX));
      return std::unique_ptr<Balancer>(std::make_unique<PowerOfTwo>(seed));
    });

}  // namespace
}  // namespace switchboard::pool
