// `cascade`: ask cheaper models first and escalate when a judge is unsure of their answer.
//
// YAML:
//   {type: cascade,
//    first: {type: classifier, ...},   # optional nested policy: route first, then verify
//    tiers: [{models: [A, B] | model: A, judge: TYPE | {type: TYPE, ...}, threshold: X,
//             on_unavailable: escalate | accept, logprobs: false}, ..., {model: STRONG}],
//    threshold: X,                      # optional: overrides every judged tier's threshold
//    max_calls: N, max_cost: USD, deadline_ms: N}
// A tier's models are called in parallel; its judge scores their answers in [0,1]; below the
// tier's threshold the next tier is called; the last tier has no judge and its answer is final.
// With `first`, the nested policy's chosen model is called in the first tier, with the first
// tier's models as probes beside it (the name `first` in a tier's models marks another place for
// it); when it chose a model of the final tier, that tier alone is the plan (nothing to verify).
// The request's x-switchboard-max-cost lowers max_cost; λ and the objective reach the nested
// policy unchanged. The plan's tiers, thresholds and judges are shown in the decision's reason.
//
// `threshold: utility` (with `first`; optional `margin: X`, default 0): the tier's threshold is
// set per request to the utility the nested policy gives the final tier's model (its predicted
// quality − λ·predicted cost at the request's λ and objective) + margin: the answer in hand is
// kept when the judge's P(correct) is worth at least what calling the strongest model would be
// (a calibrated judge, such as `verifier`, makes the comparison meaningful). When the nested
// policy gives that model no utility, the tier escalates on `margin` alone (as a fixed threshold).
#include <cmath>
#include <fmt/format.h>

#include <algorithm>

#include "config/config.h"
#include "policies/multi_call_spec.h"

namespace switchboard::policies {
namespace {

constexpr const char* kFirst = "first";

class CascadePolicy final : public Policy {
 public:
  CascadePolicy(std::vector<PlanTier> tiers, std::vector<std::optional<double>> utility_margin,
                PlanBounds bounds, std::unique_ptr<Policy> first)
      : tiers_(std::move(tiers)),
        utility_margin_(std::move(utility_margin)),
        bounds_(bounds),
        first_(std::move(first)) {}

  SignalNeeds needs() const override { return first_ ? first_->needs() : SignalNeeds{}; }
  bool weighs_cost() const override { return first_ && first_->weighs_cost(); }
  // The tiers' models and the first policy's (unknown when the first policy's are).
  std::vector<std::string> models() const override {
    Plan every;
    if (first_) {
      every.fallbacks = first_->models();
      if (every.fallbacks.empty()) return {};
    }
    for (const auto& t : tiers_)
      for (const auto& m : t.models)
        if (!first_ || m != kFirst) every.fallbacks.push_back(m);
    return every.models();
  }

  Result<Decision> choose(const RouteRequest& request, const Signals& signals) const override {
    Decision d;
    d.policy = "cascade";
    d.plan.kind = "cascade";
    d.plan.bounds = bounds_for(bounds_, request);
    d.plan.tiers = tiers_;
    std::string chosen;
    if (first_) {
      auto nested = first_->choose(request, signals);
      if (!nested) return nested.error();
      chosen = nested->plan.model;
      // Utility thresholds: the final tier's model's utility for this request (+ margin).
      std::optional<double> final_utility;
      for (const auto& c : nested->candidates)
        if (c.model == tiers_.back().models.front() && c.utility) final_utility = c.utility;
      for (std::size_t i = 0; i < d.plan.tiers.size() && i < utility_margin_.size(); ++i)
        if (utility_margin_[i])
          d.plan.tiers[i].threshold = (final_utility ? *final_utility : 0.0) + *utility_margin_[i];
      d.candidates = std::move(nested->candidates);
      d.reason = "first " + nested->policy + " chose " + chosen + "; ";
      const auto& final_models = tiers_.back().models;
      if (std::find(final_models.begin(), final_models.end(), chosen) != final_models.end()) {
        d.plan.tiers = {tiers_.back()};
        d.plan.tiers[0].models = {chosen};
      } else {
        bool placed = false;
        for (auto& t : d.plan.tiers)
          for (auto& m : t.models)
            if (m == kFirst) m = chosen, placed = true;
        if (!placed) d.plan.tiers[0].models.insert(d.plan.tiers[0].models.begin(), chosen);
        // The chosen model may also be a probe: called once.
        for (auto& t : d.plan.tiers) {
          std::vector<std::string> unique;
          for (auto& m : t.models)
            if (std::find(unique.begin(), unique.end(), m) == unique.end()) unique.push_back(m);
          t.models = std::move(unique);
        }
      }
    }
    d.plan.model = d.plan.tiers[0].models[0];
    std::string tiers;
    for (std::size_t i = 0; i < d.plan.tiers.size(); ++i) {
      const auto& t = d.plan.tiers[i];
      std::string names;
      for (const auto& m : t.models) names += (names.empty() ? "" : "+") + m;
      tiers += (i ? " -> " : "") + names;
      if (t.judge) tiers += fmt::format(" [{} >= {:g}]", t.judge_name, t.threshold);
    }
    d.reason += "cascade " + tiers;
    return d;
  }

