// The dashboard's live figures: a ring of per-second aggregates of the decision records, in memory.
//
// Why in memory and not from SQLite: the dashboard polls every two seconds, and percentiles over
// the last minutes from SQLite would scan and parse every record of the window on each poll (the
// table has no time index; ids sort by time, but latency percentiles still need every row). The
// ring costs one short mutex hold per request (add() runs on the record path, after the answer),
// answers a poll in microseconds, and its memory is bounded: `seconds` buckets (default 900, a
// quarter hour), each with at most `max_labels` series per dimension (more labels go to "(other)",
// so a client naming random models cannot grow it). History beyond the ring is in SQLite
// (GET /admin/decisions) and Prometheus (/metrics). The ring restarts empty with the process and
// survives a config reload.
//
// Dimensions: requests, errors (outcome other than ok and client_gone), latency (log-spaced
// histogram, percentiles interpolated within a bucket), cost per model (a multi-call plan's calls
// each to their own model), route and key, model mix per route (the model that answered), cache
// lookups and hits. `key` is the API key name when the record has one (the keys module passes it;
// empty = none).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "store/decision_store.h"

namespace switchboard::admin {

class TimeSeries {
 public:
  // Log-spaced latency buckets: upper bounds from 1 ms, ×1.25 each, to ~150 s; one more for above.
  static constexpr std::size_t kLatencyBuckets = 54;

  explicit TimeSeries(std::size_t seconds = 900, std::size_t max_labels = 64);

  // Counts one finished request in the second `now_s` (unix seconds; default: the record's own
  // time_ms / 1000). Thread-safe.
  void add(const store::DecisionRecord& r, std::string_view key = {}, std::int64_t now_s = -1);

  // The last `seconds` seconds up to `now_s` (unix seconds), in windows of `step` seconds:
  // {"now_s","step_s","t":[window start...],"requests_per_s","error_rate","p50_ms","p95_ms",
  //  "p99_ms","cache_hit_rate" (null where no lookup), "cost_usd":{"by_model","by_route","by_key":
  //  {label:[usd per window]}}, "mix":{route:{model:requests}} (whole span),
  //  "totals":{"requests","errors","cost_usd","p50_ms","p95_ms","p99_ms","cache_hit_rate"}}.
  nlohmann::json snapshot(std::int64_t now_s, std::size_t seconds, std::size_t step) const;

  // Upper bound of latency bucket i in ms (the last is +inf).
  static double bucket_bound_ms(std::size_t i);
  // The q-quantile (0..1) of a latency histogram in ms, interpolated in its bucket; 0 when empty.
  static double quantile_ms(const std::array<std::uint32_t, kLatencyBuckets>& h, double q);

 private:
  using Labels = std::map<std::string, double, std::less<>>;
  struct Bucket {
    std::int64_t second = -1;
    std::uint64_t requests = 0, errors = 0, cache_lookups = 0, cache_hits = 0;
    std::array<std::uint32_t, kLatencyBuckets> latency{};
    Labels cost_model, cost_route, cost_key;
    std::map<std::string, Labels, std::less<>> mix;  // route -> model -> requests
    std::size_t mix_entries = 0;
  };
  void add_label(Labels& m, std::string_view label, double v) const;

  std::size_t max_labels_;
  mutable std::mutex mu_;
  std::vector<Bucket> ring_;  // guarded by mu_; slot = second % size
};

}  // namespace switchboard::admin
