// Reads the load gauges a vLLM-style server exposes on /metrics (Prometheus text format).
//
// Recognised: vllm:num_requests_running, vllm:num_requests_waiting, vllm:gpu_cache_usage_perc
// (v1 servers: vllm:kv_cache_usage_perc). Series of the same gauge (one per model_name label) are
// summed, except cache usage, of which the largest is kept. Comments, other metrics and malformed
// lines are skipped; untrusted input never throws.
#pragma once

#include <optional>
#include <string_view>

namespace switchboard::pool {

struct VllmGauges {
  std::optional<double> running;
  std::optional<double> waiting;
  std::optional<double> kv_usage;  // fraction, 0..1
};

VllmGauges parse_vllm_gauges(std::string_view text);

}  // namespace switchboard::pool
