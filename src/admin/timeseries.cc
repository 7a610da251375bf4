#include "admin/timeseries.h"

#include <algorithm>
#include <cmath>

namespace switchboard::admin {
namespace {

constexpr std::string_view kOther = "(other)";

std::size_t latency_bucket(double ms) {
  if (!(ms > 1)) return 0;  // also NaN
  const auto i = static_cast<std::size_t>(std::ceil(std::log(ms) / std::log(1.25)));
  return std::min(i, TimeSeries::kLatencyBuckets - 1);
}

nlohmann::json rate_or_null(std::uint64_t part, std::uint64_t whole) {
  return whole ? nlohmann::json(static_cast<double>(part) / static_cast<double>(whole))
               : nlohmann::json(nullptr);
}

}  // namespace

TimeSeries::TimeSeries(std::size_t seconds, std::size_t max_labels)
    : max_labels_(std::max<std::size_t>(max_labels, 1)), ring_(std::max<std::size_t>(seconds, 1)) {}

double TimeSeries::bucket_bound_ms(std::size_t i) {
  if (i + 1 >= kLatencyBuckets) return INFINITY;
  return std::pow(1.25, static_cast<double>(i));
}

double TimeSeries::quantile_ms(const std::array<std::uint32_t, kLatencyBuckets>& h, double q) {
  std::uint64_t total = 0;
  for (auto n : h) total += n;
  if (!total) return 0;
  const double target = q * static_cast<double>(total);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (!h[i]) continue;
    if (static_cast<double>(seen + h[i]) >= target) {
      const double lo = i == 0 ? 0 : bucket_bound_ms(i - 1);
      const double hi = std::isinf(bucket_bound_ms(i)) ? lo * 1.25 : bucket_bound_ms(i);
      const double within = (target - static_cast<double>(seen)) / static_cast<double>(h[i]);
      return lo + (hi - lo) * std::clamp(within, 0.0, 1.0);
    }
    seen += h[i];
  }
  return bucket_bound_ms(h.size() - 2);
}

void TimeSeries::add_label(Labels& m, std::string_view label, double v) const {
  if (label.empty()) return;
  auto it = m.find(label);
  if (it == m.end()) {
    if (m.size() >= max_labels_) label = kOther;
    it = m.try_emplace(std::string(label), 0.0).first;
  }
  it->second += v;
}

void TimeSeries::add(const store::DecisionRecord& r, std::string_view key, std::int64_t now_s) {
  if (now_s < 0) now_s = r.time_ms / 1000;
  const bool error = r.outcome != "ok" && r.outcome != "client_gone";
  const double cost = std::isfinite(r.cost_usd) && r.cost_usd > 0 ? r.cost_usd : 0;
  std::lock_guard lock(mu_);
  Bucket& b = ring_[static_cast<std::size_t>(now_s) % ring_.size()];
  if (b.second != now_s) {
    if (b.second > now_s) return;  // older than the ring
    b = Bucket{};
    b.second = now_s;
  }
  ++b.requests;
  if (error) ++b.errors;
  ++b.latency[latency_bucket(r.latency_ms)];
  if (r.cache) {
    ++b.cache_lookups;
    if (r.cache->status == "hit") ++b.cache_hits;
  }
  if (cost > 0) {
    // A multi-call plan's spend goes to the models it called, each its own calls' cost.
    if (!r.calls.empty()) {
      for (const auto& c : r.calls)
        if (std::isfinite(c.cost_usd) && c.cost_usd > 0)
          add_label(b.cost_model, c.model, c.cost_usd);
    } else {
      add_label(b.cost_model,
                r.model.empty() ? std::string_view("(none)") : std::string_view(r.model), cost);
    }
    add_label(b.cost_route, r.route, cost);
    add_label(b.cost_key, key, cost);
  }
  if (!r.route.empty() && !r.model.empty()) {
    auto it = b.mix.find(r.route);
    if (it == b.mix.end()) {
      if (b.mix.size() >= max_labels_ || b.mix_entries >= 4 * max_labels_) return;
      it = b.mix.try_emplace(r.route).first;
    }
    const auto before = it->second.size();
    if (b.mix_entries < 4 * max_labels_ || it->second.count(r.model))
      add_label(it->second, r.model, 1);
    b.mix_entries += it->second.size() - before;
  }
}