 private:
  std::vector<PlanTier> tiers_;
  std::vector<std::optional<double>> utility_margin_;  // per tier: set for `threshold: utility`
  PlanBounds bounds_;
  std::unique_ptr<Policy> first_;
};

Result<PlanTier> parse_tier(const PolicyContext& ctx, const YAML::Node& node, bool last,
                            bool has_first, std::optional<double> threshold,
                            std::optional<double>& utility_margin) {
  const std::string where = where_of(ctx, node);
  if (auto e = check_keys(
          ctx, node, "a cascade tier",
          {"models", "model", "judge", "threshold", "margin", "on_unavailable", "logprobs"}))
    return *e;
  PlanTier tier;
  const YAML::Node models = node["models"] ? node["models"] : node["model"];
  if (!models || (node["models"] && node["model"]))
    return spec_error(where, "a tier needs `models: [NAME...]` or `model: NAME`");
  auto list = model_list(ctx, models, has_first ? kFirst : "");
  if (!list) return list.error();
  tier.models = std::move(*list);
  try {
    if (node["judge"]) {
      if (last)
        return spec_error(where_of(ctx, node["judge"]),
                          "the last tier is final: it has no judge (add a tier after it)");
      auto judge = build_judge(ctx, node["judge"]);
      if (!judge) return judge.error();
      tier.judge = std::move(judge->judge);
      tier.judge_name = std::move(judge->name);
      if (!node["threshold"] && !threshold)
        return spec_error(where, "a judged tier needs `threshold` (confidence in [0,1])");
      const bool utility = node["threshold"] && node["threshold"].IsScalar() &&
                           node["threshold"].Scalar() == "utility";
      if (utility) {
        if (!has_first)
          return spec_error(where_of(ctx, node["threshold"]),
                            "`threshold: utility` needs the cascade's `first` policy");
        utility_margin = 0.0;
        if (node["margin"]) {
          auto margin = value_of<double>(ctx, node["margin"], "margin", "a number");
          if (!margin) return margin.error();
          utility_margin = *margin;
        }
      } else if (node["margin"]) {
        return spec_error(where_of(ctx, node["margin"]), "`margin` is for `threshold: utility`");
      } else {
        if (threshold) {
          tier.threshold = *threshold;
        } else {
          auto own = value_of<double>(ctx, node["threshold"], "threshold",
                                      "a finite number (confidence in [0,1]) or `utility`");
          if (!own) return own.error();
          tier.threshold = *own;
        }
      }
    } else if (!last) {
      return spec_error(where, "every tier but the last needs a `judge`");
    }
    if (auto n = node["on_unavailable"]) {
      const std::string v = n.IsScalar() ? n.Scalar() : "";
      if (v != "escalate" && v != "accept")
        return spec_error(where_of(ctx, n), "on_unavailable is `escalate` or `accept`");
      tier.on_unavailable = v == "accept" ? OnUnavailable::kAccept : OnUnavailable::kEscalate;
    }
    if (auto n = node["logprobs"]) {
      auto on = value_of<bool>(ctx, n, "logprobs", "true or false");
      if (!on) return on.error();
      tier.logprobs = *on;
    }
  } catch (const YAML::Exception& e) {
    return spec_error(where, e.msg);
  }
  return tier;
}

Result<std::unique_ptr<Policy>> make_cascade(const PolicyContext& ctx) {
  std::vector<std::string> keys = {"type", "first", "tiers", "threshold"};
  for (const auto& k : bounds_keys()) keys.push_back(k);
  if (auto e = check_keys(ctx, ctx.spec, "cascade policy", keys)) return *e;
  const YAML::Node tiers = ctx.spec["tiers"];
  if (!tiers || !tiers.IsSequence() || tiers.size() < 2)
    return spec_error(ctx.where,
                      "cascade policy needs `tiers: [...]`, at least two (the last one final)");
  std::optional<double> threshold;
  if (auto n = ctx.spec["threshold"]) {
    auto value = value_of<double>(ctx, n, "threshold", "a finite number (confidence in [0,1])");
    if (!value) return value.error();
    threshold = *value;
  }
  std::unique_ptr<Policy> first;
  if (auto n = ctx.spec["first"]) {
    auto nested = build_nested_policy(ctx, n);
    if (!nested) return nested.error();
    first = std::move(*nested);
  }
  std::vector<PlanTier> out;
  std::vector<std::optional<double>> margins;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    std::optional<double> margin;
    auto tier =
        parse_tier(ctx, tiers[i], i + 1 == tiers.size(), first != nullptr, threshold, margin);
    if (!tier) return tier.error();
    out.push_back(std::move(*tier));
    margins.push_back(margin);
  }
  const auto& last = out.back().models;
  if (std::find(last.begin(), last.end(), kFirst) != last.end())
    return spec_error(where_of(ctx, tiers[tiers.size() - 1]),
                      "`first` cannot be in the final tier");
  auto bounds = parse_bounds(ctx);
  if (!bounds) return bounds.error();
  return std::unique_ptr<Policy>(std::make_unique<CascadePolicy>(std::move(out), std::move(margins),
                                                                 *bounds, std::move(first)));
}

const PolicyRegistrar kRegisterCascade("cascade", make_cascade);

}  // namespace
}  // namespace switchboard::policies
