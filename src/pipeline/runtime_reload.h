// What a hot reload (docs/admin.md) keeps of the runtime it replaces.
#pragma once

#include <cstddef>

#include "pipeline/runtime.h"

namespace switchboard::pipeline {

// Carries the state of replicas that did not change from `old` into `fresh`, before `fresh` serves
// a request: the upstream pool key (Replica::index, so pooled connections stay in use), the health
// state (down, ejection and its backoff, consecutive failures) and the last load report. A replica
// is unchanged when a model of the same name has a replica with the same id, URL, API key
// variable and key. Every other replica of `fresh` gets a new pool key from `next_index` (keys are
// never reused: an old request may still hold a connection under its old key). Not carried: the
// in-flight count (the old runtime's requests finish on the old replica objects), balancer state
// (round-robin position, prefix table) and retry budgets, which start afresh.
// Returns how many replicas carried their state over.
std::size_t carry_over_replicas(const Runtime& old, Runtime& fresh, std::size_t& next_index);

// Carries the capacity prices and budget λ (docs/capacity.md) of models and routes present in both
// runtimes from `old` into `fresh` (CapacityController::carry_over), before `fresh`'s controller
// starts; a reload then does not reset them to 0. Returns how many models and routes carried.
std::size_t carry_over_prices(const Runtime& old, Runtime& fresh);

}  // namespace switchboard::pipeline
