#include "metrics/metrics.h"

#include <fmt/format.h>

namespace switchboard::metrics {

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
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

std::string label_text(const std::vector<std::string>& names, const std::vector<std::string>& values,
                       const std::string& extra = "") {
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

}  // namespace

template <>
void Family<Counter>::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name_, help_, name_);
  std::lock_guard lock(mu_);
  for (const auto& [values, c] : series_) sample(out, name_, label_text(labels_, values), c->value());
}

template <>
void Family<Gauge>::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name_, help_, name_);
  std::lock_guard lock(mu_);
  for (const auto& [values, g] : series_) sample(out, name_, label_text(labels_, values), g->value());
}

template <>
void Family<Histogram>::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name_, help_, name_);
  std::lock_guard lock(mu_);
  for (const auto& [values, h] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < Histogram::kBounds.size(); ++i) {
      cumulative += h->bucket(i);
      sample(out, name_ + "_bucket", label_text(labels_, values, fmt::format("le=\"{}\"", Histogram::kBounds[i])),
             static_cast<double>(cumulative));
    }
    sample(out, name_ + "_bucket", label_text(labels_, values, "le=\"+Inf\""), static_cast<double>(h->count()));
    sample(out, name_ + "_sum", label_text(labels_, values), h->sum());
    sample(out, name_ + "_count", label_text(labels_, values), static_cast<double>(h->count()));
  }
}

std::string GatewayMetrics::render() {
  if (before_render) before_render();
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
  retries.render(out);
  budget_exhausted.render(out);
  hedges.render(out);
  embeddings.render(out);
  ejections.render(out);
  out += "# HELP switchboard_requests_in_flight Chat requests being served now.\n"
         "# TYPE switchboard_requests_in_flight gauge\n";
  sample(out, "switchboard_requests_in_flight", "", static_cast<double>(in_flight.value()));
  out += "# HELP switchboard_decisions_dropped_total Decision records dropped because the writer queue was full.\n"
         "# TYPE switchboard_decisions_dropped_total counter\n";
  sample(out, "switchboard_decisions_dropped_total", "", static_cast<double>(decisions_dropped.value()));
  return out;
}

}  // namespace switchboard::metrics
