// Prometheus metrics (text exposition format 0.0.4), lock-free on the hot path once a series exists.
//
// A Family owns the series of one metric name, one per distinct label-value tuple; with() finds or
// creates a series under a mutex and returns a reference that stays valid for the process's life,
// so callers that see the same labels often may keep it. Counter/Gauge/Histogram updates are
// relaxed atomics. (Debian has no prometheus-cpp package; this is the small subset we need.)
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace switchboard::metrics {

class Counter {
 public:
  void inc(double by = 1) {
    auto bits = static_cast<std::uint64_t>(by * kScale);
    v_.fetch_add(bits, std::memory_order_relaxed);
  }
  double value() const { return static_cast<double>(v_.load(std::memory_order_relaxed)) / kScale; }

 private:
  static constexpr double kScale = 1e9;  // fixed point: exact for integer counts, 1e-9 for dollars
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void add(std::int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
  void set(std::int64_t v) { v_.store(v, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Latency histogram in seconds with fixed buckets from 100 µs to 120 s.
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,     0.25,   0.5,   1,      2.5,   10,    120};
  void observe(double seconds);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9; }
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}
  T& with(const std::vector<std::string>& values) {
    std::lock_guard lock(mu_);
    auto& slot = series_[values];
    if (!slot) slot = std::make_unique<T>();
    return *slot;
  }
  void render(std::string& out) const;

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_;  // guarded by mu_
};

// The gateway's metrics. One instance per process.
struct GatewayMetrics {
  Family<Counter> requests{"switchboard_requests_total", "Chat requests answered, by outcome.",
                           {"route", "model", "replica", "status"}};
  Family<Counter> errors{"switchboard_request_errors_total", "Requests that ended in an error, by error code.",
                         {"route", "model", "code"}};
  Family<Histogram> latency{"switchboard_request_duration_seconds",
                            "Time from request received to response complete.", {"route", "model", "replica"}};
  Family<Histogram> upstream_latency{"switchboard_upstream_duration_seconds",
                                     "Time from sending upstream to the upstream's response head (first byte).",
                                     {"model", "replica"}};
  Family<Counter> tokens{"switchboard_tokens_total", "Tokens used, from upstream usage or counted.",
                         {"model", "kind"}};
  Family<Counter> cost{"switchboard_cost_usd_total", "Cost in US dollars at the configured prices.", {"model"}};
  Family<Gauge> replica_in_flight{"switchboard_replica_in_flight", "Requests in flight per replica.",
                                  {"model", "replica"}};
  Family<Counter> retries{"switchboard_retries_total", "Retries sent (another replica or a fallback model).",
                          {"model"}};
  Family<Counter> budget_exhausted{"switchboard_retry_budget_exhausted_total",
                                   "Retries (and hedges) not sent because the model's retry budget was spent.",
                                   {"model"}};
  Family<Counter> hedges{"switchboard_hedges_total", "Hedged attempts sent.", {"model"}};
  Family<Counter> embeddings{"switchboard_embedding_requests_total",
                             "Calls to the http embedding provider, by result (ok or the error code).",
                             {"result"}};
  Family<Counter> ejections{"switchboard_replica_ejections_total",
                            "Replicas ejected after consecutive failures.", {"model", "replica"}};
  Family<Gauge> replica_available{"switchboard_replica_available",
                                  "1 when the replica may be picked (not ejected, not down).", {"model", "replica"}};
  Gauge in_flight;
  Gauge decisions_dropped;  // mirrors DecisionStore::dropped()
  void decisions_dropped_total_set(std::uint64_t n) { decisions_dropped.set(static_cast<std::int64_t>(n)); }

  // Called at the start of render(), e.g. to copy replica load into replica_in_flight.
  std::function<void()> before_render;
  std::string render();
};

}  // namespace switchboard::metrics
