#include "pipeline/scrape_gauges.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "core/wall_clock.h"
#include "http/server.h"
#include "pipeline/capacity_controller.h"
#include "pipeline/learning/shared_repeats.h"
#include "pipeline/runtime.h"
#include "pool/health.h"
#include "store/decision_store.h"
#include "switchboard/learning.h"

namespace switchboard::pipeline {
namespace {

using Labels = std::vector<std::string>;

void refresh_replicas(const Runtime& rt, metrics::GatewayMetrics& m) {
  std::set<std::pair<std::string_view, std::string_view>> replicas;
  for (const auto& [name, model] : rt.models)
    for (const auto& r : model.replicas) replicas.emplace(name, r->config->id);
  const auto known = [&](const Labels& l) { return replicas.contains({l[0], l[1]}); };
  m.replica_in_flight.retain(known);
  m.replica_available.retain(known);
  m.replica_reported_waiting.retain([&](const Labels& l) {
    return known(l) && rt.models.find(l[0])->second.config->pool.load_metrics.enabled;
  });
  const std::int64_t now = pool::steady_ms();
  for (const auto& [name, model] : rt.models)
    for (const auto& r : model.replicas) {
      m.replica_in_flight.with({name, r->config->id}).set(r->in_flight.load());
      m.replica_available.with({name, r->config->id}).set(pool::available(*r, now) ? 1 : 0);
      if (model.config->pool.load_metrics.enabled)
        m.replica_reported_waiting.with({name, r->config->id})
            .set(r->reported.assumed.load(std::memory_order_relaxed)
                     ? -1  // no report of its own (the balancers assume one: replica_monitor.cc)
                     : r->reported.waiting.load(std::memory_order_relaxed));
    }
}

void refresh_capacity(const Runtime& rt, metrics::GatewayMetrics& m) {
  const auto models =
      rt.control ? rt.control->models() : std::vector<CapacityController::ModelState>{};
  const auto routes =
      rt.control ? rt.control->routes() : std::vector<CapacityController::RouteState>{};
  const auto controlled = [&](const Labels& l) {
    return std::ranges::any_of(
        models, [&](const auto& s) { return s.model == l[0] && (l.size() < 2 || s.unit == l[1]); });
  };
  const auto budgeted = [&](const Labels& l) {
    return std::ranges::any_of(routes, [&](const auto& r) { return r.route == l[0]; });
  };
  m.model_price.retain(controlled);
  m.model_load.retain(controlled);
  m.model_capacity.retain(controlled);
  m.route_lambda.retain(budgeted);
  m.route_spend.retain(budgeted);
  m.route_budget.retain(budgeted);
  for (const auto& s : models) {
    m.model_price.with({s.model}).set(s.price);
    m.model_load.with({s.model, s.unit}).set(s.load);
    m.model_capacity.with({s.model, s.unit}).set(s.capacity);
  }
  for (const auto& r : routes) {
    m.route_lambda.with({r.route}).set(r.lambda);
    m.route_spend.with({r.route}).set(r.spend_usd_per_hour);
    m.route_budget.with({r.route}).set(r.budget_usd_per_hour);
  }
}

// Read from the policies (the learner sets them off the request path).
void refresh_learning(const Runtime& rt, metrics::GatewayMetrics& m) {
  std::map<std::string_view, std::int64_t> observed;
  for (const auto& [name, route] : rt.routes)
    if (const auto* p = dynamic_cast<const LearningPolicy*>(route.policy.get()))
      observed.emplace(name, static_cast<std::int64_t>(p->observations()));
  m.learning_observations.retain([&](const Labels& l) { return observed.contains(l[0]); });
  for (const auto& [name, n] : observed) m.learning_observations.with({name}).set(n);
}

void refresh_store(store::DecisionStore& store, const learning::SharedRepeats* repeats,
                   metrics::GatewayMetrics& m) {
  m.decisions_dropped_total_set(store.dropped());
  m.decision_write_failures.set(static_cast<std::int64_t>(store.write_failures()));
  const auto health = store.health();
  m.decision_store_failing_seconds.set(
      health.failing ? static_cast<double>(unix_ms() - health.failing_since_ms) / 1000.0 : 0.0);
  if (repeats) {
    m.implicit_shared.with({"delivered"}).set(static_cast<std::int64_t>(repeats->delivered()));
    m.implicit_shared.with({"dropped"}).set(static_cast<std::int64_t>(repeats->dropped()));
  }
}

}  // namespace

void refresh_scrape_gauges(const Runtime& rt, store::DecisionStore& store,
                           const learning::SharedRepeats* repeats, metrics::GatewayMetrics& m) {
  refresh_replicas(rt, m);
  refresh_capacity(rt, m);
  refresh_learning(rt, m);
  refresh_store(store, repeats, m);
}

void refresh_front_door_gauges(const http::Server& server, metrics::GatewayMetrics& m) {
  m.client_connections.set(server.connections());
  m.client_connections_max.set(static_cast<std::int64_t>(server.max_connections()));
  m.request_body_bytes.set(static_cast<std::int64_t>(server.body_bytes_held()));
  m.request_body_budget_bytes.set(static_cast<std::int64_t>(server.max_body_budget()));
  m.front_door_present.store(true, std::memory_order_relaxed);
}

}  // namespace switchboard::pipeline
