// Replica selection: a Balancer picks one replica of a model for one request.
//
// Contract: pick() is called concurrently from every worker thread with a non-empty span of
// candidate replicas, must not block, and returns one of them. Balancers are built per model
// from the model's `balancer:` name via BalancerRegistry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "switchboard/policy.h"
#include "switchboard/registry.h"

namespace switchboard {

namespace config {
struct ReplicaConfig;
}

// Runtime state of one replica, shared by all workers.
struct Replica {
  const config::ReplicaConfig* config = nullptr;  // constant after construction
  std::string model;                              // the model it serves
  std::string authorization;  // "Bearer <key>" read from the environment at start-up; never logged
  std::size_t index = 0;      // unique across the gateway; the upstream connection-pool key
  std::atomic<std::int64_t> in_flight{0};
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  virtual Replica& pick(std::span<Replica* const> candidates, const RouteRequest& request) = 0;
};

using BalancerFactory = std::function<std::unique_ptr<Balancer>()>;
using BalancerRegistry = Registry<BalancerFactory>;
using BalancerRegistrar = Registrar<BalancerFactory>;

}  // namespace switchboard
