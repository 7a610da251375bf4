#include "policies/objective.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <numeric>

#include "config/config.h"

namespace switchboard::policies {
namespace {

Error spec_error(const std::string& where, const std::string& reason) {
  return make_error(ErrorKind::kBadRequest, "bad_config", where + ": " + reason);
}

std::optional<double> number(const YAML::Node& node) {
  try {
    double v = node.as<double>();
    if (std::isfinite(v) && v >= 0) return v;
  } catch (const YAML::Exception&) {
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& objective_spec_keys() {
  static const std::vector<std::string> keys = {"models", "lambda", "objective", "objectives",
                                                "mu"};
  return keys;
}

Result<ObjectiveSettings> parse_objective_settings(
    const YAML::Node& spec, const config::Config& config, const std::string& where,
    const std::optional<Objectives>& manifest_objectives) {
  ObjectiveSettings s;
  if (manifest_objectives) s.objectives = *manifest_objectives;
  if (const auto& models = spec["models"]) {
    if (!models.IsSequence() || models.size() == 0)
      return spec_error(where, "`models` must be a non-empty list of model names");
    for (const auto& m : models) {
      const auto name = m.as<std::string>();
      if (!config.find_model(name))
        return spec_error(where, "`models` names unknown model '" + name + "'");
      if (std::find(s.models.begin(), s.models.end(), name) != s.models.end())
        return spec_error(where, "`models` names '" + name + "' twice");
      s.models.push_back(name);
    }
  } else {
    for (const auto& m : config.models) s.models.push_back(m.name);
  }
  for (const auto& name : s.models)
    s.context_windows.push_back(config.find_model(name)->context_window);
  if (const auto& l = spec["lambda"]) {
    s.lambda = number(l);
    if (!s.lambda) return spec_error(where, "`lambda` must be a number >= 0");
  }
  if (const auto& mu = spec["mu"]) {
    auto v = number(mu);
    if (!v) return spec_error(where, "`mu` must be a number >= 0");
    s.mu = *v;
  }
  if (const auto& objs = spec["objectives"]) {
    if (!objs.IsMap())
      return spec_error(where, "`objectives` must be a mapping {quality, balanced, cost}");
    for (const auto& kv : objs) {
      const auto key = kv.first.as<std::string>();
      auto v = number(kv.second);
      if (!v) return spec_error(where, "objectives." + key + " must be a number >= 0");
      if (key == "quality")
        s.objectives.quality = *v;
      else if (key == "balanced")
        s.objectives.balanced = *v;
      else if (key == "cost")
        s.objectives.cost = *v;
      else
        return spec_error(where,
                          "unknown objective '" + key + "' (known: quality, balanced, cost)");
    }
  }
  if (const auto& o = spec["objective"]) {
    s.default_objective = o.as<std::string>();
    if (s.default_objective != "quality" && s.default_objective != "balanced" &&
        s.default_objective != "cost")
      return spec_error(where, "`objective` must be quality, balanced or cost");
  }
  return s;
}

Result<std::pair<double, std::string>> Objective::lambda_for(const RouteRequest& request) const {
  auto named = [&](std::string_view name) -> std::optional<double> {
    if (name == "quality") return s_.objectives.quality;
    if (name == "balanced") return s_.objectives.balanced;
    if (name == "cost") return s_.objectives.cost;
    return std::nullopt;
  };
  if (request.lambda) return std::pair{*request.lambda, std::string("request")};
  if (!request.objective.empty()) {
    auto v = named(request.objective);
    if (!v)
      return make_error(ErrorKind::kBadRequest, "invalid_request",
                        "unknown objective '" + std::string(request.objective) +
                            "' (known: quality, balanced, cost)");
    return std::pair{*v, "objective '" + std::string(request.objective) + "'"};
  }
  if (s_.lambda) return std::pair{*s_.lambda, std::string("spec")};
  return std::pair{*named(s_.default_objective), "objective '" + s_.default_objective + "'"};
}

Result<Decision> Objective::decide(std::string_view policy,
                                   const std::vector<ModelPrediction>& predictions,
                                   const RouteRequest& request) const {
  auto lam = lambda_for(request);
  if (!lam) return lam.error();
  const DualPrices* live =
      request.prices && request.prices->active_for(request.route) ? request.prices : nullptr;
  const double budget_lambda = live ? live->route_lambda(request.route) : 0.0;
  const double lambda = lam->first + budget_lambda;
  const std::size_t n = s_.models.size();
  Decision d;
  d.policy = std::string(policy);
  d.candidates.resize(n);
  const std::int64_t needed = request.prompt_tokens + request.max_output_tokens;
  std::vector<bool> fits(n, true);  // context window
  for (std::size_t i = 0; i < n; ++i) {
    Candidate& c = d.candidates[i];
    const ModelPrediction& p = predictions[i];
    c.model = s_.models[i];
    c.predicted_quality = p.quality;
    c.predicted_cost = p.cost;
    double u = p.quality - lambda * p.cost;
    if (s_.mu > 0 && p.latency_ms >= 0) u -= s_.mu * p.latency_ms / 1000.0;
    if (live) {
      const double price = live->model_price(c.model);
      u -= price;
      c.lambda = lambda;
      c.price = price;
    }
    c.utility = u;
    if (s_.context_windows[i] > 0 && needed > s_.context_windows[i]) {
      fits[i] = false;
      c.eligible = false;
      c.note = fmt::format("needs {} tokens, context window {}", needed, s_.context_windows[i]);
    }
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < n; ++i)
    if (fits[i]) order.push_back(i);
  if (order.empty())
    return make_error(
        ErrorKind::kBadRequest, "context_length_exceeded",
        fmt::format("the request needs {} tokens, more than the context window of every model of "
                    "this route",
                    needed));
  std::string ceiling_note;
  if (request.max_cost) {
    std::vector<std::size_t> under;
    for (auto i : order)
      if (predictions[i].cost <= *request.max_cost) under.push_back(i);
    if (under.empty()) {
      auto cheapest = *std::min_element(order.begin(), order.end(), [&](auto a, auto b) {
        return predictions[a].cost < predictions[b].cost;
      });
      under.push_back(cheapest);
      ceiling_note = fmt::format("; no model is predicted under max_cost ${:.6g}, so the cheapest",
                                 *request.max_cost);
    } else {
      ceiling_note = fmt::format("; max_cost ${:.6g}", *request.max_cost);
    }
    for (auto i : order)
      if (std::find(under.begin(), under.end(), i) == under.end()) {
        d.candidates[i].eligible = false;
        d.candidates[i].note = fmt::format("predicted cost ${:.6g} over max_cost ${:.6g}",
                                           predictions[i].cost, *request.max_cost);
      }
    order = under;
  }
  // A NaN utility (a prediction from a broken input) ranks last: compared as it is, it broke the
  // sort's ordering and could come first.
  auto ranked = [](double u) { return std::isnan(u) ? -std::numeric_limits<double>::infinity() : u; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const double ua = ranked(*d.candidates[a].utility), ub = ranked(*d.candidates[b].utility);
    if (ua != ub) return ua > ub;
    return ranked(-predictions[a].cost) > ranked(-predictions[b].cost);  // cheaper first, NaN last
  });
  const std::size_t best = order.front();
  d.plan = Plan::single(s_.models[best]);
  for (std::size_t k = 1; k < order.size(); ++k) d.plan.fallbacks.push_back(s_.models[order[k]]);
  std::string live_note;
  if (live)
    live_note = fmt::format("; live prices: budget lambda +{:.6g}, capacity price {:.4g}",
                            budget_lambda, *d.candidates[best].price);
  d.reason = fmt::format(
      "{}: {} maximises quality - lambda*cost{} (lambda {:.6g} from {}): predicted quality {:.3f}, "
      "cost ${:.6f}, utility {:.4f}{}{}",
      policy, d.plan.model, live ? " - price" : "", lambda, lam->second,
      predictions[best].quality, predictions[best].cost, *d.candidates[best].utility, ceiling_note,
      live_note);
  return d;
}

}  // namespace switchboard::policies
