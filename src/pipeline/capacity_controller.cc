#include "pipeline/capacity_controller.h"
#include "core/wall_clock.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace switchboard::pipeline {
namespace {

template <typename Slots>
auto find_slot(const Slots& slots, std::string_view name) -> decltype(slots.front().get()) {
  auto it = std::lower_bound(slots.begin(), slots.end(), name,
                             [](const auto& s, std::string_view n) { return s->name < n; });
  return it != slots.end() && (*it)->name == name ? it->get() : nullptr;
}

// NaN-safe: a value that is not a number is `lo` (a NaN price or λ stayed NaN for ever).
double clamp(double v, double lo, double hi) {
  return std::isnan(v) ? lo : std::min(std::max(v, lo), hi);
}

// The step's direction, load / limit − 1, at most one step either way: a burst 13× over a budget
// raised λ by 12 steps in an interval, and under budget it could only fall by one a step (a route
// starved for a minute after a 3 s burst). Unclipped while the load stays within twice the
// limit, so the time-average property (docs/capacity.md) holds there. NaN-safe: a ratio that is
// not a number moves nothing.
double excess(double load, double limit) {
  const double e = load / limit - 1;
  return std::isnan(e) ? 0.0 : std::clamp(e, -1.0, 1.0);
}

}  // namespace

CapacityController::CapacityController(const config::Config& config) : settings_(config.control) {
  for (const auto& m : config.models) {
    if (m.capacity.unit.empty()) continue;
    auto s = std::make_unique<ModelSlot>();
    s->name = m.name;
    s->capacity = m.capacity;
    models_.push_back(std::move(s));
  }
  for (const auto& r : config.routes) {
    if (!(r.budget.usd_per_hour > 0)) continue;
    auto s = std::make_unique<RouteSlot>();
    s->name = r.name;
    s->budget = r.budget.usd_per_hour;
    routes_.push_back(std::move(s));
  }
  std::sort(models_.begin(), models_.end(), [](auto& a, auto& b) { return a->name < b->name; });
  std::sort(routes_.begin(), routes_.end(), [](auto& a, auto& b) { return a->name < b->name; });
}

