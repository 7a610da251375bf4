// Capacity- and budget-aware routing (docs/capacity.md): the dual prices the objective reads.
//
// Models may declare `capacity: {rps|tokens_per_s|concurrent: N}` and routes `budget:
// {usd_per_hour: X}`. The request path only counts (relaxed atomics, no lock): on_start() when a
// request was routed to a model, on_finish() once it was answered (tokens, USD). A thread of the
// controller runs step() every `control.interval_ms`: it smooths each measured load and spend rate
// (EWMA) and takes one dual-ascent step on each constraint,
//
//     price_m  ← clamp(price_m  + price_step  · (load_m / capacity_m − 1), 0, max_price)
//     lambda_r ← clamp(lambda_r + lambda_step · (spend_r / budget_r − 1), 0, max_lambda)
//
// so a model's price rises while it runs over capacity and decays back to 0 when under (traffic
// moves to the next-best model, a Sinkhorn-style balance), and a route's λ likewise tracks its
// budget. Policies read the values lock-free through DualPrices
// (include/switchboard/dual_prices.h).
//
// Several gateways (`state: {redis: URL}`): share() gives the controller a CapacityFleet
// (pipeline/capacity_fleet.h); each step then publishes this gateway's measured load and spend and
// steps on the fleet's sums, so a capacity or budget holds for all gateways together.
//
// Contract: the set of models and routes is fixed at construction (from the config); lookups of
// names not in it return 0 / do nothing. All public methods are thread-safe. The thread runs only
// after start() (the gateway starts it; offline evaluation does not, and sees prices of 0); the
// destructor stops and joins it. Memory is bounded: `control.history` steps are kept.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config.h"
#include "pipeline/capacity_fleet.h"
#include "switchboard/dual_prices.h"

namespace switchboard::pipeline {

class CapacityController final : public DualPrices {
 public:
  explicit CapacityController(const config::Config& config);
  ~CapacityController() override;
  CapacityController(const CapacityController&) = delete;
  CapacityController& operator=(const CapacityController&) = delete;

  // Nothing to control: no model has a capacity and no route a budget.
  bool empty() const { return models_.empty() && routes_.empty(); }

  // Request path. A request routed to `model` through `route` (the name the client asked for).
  void on_start(std::string_view model);
  // The same request answered (or failed): its tokens and cost.
  void on_finish(std::string_view model, std::string_view route, std::int64_t tokens,
                 double cost_usd);
  // The same request, when its plan made several calls (a cascade, an ensemble), answered: every
  // call counts against its model's requests and tokens (the call to `first`, the plan's model,
  // was counted by on_start), the summed cost against the route's budget. Concurrency is the
  // first model's only (later calls run within the request's time).
  struct CallLoad {
    std::string_view model;
    std::int64_t tokens = 0;
  };
  void on_finish_calls(std::string_view first, std::string_view route,
                       const std::vector<CallLoad>& calls, double cost_usd);

  double model_price(std::string_view model) const override;
  double route_lambda(std::string_view route) const override;
  bool active_for(std::string_view route) const override;

  // One control step over the last `dt_seconds` (the thread passes the measured time; tests call
  // it directly). `now_ms` stamps the history entry.
  void step(double dt_seconds, std::int64_t now_ms);
  // Hot reload (docs/capacity.md): takes over `old`'s price, smoothed load, λ and smoothed spend
  // rate for every model and route both control (matched by name), and its history when both
  // control the same models and routes. Call before start(). Counters of requests still running
  // on `old` stay there (their in-flight count is not moved). Returns the models and routes
  // carried.
  std::size_t carry_over(const CapacityController& old);
  // Runs step() every interval on a thread of its own, until destruction. Idempotent; does nothing
  // when empty().
  void start();
  // Steps on the fleet's sums from now on (call before start(); ignored after).
  void share(std::unique_ptr<CapacityFleet> fleet);
  // The controlled models and routes, in the order CapacityFleet::Measures uses. A model's name
  // is "<model>:<unit>": gateways that declare one model's capacity in different units (during a
  // rolling change, or a reload's old and new runtime) must not add requests to tokens.
  std::vector<std::string> model_names() const;
  std::vector<std::string> route_names() const;

  struct ModelState {
    std::string model, unit;
    double capacity = 0, load = 0, price = 0;
  };
  struct RouteState {
    std::string route;
    double budget_usd_per_hour = 0, spend_usd_per_hour = 0, lambda = 0;
  };
  std::vector<ModelState> models() const;
  std::vector<RouteState> routes() const;
  // {"interval_ms", "models": [...], "routes": [...], "history": [{"t_ms", "prices": {model: p},
  //  "loads": {...}, "lambdas": {route: l}, "spend_usd_per_hour": {...}}], "shared": shared
  //  through a fleet, "gateways": how many the last step's sums covered} (GET /v1/capacity).
  // `route_visible` (when set) leaves out the routes it refuses, in "routes" and the history.
  nlohmann::json to_json(const std::function<bool(std::string_view)>& route_visible = {}) const;

 private:
  struct ModelSlot {
    std::string name;
    config::CapacityConfig capacity;
    std::atomic<std::uint64_t> requests{0}, tokens{0};
    std::atomic<std::int64_t> in_flight{0};
    std::atomic<double> price{0}, load{0};
    // Step thread only (under step_mu_).
    std::uint64_t last_requests = 0, last_tokens = 0;
    bool seen = false;
  };
  struct RouteSlot {
    std::string name;
    double budget = 0;             // USD per hour
    std::atomic<double> spend{0};  // USD since start
    std::atomic<double> lambda{0}, rate{0};
    double last_spend = 0;  // under step_mu_
    bool seen = false;
  };
  ModelSlot* find_model(std::string_view name) const;
  // This gateway's figures of the last `dt` seconds (advances the counters' marks).
  CapacityFleet::Measures measure(double dt);
  RouteSlot* find_route(std::string_view name) const;
  void loop();

  config::ControlConfig settings_;
  std::vector<std::unique_ptr<ModelSlot>> models_;  // sorted by name; constant set
  std::vector<std::unique_ptr<RouteSlot>> routes_;  // sorted by name; constant set

  mutable std::mutex step_mu_;  // serialises step() and guards history_
  struct Entry {
    std::int64_t t_ms = 0;
    std::vector<double> prices, loads, lambdas, spends;
  };
  std::deque<Entry> history_;

  std::unique_ptr<CapacityFleet> fleet_;  // set before the thread starts; used by it only
  std::atomic<std::size_t> gateways_{1};

  std::mutex thread_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by thread_mu_
  std::thread thread_;
};

}  // namespace switchboard::pipeline