nlohmann::json TimeSeries::snapshot(std::int64_t now_s, std::size_t seconds,
                                    std::size_t step) const {
  seconds = std::clamp<std::size_t>(seconds, 1, ring_.size());
  step = std::clamp<std::size_t>(step, 1, seconds);
  const std::size_t windows = (seconds + step - 1) / step;
  const std::int64_t start = now_s - static_cast<std::int64_t>(windows * step) + 1;
  nlohmann::json t = nlohmann::json::array(), rps = nlohmann::json::array(),
                 err = nlohmann::json::array(), p50 = nlohmann::json::array(),
                 p95 = nlohmann::json::array(), p99 = nlohmann::json::array(),
                 hit = nlohmann::json::array();
  std::map<std::string, std::vector<double>> by_model, by_route, by_key;
  std::map<std::string, std::map<std::string, double>> mix;
  std::array<std::uint32_t, kLatencyBuckets> all_latency{};
  std::uint64_t all_requests = 0, all_errors = 0, all_lookups = 0, all_hits = 0;
  double all_cost = 0;
  auto spread = [&](std::map<std::string, std::vector<double>>& out, const Labels& in,
                    std::size_t w) {
    for (const auto& [label, v] : in) {
      auto& series = out[label];
      series.resize(windows, 0.0);
      series[w] += v;
    }
  };
  std::lock_guard lock(mu_);
  for (std::size_t w = 0; w < windows; ++w) {
    const std::int64_t from = start + static_cast<std::int64_t>(w * step);
    std::uint64_t requests = 0, errors = 0, lookups = 0, hits = 0;
    std::array<std::uint32_t, kLatencyBuckets> latency{};
    for (std::int64_t s = from; s < from + static_cast<std::int64_t>(step); ++s) {
      if (s < 0) continue;
      const Bucket& b = ring_[static_cast<std::size_t>(s) % ring_.size()];
      if (b.second != s) continue;
      requests += b.requests;
      errors += b.errors;
      lookups += b.cache_lookups;
      hits += b.cache_hits;
      for (std::size_t i = 0; i < kLatencyBuckets; ++i) latency[i] += b.latency[i];
      spread(by_model, b.cost_model, w);
      spread(by_route, b.cost_route, w);
      spread(by_key, b.cost_key, w);
      for (const auto& [c, v] : b.cost_model) all_cost += v;
      for (const auto& [route, models] : b.mix)
        for (const auto& [m, n] : models) mix[route][m] += n;
    }
    t.push_back(from);
    rps.push_back(static_cast<double>(requests) / static_cast<double>(step));
    err.push_back(rate_or_null(errors, requests));
    auto q = [&](double x) {
      return requests ? nlohmann::json(quantile_ms(latency, x)) : nlohmann::json(nullptr);
    };
    p50.push_back(q(0.5));
    p95.push_back(q(0.95));
    p99.push_back(q(0.99));
    hit.push_back(rate_or_null(hits, lookups));
    all_requests += requests;
    all_errors += errors;
    all_lookups += lookups;
    all_hits += hits;
    for (std::size_t i = 0; i < kLatencyBuckets; ++i) all_latency[i] += latency[i];
  }
  auto pad = [&](std::map<std::string, std::vector<double>>& m) {
    nlohmann::json j = nlohmann::json::object();
    for (auto& [label, series] : m) {
      series.resize(windows, 0.0);
      j[label] = series;
    }
    return j;
  };
  auto q_all = [&](double x) {
    return all_requests ? nlohmann::json(quantile_ms(all_latency, x)) : nlohmann::json(nullptr);
  };
  return {{"now_s", now_s},
          {"step_s", step},
          {"t", std::move(t)},
          {"requests_per_s", std::move(rps)},
          {"error_rate", std::move(err)},
          {"p50_ms", std::move(p50)},
          {"p95_ms", std::move(p95)},
          {"p99_ms", std::move(p99)},
          {"cache_hit_rate", std::move(hit)},
          {"cost_usd",
           {{"by_model", pad(by_model)}, {"by_route", pad(by_route)}, {"by_key", pad(by_key)}}},
          {"mix", mix},
          {"totals",
           {{"requests", all_requests},
            {"errors", all_errors},
            {"cost_usd", all_cost},
            {"p50_ms", q_all(0.5)},
            {"p95_ms", q_all(0.95)},
            {"p99_ms", q_all(0.99)},
            {"cache_hit_rate", rate_or_null(all_hits, all_lookups)}}}};
}

}  // namespace switchboard::admin
