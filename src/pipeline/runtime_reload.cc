#include "pipeline/runtime_reload.h"

#include "pipeline/capacity_controller.h"

namespace switchboard::pipeline {
namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;

const Replica* same_replica(const Runtime& old, const std::string& model, const Replica& r,
                            const std::string& authorization) {
  const ModelRuntime* m = old.find_model(model);
  if (!m) return nullptr;
  for (const auto& o : m->replicas) {
    if (o->config->id != r.config->id) continue;
    if (o->config->url != r.config->url || o->config->api_key_env != r.config->api_key_env ||
        m->authorization[o->ordinal] != authorization)
      return nullptr;
    return o.get();
  }
  return nullptr;
}
}  // namespace

std::size_t carry_over_replicas(const Runtime& old, Runtime& fresh, std::size_t& next_index) {
  std::size_t carried = 0;
  for (auto& [name, m] : fresh.models) {
    for (auto& r : m.replicas) {
      const Replica* o = same_replica(old, name, *r, m.authorization[r->ordinal]);
      if (!o) {
        r->index = next_index++;
        continue;
      }
      r->index = o->index;
      // The health checker's verdict and the scraper's report only while the new config still
      // checks and scrapes: nothing else would ever change them (a replica marked down stayed
      // down, and a last report held, until a restart).
      const auto& pool = m.config->pool;
      if (pool.health_check.enabled)
        r->health.down.store(o->health.down.load(kRelaxed), kRelaxed);
      r->health.ejected_until_ms.store(o->health.ejected_until_ms.load(kRelaxed), kRelaxed);
      r->health.consecutive_failures.store(o->health.consecutive_failures.load(kRelaxed), kRelaxed);
      r->health.ejections.store(o->health.ejections.load(kRelaxed), kRelaxed);
      r->health.last_failure_ms.store(o->health.last_failure_ms.load(kRelaxed), kRelaxed);
      if (pool.load_metrics.enabled) {
        r->reported.running.store(o->reported.running.load(kRelaxed), kRelaxed);
        r->reported.waiting.store(o->reported.waiting.load(kRelaxed), kRelaxed);
        r->reported.kv_usage_permille.store(o->reported.kv_usage_permille.load(kRelaxed),
                                            kRelaxed);
        r->reported.updated_ms.store(o->reported.updated_ms.load(kRelaxed), kRelaxed);
        r->reported.own_at_report.store(o->reported.own_at_report.load(kRelaxed), kRelaxed);
        r->reported.assumed.store(o->reported.assumed.load(kRelaxed), kRelaxed);
      }
      ++carried;
    }
  }
  return carried;
}

std::size_t carry_over_prices(const Runtime& old, Runtime& fresh) {
  if (!old.control || !fresh.control) return 0;
  return fresh.control->carry_over(*old.control);
}

}  // namespace switchboard::pipeline
