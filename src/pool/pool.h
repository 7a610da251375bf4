// The pool of a model: helpers that turn configuration into Replica fields and balancers, shared
// by the gateway's runtime (pipeline/runtime.cc) and the fleet simulator (sim/).
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/balancer.h"
#include "switchboard/result.h"

namespace switchboard::config {
struct ReplicaConfig;
}

namespace switchboard::pool {

// Copies the pool shape of `rc` (max_context, adapters, max_adapters) into `r` and sets its
// ordinal (its position among the model's replicas). Call before the balancer is built.
void init_replica(Replica& r, const config::ReplicaConfig& rc, std::uint32_t ordinal);

// Builds the balancer registered under `type`. `options` is the `balancer:` mapping (or a null node
// when the balancer was named by a plain string); `replicas` are all of the model's replicas in
// ordinal order. Errors (kBadRequest, "bad_config"): unknown type (the message lists the known
// ones), unknown or malformed option — each message starts with a file:line:col location.
Result<std::unique_ptr<Balancer>> make_balancer(const std::string& type, const YAML::Node& options,
                                                std::span<Replica* const> replicas,
                                                const std::string& where,
                                                const std::string& source);

// RouteRequest::prefix_blocks as `balancer` wants them for a prompt (empty when it ignores them):
// pool::prefix_block_hashes() with the balancer's block size, of at most as many blocks as it
// looks at. The gateway calls it once per request and model; the vector must outlive the pick.
std::vector<std::uint64_t> prefix_blocks_for(const Balancer& balancer, std::string_view prompt);

// Whether `r` accepts the request's prompt_tokens + max_output_tokens (true when either is
// unknown).
bool fits(const Replica& r, const RouteRequest& request);

}  // namespace switchboard::pool
