// Prometheus metrics (text exposition format 0.0.4), lock-free on the hot path once a series
// exists.
//
// A Family owns the series of one metric name, one per distinct label-value tuple. with() finds or
// creates a series under the family's mutex and returns a reference that stays valid, at the same
// address, for the life of the Family (the process's, for GatewayMetrics): series are never
// removed or moved — except by Family::retain(), used only on families whose series are all set
// afresh on every scrape and never held (the per-replica, capacity and budget gauges of
// GatewayMetrics::before_render, and session_sync, set by a render hook). So a caller that sees the same labels again (per route, model, replica) may
// resolve them once and keep the reference, e.g. in its per-replica state, and from then on
// update it with atomics only, without the mutex or the label lookup:
//
//   metrics::Counter& ok = m.requests.with({route, model, replica, "200", "chat"});  // once
//   ok.inc();                                                                // per request
//
// Counter/Gauge/Histogram updates are relaxed atomics (no ordering with other memory is needed:
// a scrape reads each value independently). (Debian has no prometheus-cpp package; this is the
// small subset we need.)
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::metrics {

// A monotonically increasing value (a double, like Prometheus's: exact for integer counts up to
// 2^53, no wrap-around).
class Counter {
 public:
  // Adds `by`. Only positive finite amounts count: a negative, NaN or infinite `by` is treated as
  // 0 (a counter never goes down, and one bad input must not make it NaN/Inf for good).
  void inc(double by = 1) {
    if (!(by > 0 && by <= kMaxIncrement)) return;  // also false for NaN
    v_.fetch_add(by, std::memory_order_relaxed);
  }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  static constexpr double kMaxIncrement = std::numeric_limits<double>::max();  // excludes +Inf
  std::atomic<double> v_{0};
};

class Gauge {
 public:
  void add(std::int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
  void set(std::int64_t v) { v_.store(v, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// A gauge holding a double (a price, a rate), rendered with TYPE gauge.
class Value {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Latency histogram in seconds with fixed buckets from 100 µs to 120 s, plus the +Inf bucket.
// The count is the sum of the buckets, so a scrape always sees _count == the +Inf bucket.
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                     1,      2.5,     10,     120};
  // Records one observation. A negative or NaN value is recorded as 0 (first bucket); +Inf goes to
  // the +Inf bucket and adds nothing to the sum (which stays finite).
  void observe(double seconds);
  std::uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Observations in bucket i alone (not cumulative); i == kBounds.size() is the (kBounds.back(),
  // +Inf] bucket.
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<double> sum_{0};
};

// Orders label tuples given as any range of string-likes, so that with() can look a series up
// from string_views without building a std::vector<std::string> first.
struct LabelsLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    auto ai = std::begin(a), ae = std::end(a);
    auto bi = std::begin(b), be = std::end(b);
    for (; ai != ae && bi != be; ++ai, ++bi) {
      const int c = std::string_view(*ai).compare(std::string_view(*bi));
      if (c != 0) return c < 0;
    }
    return ai == ae && bi != be;
  }
};

template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}
  // The series for these label values (one per label name, in order), created on first use.
  // Takes the family's mutex; allocates only when the series is new. The reference is stable for
  // the Family's lifetime: cache it to skip this call on the hot path.
  T& with(std::initializer_list<std::string_view> values) { return find_or_add(values); }
  T& with(const std::vector<std::string>& values) { return find_or_add(values); }
  // Number of series (for tests).
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return series_.size();
  }
  void render(std::string& out) const;
  // Removes the series whose label values `keep` refuses. Only for a family whose series are all
  // set afresh on every scrape (in GatewayMetrics::before_render or a render hook, which run one
  // scrape at a time) and never held by reference: a replica, model or route that a reload removed must leave the
  // exposition, not show its last value for ever.
  template <typename Keep>
  void retain(Keep keep) {
    std::lock_guard lock(mu_);
    std::erase_if(series_, [&](const auto& entry) { return !keep(entry.first); });
  }

 private:
  template <typename Values>
  T& find_or_add(const Values& values) {
    std::lock_guard lock(mu_);
    auto it = series_.find(values);
    if (it == series_.end()) {
      it = series_
               .emplace(std::vector<std::string>(std::begin(values), std::end(values)),
                        std::make_unique<T>())
               .first;
    }
    return *it->second;
  }

  std::string name_, help_;
  std::vector<std::string> labels_;
  mutable std::mutex mu_;
  // Guarded by mu_. Entries are never erased (but by retain(), on families never held by
  // reference), and each T lives in its own allocation: references returned by with() stay valid.
  std::map<std::vector<std::string>, std::unique_ptr<T>, LabelsLess> series_;
};

