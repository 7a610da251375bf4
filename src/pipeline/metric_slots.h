// The request metrics' series of one route or model, resolved once and then updated without the
// families' mutexes (metrics::SeriesSlot). Kept on the runtime objects (RouteRuntime,
// ModelRuntime, pipeline/runtime.h), so a reload builds fresh ones; built by build_runtime().
//
// Only the label sets of the hot path have slots: a successful request's
// switchboard_requests_total{status="200", api="chat"} and its duration, per route and replica
// (other client APIs, far rarer behind a router, count through Family::with()); the upstream
// latency per replica; tokens and cost per model. Anything else (errors, other statuses, LoRA
// adapters named as the model, multi-call plans' calls) goes through Family::with() as before.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string_view>

#include "metrics/metrics.h"

namespace switchboard::pipeline {

// One request label set (route or model named by the client) on one replica.
// The client API whose successful requests have a slot (the decision record's `api`).
inline constexpr std::string_view kSlottedApi = "chat";

struct ReplicaSlots {
  metrics::SeriesSlot<metrics::Counter> ok;  // switchboard_requests_total{..., "200", kSlottedApi}
  metrics::SeriesSlot<metrics::Histogram> latency;  // switchboard_request_duration_seconds
};

// Slots for `replicas` indexes, allocated in blocks of kBlock on first use (any thread): a route
// holds slots for the replicas that served it, not for every replica of the gateway (routes ×
// replicas grew with the square of a large fleet: 4,000 of each were 512 MB).
class ReplicaSlotTable {
 public:
  explicit ReplicaSlotTable(std::size_t replicas)
      : blocks_(std::make_unique<std::atomic<ReplicaSlots*>[]>((replicas + kBlock - 1) / kBlock)),
        size_(replicas) {}
  ~ReplicaSlotTable() {
    for (std::size_t b = 0; b < (size_ + kBlock - 1) / kBlock; ++b) delete[] blocks_[b].load();
  }
  ReplicaSlotTable(const ReplicaSlotTable&) = delete;
  ReplicaSlotTable& operator=(const ReplicaSlotTable&) = delete;
  // Null when `index` is out of range.
  ReplicaSlots* at(std::size_t index) const {
    if (index >= size_) return nullptr;
    std::atomic<ReplicaSlots*>& slot = blocks_[index / kBlock];
    ReplicaSlots* block = slot.load(std::memory_order_acquire);
    if (!block) {
      auto* fresh = new ReplicaSlots[kBlock];
      if (slot.compare_exchange_strong(block, fresh, std::memory_order_acq_rel))
        block = fresh;
      else
        delete[] fresh;  // another thread's won; `block` is it
    }
    return &block[index % kBlock];
  }

 private:
  static constexpr std::size_t kBlock = 16;
  std::unique_ptr<std::atomic<ReplicaSlots*>[]> blocks_;
  std::size_t size_;
};

struct ModelSlots {
  explicit ModelSlots(std::size_t own_replicas)
      : direct(own_replicas),
        upstream_latency(std::make_unique<metrics::SeriesSlot<metrics::Histogram>[]>(own_replicas)),
        own_replicas(own_replicas) {}
  metrics::SeriesSlot<metrics::Counter> prompt_tokens, completion_tokens, cost;
  // Requests that named this model itself, by Replica::ordinal: only its own replicas answer them
  // (sized by them, not by every replica of the gateway: models × replicas grew with the square of
  // a large fleet's size).
  ReplicaSlotTable direct;
  // switchboard_upstream_duration_seconds, by Replica::ordinal.
  std::unique_ptr<metrics::SeriesSlot<metrics::Histogram>[]> upstream_latency;
  std::size_t own_replicas;
};

struct RouteSlots {
  explicit RouteSlots(std::size_t replicas_in_gateway) : by_replica(replicas_in_gateway) {}
  ReplicaSlotTable by_replica;
};

}  // namespace switchboard::pipeline
