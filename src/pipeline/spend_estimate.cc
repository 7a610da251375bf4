#include "pipeline/spend_estimate.h"

#include <algorithm>
#include <mutex>
#include <set>

namespace switchboard::pipeline {

namespace {
constexpr double kNewest = 1.0 / 16;

// The completion tokens assumed for one call of `model`: each of the request's `n` choices.
std::int64_t completion_of(const RequestContext& ctx, const CompletionMeans& means,
                           std::string_view model) {
  return ctx.req.choices * (ctx.req.max_tokens ? *ctx.req.max_tokens : means.mean(model));
}

double list_cost(const RequestContext& ctx, const CompletionMeans& means,
                 const config::ModelConfig& m) {
  return m.price.cost(ctx.signals.prompt_tokens, completion_of(ctx, means, m.name));
}
}  // namespace

CompletionMeans::CompletionMeans(const config::Config& config) {
  for (const auto& m : config.models)
    means_.emplace(m.name, std::make_shared<std::atomic<double>>(0.0));
}

std::shared_ptr<CompletionMeans> CompletionMeans::continued(const config::Config& config) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<std::atomic<double>>, std::less<>> shared;
  auto next = std::make_shared<CompletionMeans>(config);
  std::lock_guard lock(mu);
  for (auto& [model, mean] : next->means_) {
    if (auto live = shared[model].lock())
      mean = std::move(live);  // the same mean as the running gateway's
    else
      shared[model] = mean;
  }
  return next;
}

void CompletionMeans::observe(std::string_view model, std::int64_t completion_tokens) {
  if (completion_tokens <= 0) return;
  auto it = means_.find(model);
  if (it == means_.end()) return;
  std::atomic<double>& mean = *it->second;
  const auto x = static_cast<double>(completion_tokens);
  double old = mean.load(std::memory_order_relaxed);
  // The first answer sets the mean; later ones move it by kNewest of the difference.
  while (!mean.compare_exchange_weak(old, old == 0 ? x : old + kNewest * (x - old),
                                     std::memory_order_relaxed)) {
  }
}

std::int64_t CompletionMeans::mean(std::string_view model) const {
  auto it = means_.find(model);
  if (it == means_.end()) return kBeforeFirstAnswer;
  const double mean = it->second->load(std::memory_order_relaxed);
  return mean == 0 ? kBeforeFirstAnswer : static_cast<std::int64_t>(mean + 0.5);
}

RouteModels::RouteModels(const config::Config& config) {
  for (std::size_t i = 0; i < config.models.size() && i < 64; ++i)
    model_bits_.emplace(config.models[i].name, i);
  for (const auto& r : config.routes)
    routes_.emplace(r.name, std::make_unique<std::atomic<std::uint64_t>>(0));
}

void RouteModels::saw(const RequestContext& ctx) {
  if (!ctx.route || !ctx.decision) return;
  auto it = routes_.find(ctx.route->config->name);
  if (it == routes_.end()) return;
  std::uint64_t bits = 0;
  auto add = [&](std::string_view model) {
    auto m = model_bits_.find(model);
    bits |= m == model_bits_.end() ? kAll : std::uint64_t{1} << m->second;
  };
  for (const auto& c : ctx.rec.candidates) add(c.model);
  for (const auto& m : ctx.decision->plan.models()) add(m);
  it->second->fetch_or(bits, std::memory_order_relaxed);
}

std::vector<const config::ModelConfig*> RouteModels::models_of(const config::Config& config,
                                                               std::string_view route) const {
  std::vector<const config::ModelConfig*> out;
  auto it = routes_.find(route);
  const std::uint64_t bits = it == routes_.end() ? 0 : it->second->load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < config.models.size(); ++i)
    if (bits == 0 || bits == kAll || (i < 64 && (bits >> i & 1))) out.push_back(&config.models[i]);
  return out;
}

double admission_spend_estimate(const RequestContext& ctx, const CompletionMeans& means,
                                const RouteModels& routes) {
  if (!ctx.runtime) return 0;
  const config::Config& config = *ctx.runtime->config;
  if (!ctx.route)
    if (const auto* m = config.find_model(ctx.req.model)) return list_cost(ctx, means, *m);
  // A route: the dearest model its policy may call; for a policy that does not say, the dearest
  // its decisions have named (any, before its first; an adapter's name: any).
  double most = 0;
  if (ctx.route && !ctx.route->models.empty()) {
    for (const auto* m : ctx.route->models) most = std::max(most, list_cost(ctx, means, *m));
    return most;
  }
  for (const auto* m : routes.models_of(config, ctx.route ? ctx.route->config->name : ""))
    most = std::max(most, list_cost(ctx, means, *m));
  return most;
}

double plan_spend_estimate(const RequestContext& ctx, const CompletionMeans& means) {
  if (!ctx.decision || !ctx.runtime) return 0;
  const Plan& plan = ctx.decision->plan;
  auto one = [&](const std::string& model) {
    double usd = 0;
    if (const auto* m = ctx.runtime->config->find_model(model)) usd = list_cost(ctx, means, *m);
    for (const auto& c : ctx.rec.candidates)
      if (c.model == model && c.predicted_cost > usd) usd = c.predicted_cost;
    return usd;
  };
  if (plan.tiers.empty()) return plan.model.empty() ? 0 : one(plan.model);
  double total = 0;
  for (const auto& tier : plan.tiers)
    for (const auto& m : tier.models) total += one(m);
  if (!plan.aggregate.model.empty()) total += one(plan.aggregate.model);
  return total;
}

std::int64_t plan_calls_at_most(const RequestContext& ctx) {
  if (!ctx.decision) return 1;
  const Plan& plan = ctx.decision->plan;
  if (plan.tiers.empty()) return 1;
  std::set<std::string_view> models;
  for (const auto& tier : plan.tiers)
    for (const auto& m : tier.models) models.insert(m);
  auto calls = static_cast<std::int64_t>(models.size()) + (plan.aggregate.model.empty() ? 0 : 1);
  if (plan.bounds.max_calls > 0) calls = std::min<std::int64_t>(calls, plan.bounds.max_calls);
  return std::max<std::int64_t>(calls, 1);
}

}  // namespace switchboard::pipeline
