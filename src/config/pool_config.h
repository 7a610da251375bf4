// Per-model pool settings: outlier ejection, retries and their budget, hedging, active health
// checks, the replicas' /metrics scraper, and the LoRA adapters a model serves. Parsed with the
// rest of the configuration (config.cc); docs/pool.md documents every key and default.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace switchboard::config {

struct OutlierConfig {                    // `outlier_ejection:`
  std::int32_t consecutive_failures = 5;  // failed attempts in a row that eject a replica; 0 = off
  std::chrono::milliseconds base_ejection{1000};  // first ejection; doubles per ejection in a row
  std::chrono::milliseconds max_ejection{30000};  // backoff cap
  // At most this share of the model's replicas ejected at once (at least one): below 100, a few
  // poison requests failing on every replica cannot eject the whole model — and a model whose
  // replicas are all dead keeps being tried on the rest (docs/pool.md).
  std::int32_t max_ejection_percent = 100;
};

struct RetryConfig {              // `retry:`
  std::int32_t max_attempts = 3;  // attempts on this model per request (1 = no retry)
  double budget_percent = 20;     // concurrent retries ≤ this % of the model's active requests…
  std::int64_t min_retries = 3;   // …or this many, whichever is larger
};

struct HedgeConfig {  // `hedge:` (absent = off)
  bool enabled = false;
  std::chrono::milliseconds after{0};  // send a second attempt when the first has no answer by then
  std::int32_t max = 1;                // extra attempts (only 1 is supported)
};

struct HealthCheckConfig {  // `health_check:` (absent = off)
  bool enabled = false;
  std::string path = "/health";
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{1000};
  std::int32_t unhealthy_after = 2;  // failed checks in a row that mark a replica down
  std::int32_t healthy_after = 1;    // passed checks in a row that mark it up again
};

struct LoadMetricsConfig {  // `load_metrics:` (absent = off)
  bool enabled = false;
  std::string path = "/metrics";
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{500};  // default: half the interval, at most 500 ms
};

struct PoolConfig {
  OutlierConfig outlier;
  RetryConfig retry;
  HedgeConfig hedge;
  HealthCheckConfig health_check;
  LoadMetricsConfig load_metrics;
  std::vector<std::string> adapters;  // LoRA adapter names clients may ask for as `model`
};

}  // namespace switchboard::config