// A handle on one series of a Family, resolved on first use and then read without the family's
// mutex or a label lookup: for label sets that are known per route, model or replica, kept on the
// runtime object that stands for them (pipeline/runtime.h) and so rebuilt with it on reload.
// Creating the series only when it is first used keeps the exposition the same as with().
//
// get() returns family.with(labels) — the caller passes the same labels every time. The slot
// remembers the first family it was resolved from; asked for another family's series (a second
// GatewayMetrics sharing the runtime, as offline runners may), it answers through with() without
// caching. Thread-safe: two threads resolving at once both get the same series.
template <typename T>
class SeriesSlot {
 public:
  T& get(Family<T>& family, std::initializer_list<std::string_view> labels) {
    if (T* s = series_.load(std::memory_order_acquire);
        s && family_.load(std::memory_order_relaxed) == &family)
      return *s;
    T& s = family.with(labels);
    Family<T>* none = nullptr;
    if (family_.compare_exchange_strong(none, &family, std::memory_order_relaxed))
      series_.store(&s, std::memory_order_release);
    return s;
  }

 private:
  std::atomic<Family<T>*> family_{nullptr};  // set once, before series_
  std::atomic<T*> series_{nullptr};
};

// The gateway's metrics. One instance per process.
struct GatewayMetrics {
  // `api`: the client API the request came in on (chat, responses, messages, completions,
  // embeddings: the front end's name, as in the decision record).
  Family<Counter> requests{"switchboard_requests_total",
                           "Requests answered, by outcome and client API.",
                           {"route", "model", "replica", "status", "api"}};
  Family<Counter> errors{"switchboard_request_errors_total",
                         "Requests that ended in an error, by error code and client API.",
                         {"route", "model", "code", "api"}};
  Family<Histogram> latency{"switchboard_request_duration_seconds",
                            "Time from request received to response complete.",
                            {"route", "model", "replica"}};
  Family<Histogram> upstream_latency{
      "switchboard_upstream_duration_seconds",
      "Time from sending upstream to the upstream's response head (first byte).",
      {"model", "replica"}};
  Family<Counter> tokens{"switchboard_tokens_total",
                         "Tokens used, from upstream usage or counted.",
                         {"model", "kind"}};
  Family<Counter> cost{
      "switchboard_cost_usd_total", "Cost in US dollars at the configured prices.", {"model"}};
  Family<Gauge> replica_in_flight{
      "switchboard_replica_in_flight", "Requests in flight per replica.", {"model", "replica"}};
  Family<Counter> retries{"switchboard_retries_total",
                          "Retries sent (another replica or a fallback model).",
                          {"model"}};
  Family<Counter> budget_exhausted{
      "switchboard_retry_budget_exhausted_total",
      "Retries (and hedges) not sent because the model's retry budget was spent.",
      {"model"}};
  Family<Counter> hedges{"switchboard_hedges_total", "Hedged attempts sent.", {"model"}};
  // `reasoning: auto` (docs/apis.md): calls a replica refused with a 400 naming the reasoning
  // setting, each then asked again without it. Steadily rising for a model: its config should say
  // `reasoning: off` (the learned flag is lost at each reload).
  Family<Counter> reasoning_refused{
      "switchboard_reasoning_refused_total",
      "Calls refused for their reasoning setting (400) and sent again without it.", {"model"}};
  // Requests the HTTP server refused before the gateway saw them (http::ServerOptions::on_refused):
  // no decision record exists for these.
  Family<Counter> http_refused{
      "switchboard_http_refused_total",
      "Requests refused by the HTTP server before routing: header_too_large, bad_http, overloaded.",
      {"code"}};
  Family<Counter> embeddings{
      "switchboard_embedding_requests_total",
      "Calls to the http embedding provider, by result (ok or the error code).",
      {"result"}};
  Family<Counter> ejections{"switchboard_replica_ejections_total",
                            "Replicas ejected after consecutive failures.",
                            {"model", "replica"}};
  Family<Gauge> replica_available{"switchboard_replica_available",
                                  "1 when the replica may be picked (not ejected, not down).",
                                  {"model", "replica"}};
  Family<Gauge> replica_reported_waiting{
      "switchboard_replica_reported_waiting",
      "Requests waiting on the replica as its last load report said (load_metrics); -1 = no fresh report.",
      {"model", "replica"}};
  Family<Counter> cache_lookups{"switchboard_cache_requests_total",
                                "Requests of cached routes, by cache result (hit, miss, bypass).",
                                {"route", "result"}};
  // Sessions (docs/sessions.md): turns of routes with sessions, by what the session did (new,
  // same, stayed, switched, none).
  Family<Counter> session_turns{"switchboard_session_turns_total",
                                "Requests of routes with sessions, by session action (new, same "
                                "model, stayed despite a better choice, switched, none).",
                                {"route", "action"}};
  // Sessions shared through Redis (pipeline/session/shared_sessions.h): turns published to the
  // other gateways, merged from them, dropped (queue full, Redis unreachable); and kept in SQLite
  // across restarts (pipeline/session/stored_sessions.h): turns saved, sessions restored at
  // start-up, turns not saved (queue full, SQLite failing); since start.
  Family<Gauge> session_sync{"switchboard_session_sync",
                             "Session turns shared with other gateways through Redis and kept in "
                             "SQLite since start, by event (published, merged, dropped; saved, "
                             "restored, save_dropped).",
                             {"event"}};
  // Implicit feedback across gateways (pipeline/learning/shared_repeats.h): repeats of this
  // gateway's answers seen by others and delivered here, and jobs dropped (queue full, Redis
  // unreachable); since start.
  Family<Gauge> implicit_shared{"switchboard_implicit_feedback_shared",
                                "Implicit feedback shared with other gateways through Redis since "
                                "start, by event (delivered, dropped).",
                                {"event"}};
  Family<Counter> cache_saved{
      "switchboard_cache_saved_usd_total",
      "Cost of the upstream calls cache hits avoided (each cached answer's original cost).",
      {"route"}};
  // API keys (docs/keys.md). Key and team labels are names of configured keys only (the first
  // 1000 keys; later ones share "other"), never what a client sent.
  Family<Counter> key_requests{
      "switchboard_key_requests_total",
      "Requests per API key, by outcome (ok, rate_limited, budget_exceeded, forbidden, ...).",
      {"key", "team", "outcome"}};
  Family<Counter> key_tokens{"switchboard_key_tokens_total",
                             "Tokens (prompt + completion) used per API key.",
                             {"key", "team"}};
  Family<Counter> key_cost{
      "switchboard_key_cost_usd_total", "Spend in US dollars per API key.", {"key", "team"}};
  Family<Counter> auth_refusals{
      "switchboard_auth_refusals_total",
      "Requests refused by the auth and limits stages, by error code.",
      {"code"}};
  // Capacity- and budget-aware routing (docs/capacity.md), copied from the runtime's controller
  // at each scrape.
  Family<Value> model_price{"switchboard_model_price",
                            "Capacity price (quality points) subtracted from the model's utility.",
                            {"model"}};
  Family<Value> model_load{"switchboard_model_load",
                           "Smoothed load of a model with a capacity, in the capacity's unit.",
                           {"model", "unit"}};
  Family<Value> model_capacity{"switchboard_model_capacity", "The model's declared capacity.",
                               {"model", "unit"}};
  Family<Value> route_lambda{"switchboard_route_lambda",
                             "Budget lambda (quality points per USD) added to the route's lambda.",
                             {"route"}};
  Family<Value> route_spend{"switchboard_route_spend_usd_per_hour",
                            "Smoothed spend rate of a route with a budget.", {"route"}};
  Family<Value> route_budget{"switchboard_route_budget_usd_per_hour", "The route's budget.",
                             {"route"}};
  // Online learning (docs/online.md): POST /v1/feedback by kind (score, pairwise, implicit) and
  // result (accepted, not_found, duplicate, bad_request; implicit: not_learned when the route's
  // policy never learns a score); route labels are configured names only.
  Family<Counter> feedback{"switchboard_feedback_total",
                           "Feedback received (POST /v1/feedback and implicit), by result.",
                           {"route", "kind", "result"}};
  // What the learner thread made of accepted feedback: applied (the policy learned), rejected
  // (the policy refused it), no_context (the decision's context expired), no_policy (the route's
  // policy does not learn), dropped (the learner's queue was full).
  Family<Counter> learned{"switchboard_feedback_learned_total",
                          "Feedback events handed to the routes' learning policies, by result.",
                          {"route", "result"}};
  // Where the context of feedback handed to a learning policy was found: memory (the context
  // cache) or store (the decision store's database, once the cache let it go; docs/online.md).
  Family<Counter> learning_contexts{"switchboard_learning_contexts_total",
                                    "Decision contexts found for feedback, by where (memory, store).",
                                    {"source"}};
  Family<Gauge> learning_observations{
      "switchboard_learning_observations",
      "Feedback events the route's learning policy's current state has learned from.",
      {"route"}};
  // Rate-limit state in Redis (`state:`): 1 while reachable; errors counts failed round trips,
  // syncs the ones that sent counts or read the shared totals back. Rendered only once a limits
  // stage with Redis set them.
  Gauge ratelimit_state_up;
  Gauge ratelimit_state_errors;
  Gauge ratelimit_state_syncs;
  std::atomic<bool> ratelimit_state_present{false};
  Gauge in_flight;
  // The front door's bounds and their use (http::Server), rendered once a server set them:
  // client connections open and server.max_connections; request-body bytes in memory and
  // server.max_body_budget_bytes.
  Gauge client_connections;
  Gauge client_connections_max;
  Gauge request_body_bytes;
  Gauge request_body_budget_bytes;
  std::atomic<bool> front_door_present{false};
  Gauge decisions_dropped;  // mirrors DecisionStore::dropped()
  void decisions_dropped_total_set(std::uint64_t n) {
    decisions_dropped.set(static_cast<std::int64_t>(n));
  }
  Gauge decision_write_failures;  // mirrors DecisionStore::write_failures()
  Value decision_store_failing_seconds;  // since the first of the failed writes in a row; 0 = ok

  // Called at the start of render(), e.g. to copy replica load into replica_in_flight; never by
  // two scrapes at once (it may Family::retain()).
  std::function<void()> before_render;
  // More such callbacks, added by stages at run time (the limits stage copies the rate-limit
  // state's health into ratelimit_state_*); thread-safe. A hook returns false once what it reads
  // is gone (after clearing the series it set); it is then dropped.
  void add_render_hook(std::function<bool()> hook) {
    std::lock_guard lock(hooks_mu_);
    render_hooks_.push_back(std::move(hook));
  }
  // The Prometheus text of every family; `with_keys` false leaves out the per-key ones
  // (switchboard_key_*: key names, teams, requests, tokens, spend), with a comment saying where
  // they are.
  std::string render(bool with_keys = true);

 private:
  std::mutex hooks_mu_;
  std::vector<std::function<bool()>> render_hooks_;  // guarded by hooks_mu_
};

}  // namespace switchboard::metrics
