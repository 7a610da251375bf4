// The fleet simulator: replays a request trace against N modelled replicas (sim/engine.h), routing
// every arrival with the gateway's own balancer code (switchboard::Balancer, built by
// pool::make_balancer). The simulator owns the Replica objects and keeps their in_flight counts
// exactly as the gateway does (incremented when a request is sent, decremented when its last token
// is out), so balancers read what they would read in the gateway. Single-threaded and
// deterministic: the same trace, options and balancer seed give the same result.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "sim/engine.h"
#include "sim/trace.h"
#include "switchboard/result.h"

namespace switchboard::sim {

struct SimOptions {
  EngineParams engine;
  std::size_t replicas = 8;
  double time_scale = 1;  // arrival times are divided by this (2 = twice the trace's request rate)
  std::vector<std::int64_t> max_context;  // per replica (empty = none declare one)
};

struct Summary {
  std::size_t requests = 0, completed = 0, rejected = 0;
  double hit_rate = 0;  // cached prompt tokens / prompt tokens, over admitted requests
  double ttft_p50_ms = 0, ttft_p90_ms = 0, ttft_p99_ms = 0;
  double e2e_p50_ms = 0, e2e_p99_ms = 0;
  double makespan_s = 0;       // first arrival -> last token
  double throughput_rps = 0;   // completed / makespan
  double output_tps = 0;       // output tokens / makespan
  double spread_requests = 0;  // max / mean requests per replica
  double spread_busy = 0;      // max / mean busy time per replica
  double spread_prefill = 0;   // max / mean prefill tokens computed per replica
};

struct RunResult {
  std::string balancer;
  std::vector<RequestOutcome> requests;  // by trace index
  std::vector<ReplicaCounters> replicas;
  Summary summary;
  double wall_s = 0;  // how long the simulation itself took
};

// Runs the trace through `balancer` (a registered type; `options` its mapping or null). Errors:
// an unknown balancer or bad option (kBadRequest, "bad_config").
Result<RunResult> simulate(const Trace& trace, const SimOptions& options,
                           const std::string& balancer,
                           const YAML::Node& balancer_options = YAML::Node());

// Nearest-rank percentile (q in [0,100]) of `values` (sorted in place); 0 when empty.
double percentile(std::vector<double>& values, double q);

Summary summarize(const Trace& trace, const std::vector<RequestOutcome>& requests,
                  const std::vector<ReplicaCounters>& replicas, std::int64_t makespan_us);

}  // namespace switchboard::sim
