// Replica selection: a Balancer picks one replica of a model for one request.
//
// Contract: pick() is called concurrently from every worker thread (and, single-threaded, by the
// fleet simulator) with a non-empty span of candidate replicas, never blocks on I/O, and returns
// one of them. It first applies the context-length filter (a replica that declares max_context only
// gets prompts that fit), then asks the implementation's choose(). Balancers are built per model by
// the factory registered under the `balancer:` type (see pool/pool.h: make_balancer), once, from
// the model's replicas and the balancer's options; they keep only bounded internal state.
#pragma once

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "switchboard/policy.h"
#include "switchboard/registry.h"
#include "switchboard/result.h"

namespace switchboard {

namespace config {
struct ReplicaConfig;
}

// Load a replica reports about itself (vLLM-style Prometheus gauges on its /metrics), written by a
// scraper, read by balancers. Every field is -1 while there is no report; when a scrape fails the
// scraper writes an assumed load instead (`assumed`: the busiest recent real report of the replica
// or its peers, pipeline/replica_monitor.cc), or -1 when there is none. Relaxed atomics: a
// balancer may see a mix of two consecutive reports, which is harmless for a load estimate.
struct ReportedLoad {
  std::atomic<std::int64_t> running{-1};  // vllm:num_requests_running
  std::atomic<std::int64_t> waiting{-1};  // vllm:num_requests_waiting
  std::atomic<std::int32_t> kv_usage_permille{
      -1};  // vllm:gpu_cache_usage_perc (v1: kv_cache_usage_perc) × 1000
  std::atomic<std::int64_t> updated_ms{
      0};  // steady-clock milliseconds of the report, for the scraper
  std::atomic<std::int64_t> own_at_report{
      0};  // Replica::in_flight when the report arrived: this gateway's share of running + waiting
  std::atomic<bool> assumed{false};  // running/waiting are assumed, not the replica's own report
};

// Whether a replica may be picked, written by the gateway's outlier detection (pool/health.h) and
// active health checker (pipeline/replica_monitor.h), read on every pick. Relaxed atomics.
struct ReplicaHealth {
  std::atomic<std::int64_t> ejected_until_ms{0};    // steady-clock ms; passive ejection ends then
  // steady-clock ms; a pause the replica asked for (429 with Retry-After) ends then. Apart from the
  // ejection: neither a passing health check nor an answer ends it.
  std::atomic<std::int64_t> paused_until_ms{0};
  std::atomic<std::int32_t> consecutive_failures{0};  // failed attempts since the last success
  // steady-clock ms of the last failure counted; a success of an attempt sent before it does not
  // reset the counters (pool::record_success)
  std::atomic<std::int64_t> last_failure_ms{0};
  std::atomic<std::int32_t> ejections{0};  // ejections since the last success (backoff exponent)
  std::atomic<bool> down{false};           // the active health check's verdict
};

// Runtime state of one replica, shared by all workers. Not copyable (atomics); owned by the
// model's runtime (gateway) or by the simulator, and never moves once balancers have seen it.
struct Replica {
  // Constant after construction.
  const config::ReplicaConfig* config = nullptr;  // null in the simulator and unit tests
  std::string model;                              // the model it serves
  std::size_t index = 0;      // unique across the gateway; the upstream connection-pool key
  std::uint32_t ordinal = 0;  // position among its model's replicas (0..n-1); keys balancer state
  std::int64_t max_context = 0;       // tokens (prompt + max_tokens) it accepts; 0 = not declared
  std::vector<std::string> adapters;  // LoRA adapters loaded when it starts
  std::int64_t max_adapters = 0;      // adapter slots; 0 = not declared (no limit assumed)

  // Written concurrently.
  // in_flight and health sit together so that the health filter and a load-aware pick read one
  // cache line per replica.
  std::atomic<std::int64_t> in_flight{0};  // requests this gateway sent and that have not finished
  ReplicaHealth health;                    // ejection and health-check state
  ReportedLoad reported;                   // from the replica's /metrics, when scraped

  // The load balancers compare: the gateway's own in-flight count, plus — when a fresh report
  // exists — the report's running + waiting requests that were not this gateway's when it was
  // taken (other gateways' traffic and the server's own queue). Subtracting the gateway's share at
  // report time keeps a request that has finished since from counting until the next scrape, and
  // one sent since from counting twice.
  std::int64_t load() const {
    std::int64_t own = in_flight.load(std::memory_order_relaxed);
    std::int64_t waiting = reported.waiting.load(std::memory_order_relaxed);
    std::int64_t running = reported.running.load(std::memory_order_relaxed);
    if (waiting < 0 || running < 0) return own;
    std::int64_t others = running + waiting - reported.own_at_report.load(std::memory_order_relaxed);
    return others > 0 ? own + others : own;
  }
};

class Balancer {
 public:
  virtual ~Balancer() = default;

  // Returns one of `candidates` (non-empty). Replicas whose max_context is smaller than the
  // request's prompt_tokens + max_output_tokens are left out; when no candidate fits, only those
  // with the largest max_context are considered (the upstream then answers with its own error, as
  // the gateway's token count is an estimate). Thread-safe; never blocks on I/O.
  Replica& pick(std::span<Replica* const> candidates, const RouteRequest& request);

  // How this balancer wants RouteRequest::prefix_blocks cut: block_chars prompt characters per
  // block, at most max_blocks blocks; block_chars == 0 when it ignores them (then the gateway need
  // not hash the prompt). pool::prefix_blocks_for() applies it.
  struct PrefixBlocking {
    std::size_t block_chars = 0;
    std::size_t max_blocks = 0;
  };
  virtual PrefixBlocking prefix_blocking() const { return {}; }

 protected:
  // The implementation: one of `eligible` (non-empty, all fit the request's context).
  virtual Replica& choose(std::span<Replica* const> eligible, const RouteRequest& request) = 0;
};

// What a balancer factory gets: the model's replicas (ordinal order) and the `balancer:` options.
struct BalancerContext {
  const YAML::Node& options;           // the `balancer:` mapping (has `type`), or null when named
  std::span<Replica* const> replicas;  // every replica of the model; ordinal == position
  const std::string& where;            // "file:line:col" of the options, for error messages
  const std::string& source;           // the config file name, to name an option's own line
};

// Returns the balancer, or an Error (kBadRequest, "bad_config") whose message starts with `where`.
using BalancerFactory = std::function<Result<std::unique_ptr<Balancer>>(const BalancerContext&)>;
using BalancerRegistry = Registry<BalancerFactory>;
using BalancerRegistrar = Registrar<BalancerFactory>;

}  // namespace switchboard
