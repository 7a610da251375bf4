// Background watchers of a model's replicas, run on one io_context (the gateway's first worker):
//
//  * the active health check (`health_check:`): GET <path> on every replica each interval; a
//    2xx answer within timeout passes. unhealthy_after failures in a row set ReplicaHealth::down
//    (balancers then skip the replica); healthy_after passes in a row clear it. A pass also ends a
//    passive ejection early (as Envoy's successful_active_health_check_uneject_host), so a
//    restarted replica is back within one interval instead of after its ejection backoff.
//  * the load scraper (`load_metrics:`): GET <path> each interval, parsed by parse_vllm_gauges()
//    into Replica::reported. A failed scrape (or one without both request gauges) writes −1, so a
//    stale report is never used.
//
// An exception in one check or scrape is logged and the loop goes on (a check that threw counts as
// failed; a scrape that threw clears the report). The loops own their HTTP client and run until
// the io_context stops; the Runtime (its models,
// replicas and credentials) must outlive the io_context's run. They live on the serving side (not
// in pool/, which does no I/O); the gauges are parsed by pool/prom_text.h.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <atomic>
#include <cstddef>
#include <memory>
#include <functional>
#include <string_view>

#include "pipeline/runtime.h"

namespace switchboard::pipeline {

// Starts the health-check and scrape loops the models' configs ask for; returns how many loops
// it started (0 when none is configured). The loops run until the io_context stops.
std::size_t start_replica_monitors(boost::asio::io_context& io, boost::asio::ssl::context& tls,
                                   const Runtime& runtime);

// The same for a runtime that may be replaced (hot reload): each loop holds `runtime` (so it stays
// alive while a loop still runs) and ends at its next wake-up after `*stop` became true.
std::size_t start_replica_monitors(boost::asio::io_context& io, boost::asio::ssl::context& tls,
                                   std::shared_ptr<const Runtime> runtime,
                                   std::shared_ptr<const std::atomic<bool>> stop);

// Runs one iteration of a monitor loop: true when it completed; false when it threw (logged with
// `what`; cancellation is rethrown).
boost::asio::awaitable<bool> run_guarded(std::string_view what,
                                         const std::function<boost::asio::awaitable<void>()>& step);

}  // namespace switchboard::pipeline
