#pragma once
// The gauges /metrics reads from live state at each scrape rather than counting on requests:
// replica load and availability, capacity prices and loads, route budgets, learning observations,
// the decision store's health, the shared repeat queue. Also drops the series of replicas, models
// and routes a reload removed (they would show their last value for ever).
//
// Contract: runs as GatewayMetrics::before_render, so never by two scrapes at once (it calls
// Family::retain on the families it owns).

#include "metrics/metrics.h"

namespace switchboard::http {
class Server;
}
namespace switchboard::store {
class DecisionStore;
}
namespace switchboard::pipeline {
struct Runtime;
namespace learning {
class SharedRepeats;
}

// `repeats` may be null (gateways not sharing implicit feedback).
void refresh_scrape_gauges(const Runtime& rt, store::DecisionStore& store,
                           const learning::SharedRepeats* repeats, metrics::GatewayMetrics& m);

// Connections and request-body memory of the server the gateway is attached to.
void refresh_front_door_gauges(const http::Server& server, metrics::GatewayMetrics& m);

}  // namespace switchboard::pipeline
