#include "pool/pool.h"

#include <algorithm>
#include <array>
#include <vector>

#include "config/config.h"
#include "pool/options.h"
#include "pool/prefix_hash.h"

namespace switchboard {

Replica& Balancer::pick(std::span<Replica* const> candidates, const RouteRequest& request) {
  std::int64_t need = request.prompt_tokens + request.max_output_tokens;
  if (need <= 0) return choose(candidates, request);
  bool all_fit = true;
  for (Replica* r : candidates) {
    if (r->max_context > 0 && r->max_context < need) {
      all_fit = false;
      break;
    }
  }
  if (all_fit) return choose(candidates, request);  // the common case: no copy

  // Some replicas are too small: choose among the ones that fit or, if none does, among the
  // largest (every candidate declared a limit, else it would fit).
  std::int64_t largest = 0;
  for (Replica* r : candidates) largest = std::max(largest, r->max_context);
  bool any_fit = largest >= need;
  auto keep = [&](const Replica* r) {
    return any_fit ? (r->max_context == 0 || r->max_context >= need) : r->max_context == largest;
  };
  std::array<Replica*, 64> small;
  std::vector<Replica*> large;
  Replica** out = small.data();
  if (candidates.size() > small.size()) {
    large.resize(candidates.size());
    out = large.data();
  }
  std::size_t n = 0;
  for (Replica* r : candidates)
    if (keep(r)) out[n++] = r;
  return choose(std::span<Replica* const>(out, n), request);
}

namespace pool {

void init_replica(Replica& r, const config::ReplicaConfig& rc, std::uint32_t ordinal) {
  r.ordinal = ordinal;
  r.max_context = rc.max_context;
  r.adapters = rc.adapters;
  r.max_adapters = rc.max_adapters;
}

std::vector<std::uint64_t> prefix_blocks_for(const Balancer& balancer, std::string_view prompt) {
  auto b = balancer.prefix_blocking();
  if (b.block_chars == 0) return {};
  return prefix_block_hashes(prompt, b.block_chars, b.max_blocks);
}

bool fits(const Replica& r, const RouteRequest& request) {
  std::int64_t need = request.prompt_tokens + request.max_output_tokens;
  return need <= 0 || r.max_context <= 0 || need <= r.max_context;
}

Result<std::unique_ptr<Balancer>> make_balancer(const std::string& type, const YAML::Node& options,
                                                std::span<Replica* const> replicas,
                                                const std::string& where,
                                                const std::string& source) {
  const auto& registry = BalancerRegistry::instance();
  const BalancerFactory* factory = registry.find(type);
  if (!factory) {
    std::string known;
    for (const auto& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      where + ": unknown balancer '" + type + "' (known: " + known + ")");
  }
  BalancerContext ctx{options, replicas, where, source};
  try {
    return (*factory)(ctx);
  } catch (const OptionError& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config", e.message);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config", where + ": " + e.msg);
  }
}

}  // namespace pool
}  // namespace switchboard