CapacityController::~CapacityController() {
  {
    std::lock_guard lock(thread_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CapacityController::ModelSlot* CapacityController::find_model(std::string_view name) const {
  return find_slot(models_, name);
}
CapacityController::RouteSlot* CapacityController::find_route(std::string_view name) const {
  return find_slot(routes_, name);
}

void CapacityController::on_start(std::string_view model) {
  if (auto* m = find_model(model)) {
    m->requests.fetch_add(1, std::memory_order_relaxed);
    m->in_flight.fetch_add(1, std::memory_order_relaxed);
  }
}

void CapacityController::on_finish(std::string_view model, std::string_view route,
                                   std::int64_t tokens, double cost_usd) {
  if (auto* m = find_model(model)) {
    m->in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (tokens > 0)
      m->tokens.fetch_add(static_cast<std::uint64_t>(tokens), std::memory_order_relaxed);
  }
  if (auto* r = find_route(route); r && cost_usd > 0 && std::isfinite(cost_usd))
    r->spend.fetch_add(cost_usd, std::memory_order_relaxed);
}

void CapacityController::on_finish_calls(std::string_view first, std::string_view route,
                                         const std::vector<CallLoad>& calls, double cost_usd) {
  bool first_counted = false;
  for (const CallLoad& call : calls) {
    auto* m = find_model(call.model);
    if (!m) continue;
    if (!first_counted && call.model == first)
      first_counted = true;
    else
      m->requests.fetch_add(1, std::memory_order_relaxed);
    if (call.tokens > 0)
      m->tokens.fetch_add(static_cast<std::uint64_t>(call.tokens), std::memory_order_relaxed);
  }
  on_finish(first, route, 0, cost_usd);  // in flight and the route's spend
}

double CapacityController::model_price(std::string_view model) const {
  auto* m = find_model(model);
  return m ? m->price.load(std::memory_order_relaxed) : 0.0;
}

double CapacityController::route_lambda(std::string_view route) const {
  auto* r = find_route(route);
  return r ? r->lambda.load(std::memory_order_relaxed) : 0.0;
}

bool CapacityController::active_for(std::string_view route) const {
  return !models_.empty() || find_route(route) != nullptr;
}

CapacityFleet::Measures CapacityController::measure(double dt) {
  std::lock_guard lock(step_mu_);
  CapacityFleet::Measures x;
  for (auto& m : models_) {
    const auto requests = m->requests.load(std::memory_order_relaxed);
    const auto tokens = m->tokens.load(std::memory_order_relaxed);
    if (m->capacity.unit == "rps")
      x.models.push_back(static_cast<double>(requests - m->last_requests) / dt);
    else if (m->capacity.unit == "tokens_per_s")
      x.models.push_back(static_cast<double>(tokens - m->last_tokens) / dt);
    else
      x.models.push_back(static_cast<double>(
          std::max<std::int64_t>(0, m->in_flight.load(std::memory_order_relaxed))));
    m->last_requests = requests;
    m->last_tokens = tokens;
  }
  for (auto& r : routes_) {
    const double spend = r->spend.load(std::memory_order_relaxed);
    x.routes.push_back((spend - r->last_spend) / dt * 3600.0);  // USD per hour this interval
    r->last_spend = spend;
  }
  return x;
}

void CapacityController::step(double dt, std::int64_t now_ms) {
  if (!(dt > 0)) return;
  CapacityFleet::Measures x = measure(dt);
  // Shared: the fleet's sums (one Redis round trip, outside the lock readers of to_json() take).
  if (fleet_) {
    auto fleet = fleet_->exchange(x, now_ms);
    gateways_.store(fleet ? fleet->gateways : 1, std::memory_order_relaxed);
    if (fleet) x = std::move(*fleet);
  }
  std::lock_guard lock(step_mu_);
  const double a = settings_.smoothing;
  Entry e;
  e.t_ms = now_ms;
  for (std::size_t i = 0; i < models_.size(); ++i) {
    auto& m = models_[i];
    const double load =
        m->seen ? a * x.models[i] + (1 - a) * m->load.load(std::memory_order_relaxed) : x.models[i];
    m->seen = true;
    m->load.store(load, std::memory_order_relaxed);
    const double p = clamp(m->price.load(std::memory_order_relaxed) +
                               settings_.price_step * excess(load, m->capacity.limit),
                           0, settings_.max_price);
    m->price.store(p, std::memory_order_relaxed);
    e.prices.push_back(p);
    e.loads.push_back(load);
  }
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    auto& r = routes_[i];
    const double rate =
        r->seen ? a * x.routes[i] + (1 - a) * r->rate.load(std::memory_order_relaxed) : x.routes[i];
    r->seen = true;
    r->rate.store(rate, std::memory_order_relaxed);
    const double l = clamp(
        r->lambda.load(std::memory_order_relaxed) + settings_.lambda_step * excess(rate, r->budget),
        0, settings_.max_lambda);
    r->lambda.store(l, std::memory_order_relaxed);
    e.lambdas.push_back(l);
    e.spends.push_back(rate);
  }
  history_.push_back(std::move(e));
  while (history_.size() > settings_.history) history_.pop_front();
}

void CapacityController::share(std::unique_ptr<CapacityFleet> fleet) {
  std::lock_guard lock(thread_mu_);
  if (thread_.joinable()) return;
  fleet_ = std::move(fleet);
}

std::vector<std::string> CapacityController::model_names() const {
  std::vector<std::string> out;
  for (const auto& m : models_) out.push_back(m->name + ":" + m->capacity.unit);
  return out;
}

std::vector<std::string> CapacityController::route_names() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r->name);
  return out;
}

