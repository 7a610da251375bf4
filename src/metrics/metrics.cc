#include "metrics/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace switchboard::metrics {

void Histogram::observe(double seconds) {
  if (!(seconds >= 0)) seconds = 0;  // negative or NaN
  // The first bucket whose bound is >= seconds (le is inclusive); past the last: +Inf.
  const auto i = static_cast<std::size_t>(
      std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  if (seconds != std::numeric_limits<double>::infinity())
    sum_.fetch_add(seconds, std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const {
  std::uint64_t n = 0;
  for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
  return n;
}

namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, const std::string& extra = "") {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i], escape(values[i]));
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double v) {
  out += fmt::format("{}{} {}\n", name, labels, v);
}

void sample(std::string& out, const std::string& name, const std::string& labels, std::uint64_t v) {
  out += fmt::format("{}{} {}\n", name, labels, v);
}

void sample(std::string& out, const std::string& name, const std::string& labels, std::int64_t v) {
  out += fmt::format("{}{} {}\n", name, labels, v);
}

// One unlabelled gauge: its HELP, TYPE and value.
void gauge(std::string& out, const char* name, const char* help, std::int64_t v) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
}

}  // namespace

template <>
void Family<Counter>::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name_, help_, name_);
  std::lock_guard lock(mu_);
  for (const auto& [values, c] : series_)
    sample(out, name_, label_text(labels_, values), c->value());
}

template <>
void Family<Gauge>::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name_, help_, name_);
  std::lock_guard lock(mu_);
  for (const auto& [values, g] : series_)
    sample(out, name_, label_text(labels_, values), g->value());
}

template <>
void Family<Value>::render(std::string& out) const {
  std::lock_guard lock(mu_);
  if (series_.empty()) return;  // only once a controller set them
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name_, help_, name_);
  for (const auto& [values, g] : series_)
    sample(out, name_, label_text(labels_, values), g->value());
}

template <>
void Family<Histogram>::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name_, help_, name_);
  std::lock_guard lock(mu_);
  for (const auto& [values, h] : series_) {
    // Each bucket is read once and the count derived from them, so the rendered buckets are
    // cumulative and _count equals the +Inf bucket even while observations land concurrently.
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < Histogram::kBounds.size(); ++i) {
      cumulative += h->bucket(i);
      sample(out, name_ + "_bucket",
             label_text(labels_, values, fmt::format("le=\"{}\"", Histogram::kBounds[i])),
             cumulative);
    }
    cumulative += h->bucket(Histogram::kBounds.size());
    sample(out, name_ + "_bucket", label_text(labels_, values, "le=\"+Inf\""), cumulative);
    sample(out, name_ + "_sum", label_text(labels_, values), h->sum());
    sample(out, name_ + "_count", label_text(labels_, values), cumulative);
  }
}

std::string GatewayMetrics::render(bool with_keys) {
  {
    std::lock_guard lock(hooks_mu_);
    if (before_render) before_render();
    std::erase_if(render_hooks_, [](const auto& hook) { return !hook(); });
  }
  std::string out;
  out.reserve(16 * 1024);
  requests.render(out);
  errors.render(out);
  latency.render(out);
  upstream_latency.render(out);
  tokens.render(out);
  cost.render(out);
  replica_in_flight.render(out);
  replica_available.render(out);
  replica_reported_waiting.render(out);
  retries.render(out);
  budget_exhausted.render(out);
  hedges.render(out);
  reasoning_refused.render(out);
  http_refused.render(out);
  embeddings.render(out);
  ejections.render(out);
  cache_lookups.render(out);
  cache_saved.render(out);
  session_turns.render(out);
  session_sync.render(out);
  implicit_shared.render(out);
  if (with_keys) {
    key_requests.render(out);
    key_tokens.render(out);
    key_cost.render(out);
  } else {
    out += "# switchboard_key_* (per API key) are served on the admin listener only "
           "(docs/keys.md)\n";
  }
  auth_refusals.render(out);
  model_price.render(out);
  model_load.render(out);
  model_capacity.render(out);
  route_lambda.render(out);
  route_spend.render(out);
  route_budget.render(out);
  feedback.render(out);
  learned.render(out);
  learning_contexts.render(out);
  learning_observations.render(out);
  if (ratelimit_state_present.load(std::memory_order_relaxed)) {
    out +=
        "# HELP switchboard_ratelimit_state_up 1 while the shared rate-limit state (Redis) is "
        "reachable; 0 while the gateway counts locally.\n"
        "# TYPE switchboard_ratelimit_state_up gauge\n";
    sample(out, "switchboard_ratelimit_state_up", "", ratelimit_state_up.value());
    out +=
        "# HELP switchboard_ratelimit_state_errors_total Failed round trips to the shared "
        "rate-limit state (Redis).\n"
        "# TYPE switchboard_ratelimit_state_errors_total counter\n";
    sample(out, "switchboard_ratelimit_state_errors_total", "", ratelimit_state_errors.value());
    out +=
        "# HELP switchboard_ratelimit_state_syncs_total Round trips to the shared rate-limit "
        "state (Redis) that sent this gateway's counts or read every gateway's totals back.\n"
        "# TYPE switchboard_ratelimit_state_syncs_total counter\n";
    sample(out, "switchboard_ratelimit_state_syncs_total", "", ratelimit_state_syncs.value());
  }
  out +=
      "# HELP switchboard_requests_in_flight Chat requests being served now.\n"
      "# TYPE switchboard_requests_in_flight gauge\n";
  sample(out, "switchboard_requests_in_flight", "", in_flight.value());
  if (front_door_present.load(std::memory_order_relaxed)) {
    gauge(out, "switchboard_client_connections", "Client connections open now.",
          client_connections.value());
    gauge(out, "switchboard_client_connections_max",
          "The bound on open client connections (server.max_connections, or derived from the "
          "descriptor limit).",
          client_connections_max.value());
    gauge(out, "switchboard_request_body_bytes",
          "Bytes of request bodies, and of what they parse into, held in memory now.",
          request_body_bytes.value());
    gauge(out, "switchboard_request_body_budget_bytes",
          "The bound on request_body_bytes (server.max_body_budget_bytes); a request past it is "
          "answered 503 overloaded.",
          request_body_budget_bytes.value());
  }
  out +=
      "# HELP switchboard_decisions_dropped_total Decision records dropped because the writer "
      "queue was full (or, at shutdown, they could not be written in time).\n"
      "# TYPE switchboard_decisions_dropped_total counter\n";
  sample(out, "switchboard_decisions_dropped_total", "", decisions_dropped.value());
  out +=
      "# HELP switchboard_decision_write_failures_total Decision-record transactions that failed "
      "(database locked elsewhere, disk full, ...) and were rolled back to be tried again.\n"
      "# TYPE switchboard_decision_write_failures_total counter\n";
  sample(out, "switchboard_decision_write_failures_total", "", decision_write_failures.value());
  out +=
      "# HELP switchboard_decision_store_failing_seconds How long decision records have failed to "
      "be written (0 while writes succeed); GET /healthz says degraded meanwhile.\n"
      "# TYPE switchboard_decision_store_failing_seconds gauge\n";
  sample(out, "switchboard_decision_store_failing_seconds", "",
         decision_store_failing_seconds.value());
  return out;
}

}  // namespace switchboard::metrics
