// Capacities and budgets that hold for a fleet of gateways, not for each one (docs/capacity.md):
// every control interval each gateway's CapacityController publishes what it measured — per model
// its load in the capacity's unit (requests/s, tokens/s or requests in flight), per route its spend
// rate (USD/h) — and takes one dual-ascent step on the fleet's sums instead of its own figures, so
// that all gateways see the same loads and move their prices together.
//
// The Redis implementation (`state: {redis: URL}`, the section the rate limits and the learner
// share): one hash per model and capacity unit (`<prefix>cap:m:<name>:<unit>`) and per route (`<prefix>cap:r:<name>`), one
// field per gateway process (a random id) holding "<value> <unix ms>"; each exchange is one
// pipelined round trip (HSET + PEXPIRE + HGETALL per hash) on the controller's thread, never on
// the request path. A field counts while younger than max(3 intervals, 2 s) (a stopped gateway's
// share fades out; it deletes its fields when it stops cleanly); fields older than a minute are
// deleted by whoever reads them. Hosts' clocks are assumed within a fraction of that window (NTP).
// Redis unreachable: exchange() returns nullopt and the controller steps on this gateway's own
// figures until it is back (logged once per outage).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access/settings.h"

namespace switchboard::pipeline {

class CapacityFleet {
 public:
  // Per model and per route, in the order of the names the fleet was made with.
  struct Measures {
    std::vector<double> models, routes;
    // exchange(): how many controllers the sums cover (this one included): one per gateway, two
    // for a gateway whose previous runtime still finishes requests after a hot reload.
    std::size_t gateways = 1;
  };
  virtual ~CapacityFleet() = default;
  // Publishes this gateway's `local` figures and returns the fleet's sums (this gateway's
  // included), or nullopt when the fleet cannot be reached (the caller uses `local`).
  virtual std::optional<Measures> exchange(const Measures& local, std::int64_t now_ms) = 0;
};

std::unique_ptr<CapacityFleet> redis_capacity_fleet(const access::RedisSettings& redis,
                                                    std::vector<std::string> models,
                                                    std::vector<std::string> routes,
                                                    std::chrono::milliseconds interval);

}  // namespace switchboard::pipeline