std::size_t CapacityController::carry_over(const CapacityController& old) {
  std::scoped_lock lock(step_mu_, old.step_mu_);
  std::size_t carried = 0;
  for (auto& m : models_) {
    const ModelSlot* o = old.find_model(m->name);
    // A load measured in another unit means nothing in this one (56 req/s read as tokens/s).
    if (!o || !o->seen || o->capacity.unit != m->capacity.unit) continue;
    m->price.store(o->price.load(std::memory_order_relaxed), std::memory_order_relaxed);
    m->load.store(o->load.load(std::memory_order_relaxed), std::memory_order_relaxed);
    m->seen = true;
    ++carried;
  }
  for (auto& r : routes_) {
    const RouteSlot* o = old.find_route(r->name);
    if (!o || !o->seen) continue;
    r->lambda.store(o->lambda.load(std::memory_order_relaxed), std::memory_order_relaxed);
    r->rate.store(o->rate.load(std::memory_order_relaxed), std::memory_order_relaxed);
    r->seen = true;
    ++carried;
  }
  auto same_names = [](const auto& a, const auto& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i]->name != b[i]->name) return false;
    return true;
  };
  auto same_units = [&] {
    for (std::size_t i = 0; i < models_.size(); ++i)
      if (models_[i]->capacity.unit != old.models_[i]->capacity.unit) return false;
    return true;
  };
  if (same_names(models_, old.models_) && same_units() && same_names(routes_, old.routes_))
    history_ = old.history_;
  while (history_.size() > settings_.history) history_.pop_front();
  return carried;
}

void CapacityController::start() {
  std::lock_guard lock(thread_mu_);
  if (empty() || thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { loop(); });
}

void CapacityController::loop() {
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  std::unique_lock lock(thread_mu_);
  while (!stopping_) {
    wake_.wait_for(lock, settings_.interval, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const auto now = clock::now();
    const double dt = std::chrono::duration<double>(now - last).count();
    last = now;
    const auto wall = unix_ms();
    step(dt, wall);
    lock.lock();
  }
}

std::vector<CapacityController::ModelState> CapacityController::models() const {
  std::vector<ModelState> out;
  for (const auto& m : models_)
    out.push_back({m->name, m->capacity.unit, m->capacity.limit,
                   m->load.load(std::memory_order_relaxed),
                   m->price.load(std::memory_order_relaxed)});
  return out;
}

std::vector<CapacityController::RouteState> CapacityController::routes() const {
  std::vector<RouteState> out;
  for (const auto& r : routes_)
    out.push_back({r->name, r->budget, r->rate.load(std::memory_order_relaxed),
                   r->lambda.load(std::memory_order_relaxed)});
  return out;
}

nlohmann::json CapacityController::to_json(
    const std::function<bool(std::string_view)>& route_visible) const {
  const auto visible = [&](std::string_view route) { return !route_visible || route_visible(route); };
  nlohmann::json j;
  j["interval_ms"] = settings_.interval.count();
  j["shared"] = fleet_ != nullptr;
  j["gateways"] = gateways_.load(std::memory_order_relaxed);
  j["models"] = nlohmann::json::array();
  for (const auto& m : models())
    j["models"].push_back({{"model", m.model},
                           {"unit", m.unit},
                           {"capacity", m.capacity},
                           {"load", m.load},
                           {"price", m.price}});
  j["routes"] = nlohmann::json::array();
  for (const auto& r : routes())
    if (visible(r.route))
      j["routes"].push_back({{"route", r.route},
                           {"budget_usd_per_hour", r.budget_usd_per_hour},
                           {"spend_usd_per_hour", r.spend_usd_per_hour},
                           {"lambda", r.lambda}});
  auto& h = j["history"] = nlohmann::json::array();
  std::lock_guard lock(step_mu_);
  for (const auto& e : history_) {
    nlohmann::json entry = {{"t_ms", e.t_ms}};
    auto& prices = entry["prices"] = nlohmann::json::object();
    auto& loads = entry["loads"] = nlohmann::json::object();
    for (std::size_t i = 0; i < models_.size() && i < e.prices.size(); ++i) {
      prices[models_[i]->name] = e.prices[i];
      loads[models_[i]->name] = e.loads[i];
    }
    auto& lambdas = entry["lambdas"] = nlohmann::json::object();
    auto& spends = entry["spend_usd_per_hour"] = nlohmann::json::object();
    for (std::size_t i = 0; i < routes_.size() && i < e.lambdas.size(); ++i) {
      if (!visible(routes_[i]->name)) continue;
      lambdas[routes_[i]->name] = e.lambdas[i];
      spends[routes_[i]->name] = e.spends[i];
    }
    h.push_back(std::move(entry));
  }
  return j;
}

}  // namespace switchboard::pipeline
