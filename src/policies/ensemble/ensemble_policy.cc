// `ensemble`: call several models in parallel and aggregate their answers.
//
// YAML:
//   {type: ensemble,
//    members: [A, B, C],                                  # fixed members, or
//    recruit: {policy: {type: classifier, ...}, k: 3, max_cost: USD},   # per prompt
//    aggregator: vote | best-of | {type: synthesize, model: M, template:
//    "...{prompt}...{answers}"}, judge: TYPE | {type: TYPE, ...},   # extracts answers (vote) or
//    scores them (best-of) member_quality: [q...],            # fixed members: tie-break order for
//    vote (default: order) max_calls: N, max_cost: USD, deadline_ms: N}
// Recruiting (Symbolic-MoE): the nested policy's candidates, by decreasing utility (its objective
// at the request's λ; predicted quality when it has no utility), eligible ones only, the first k
// whose predicted costs fit together under recruit.max_cost (a candidate that would pass it is
// skipped), then the nested plan's model and fallbacks while fewer than k. Their predicted
// qualities break vote ties. The request's x-switchboard-max-cost lowers the plan's max_cost.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "config/config.h"
#include "policies/multi_call_spec.h"

namespace switchboard::policies {
namespace {

// The synthesizing aggregator's default prompt (documented in README, "Multi-call routing").
constexpr const char* kDefaultTemplate =
    "You are given a question and the answers of several assistants. Write the single best "
    "answer to the question: keep what the answers get right, correct what they get wrong, and "
    "answer in the form the question asks for. Do not mention the assistants or their answers.\n\n"
    "Question:\n{prompt}\n\nAnswers:\n{answers}Final answer:";

struct Recruit {
  std::unique_ptr<Policy> policy;
  std::size_t k = 3;
  std::optional<double> max_cost;
};

class EnsemblePolicy final : public Policy {
 public:
  EnsemblePolicy(std::vector<std::string> members, std::vector<double> quality, Recruit recruit,
                 Aggregate aggregate, PlanBounds bounds)
      : members_(std::move(members)),
        quality_(std::move(quality)),
        recruit_(std::move(recruit)),
        aggregate_(std::move(aggregate)),
        bounds_(bounds) {}

  SignalNeeds needs() const override {
    return recruit_.policy ? recruit_.policy->needs() : SignalNeeds{};
  }
  bool weighs_cost() const override { return recruit_.policy && recruit_.policy->weighs_cost(); }
  // The members (fixed, or those the recruiting policy may pick) and the aggregator.
  std::vector<std::string> models() const override {
    Plan every;
    every.fallbacks = recruit_.policy ? recruit_.policy->models() : members_;
    if (every.fallbacks.empty()) return {};
    if (!aggregate_.model.empty()) every.fallbacks.push_back(aggregate_.model);
    return every.models();
  }

  Result<Decision> choose(const RouteRequest& request, const Signals& signals) const override {
    Decision d;
    d.policy = "ensemble";
    d.plan.kind = "ensemble";
    d.plan.bounds = bounds_for(bounds_, request);
    d.plan.aggregate = aggregate_;
    PlanTier members;
    if (recruit_.policy) {
      auto nested = recruit_.policy->choose(request, signals);
      if (!nested) return nested.error();
      std::vector<const Candidate*> order;
      for (const auto& c : nested->candidates)
        if (c.eligible) order.push_back(&c);
      std::stable_sort(order.begin(), order.end(), [](const Candidate* a, const Candidate* b) {
        const double ua = a->utility ? *a->utility : a->predicted_quality;
        const double ub = b->utility ? *b->utility : b->predicted_quality;
        return ua > ub;
      });
      double cost = 0;
      for (const Candidate* c : order) {
        if (members.models.size() >= recruit_.k) break;
        const double pc = std::max(0.0, c->predicted_cost);
        if (recruit_.max_cost && cost + pc > *recruit_.max_cost) continue;
        cost += pc;
        members.models.push_back(c->model);
        d.plan.aggregate.member_quality.push_back(c->predicted_quality);
      }
      // Fewer candidates than k (a policy that does not score them): the nested plan's model and
      // fallbacks fill up.
      std::vector<std::string> more{nested->plan.model};
      more.insert(more.end(), nested->plan.fallbacks.begin(), nested->plan.fallbacks.end());
      for (const auto& m : more) {
        if (members.models.size() >= recruit_.k) break;
        if (m.empty() ||
            std::find(members.models.begin(), members.models.end(), m) != members.models.end())
          continue;
        members.models.push_back(m);
        d.plan.aggregate.member_quality.push_back(-1);
      }
      d.candidates = std::move(nested->candidates);
      d.reason = fmt::format("recruited by {} (k={}{}): ", nested->policy, recruit_.k,
                             recruit_.max_cost ? fmt::format(", ≤ ${:g}", *recruit_.max_cost) : "");
    } else {
      members.models = members_;
      d.plan.aggregate.member_quality = quality_;
    }
    std::string names;
    for (const auto& m : members.models) names += (names.empty() ? "" : "+") + m;
    d.reason += "ensemble " + names + " -> " + aggregate_.kind;
    if (aggregate_.kind == "synthesize") d.reason += " by " + aggregate_.model;
    d.plan.model = members.models.front();
    d.plan.tiers.push_back(std::move(members));
    return d;
  }

 private:
  std::vector<std::string> members_;
  std::vector<double> quality_;
  Recruit recruit_;
  Aggregate aggregate_;
  PlanBounds bounds_;
};

Result<Aggregate> parse_aggregator(const PolicyContext& ctx) {
  Aggregate a;
  const YAML::Node node = ctx.spec["aggregator"];
  if (!node) return a;  // vote
  const std::string where = where_of(ctx, node);
  // (A fresh node: assigning to a yaml-cpp node that refers to the spec would rewrite the spec.)
  if (!node.IsScalar() && !node.IsMap())
    return spec_error(where, "aggregator is `vote`, `best-of`, `synthesize` or a mapping with `type`");
  YAML::Node spec(YAML::NodeType::Map);
  if (node.IsScalar())
    spec["type"] = node.Scalar();
  else
    spec = YAML::Clone(node);
  if (node.IsMap())  // (the original node: a clone has no positions)
    if (auto e = check_keys(ctx, node, "an aggregator", {"type", "model", "template"})) return *e;
  a.kind = spec["type"] && spec["type"].IsScalar() ? spec["type"].Scalar() : "";
  if (a.kind != "vote" && a.kind != "best-of" && a.kind != "synthesize")
    return spec_error(where, "aggregator is `vote`, `best-of` or `synthesize`");
  if (a.kind == "synthesize") {
    if (!spec["model"] || !spec["model"].IsScalar())
      return spec_error(where, "the synthesize aggregator needs `model: NAME`");
    a.model = spec["model"].Scalar();
    if (!ctx.config.find_model(a.model))
      return spec_error(where, "unknown aggregator model '" + a.model + "'");
    a.prompt_template = kDefaultTemplate;
    if (spec["template"]) {
      auto text = value_of<std::string>(ctx, node["template"], "template", "a text");
      if (!text) return text.error();
      a.prompt_template = *text;
    }
    if (a.prompt_template.find("{answers}") == std::string::npos)
      return spec_error(where, "the synthesize template must contain {answers}");
  } else if (spec["model"] || spec["template"]) {
    return spec_error(where, "`model` and `template` belong to the synthesize aggregator");
  }
  return a;
}

Result<std::unique_ptr<Policy>> make_ensemble(const PolicyContext& ctx) {
  std::vector<std::string> keys = {"type",       "members", "recruit",
                                   "aggregator", "judge",   "member_quality"};
  for (const auto& k : bounds_keys()) keys.push_back(k);
  if (auto e = check_keys(ctx, ctx.spec, "ensemble policy", keys)) return *e;
  if (!ctx.spec["members"] == !ctx.spec["recruit"])
    return spec_error(ctx.where, "ensemble policy needs `members: [...]` or `recruit: {...}`");
  std::vector<std::string> members;
  std::vector<double> quality;
  Recruit recruit;
  try {
    if (auto n = ctx.spec["members"]) {
      auto list = model_list(ctx, n);
      if (!list) return list.error();
      members = std::move(*list);
      if (auto q = ctx.spec["member_quality"]) {
        auto list = value_of<std::vector<double>>(ctx, q, "member_quality",
                                                  "a list of finite numbers, one per member");
        if (!list) return list.error();
        quality = std::move(*list);
        if (quality.size() != members.size())
          return spec_error(where_of(ctx, q), "member_quality needs one number per member");
        for (double v : quality)
          if (!std::isfinite(v))
            return spec_error(where_of(ctx, q), "member_quality must hold finite numbers");
      }
    } else {
      const YAML::Node r = ctx.spec["recruit"];
      if (auto e = check_keys(ctx, r, "recruit", {"policy", "k", "max_cost"})) return *e;
      if (!r["policy"]) return spec_error(where_of(ctx, r), "recruit needs `policy: {type: ...}`");
      auto nested = build_nested_policy(ctx, r["policy"]);
      if (!nested) return nested.error();
      recruit.policy = std::move(*nested);
      if (r["k"]) {
        auto k = value_of<int>(ctx, r["k"], "recruit.k", "a whole number of members");
        if (!k) return k.error();
        if (*k < 1) return spec_error(where_of(ctx, r["k"]), "k must be at least 1");
        recruit.k = static_cast<std::size_t>(*k);
      }
      if (r["max_cost"]) {
        auto max_cost = value_of<double>(ctx, r["max_cost"], "recruit.max_cost", "a USD amount");
        if (!max_cost) return max_cost.error();
        recruit.max_cost = *max_cost;
        if (!(*recruit.max_cost >= 0) || !std::isfinite(*recruit.max_cost))
          return spec_error(where_of(ctx, r["max_cost"]), "max_cost must be a finite USD amount >= 0");
      }
      if (ctx.spec["member_quality"])
        return spec_error(where_of(ctx, ctx.spec["member_quality"]),
                          "member_quality is for fixed members (recruits come with predictions)");
    }
  } catch (const YAML::Exception& e) {
    return spec_error(ctx.where, e.msg);
  }
  auto aggregate = parse_aggregator(ctx);
  if (!aggregate) return aggregate.error();
  if (auto n = ctx.spec["judge"]) {
    auto judge = build_judge(ctx, n);
    if (!judge) return judge.error();
    aggregate->judge = std::move(judge->judge);
    aggregate->judge_name = std::move(judge->name);
  } else if (aggregate->kind == "best-of") {
    return spec_error(ctx.where, "the best-of aggregator needs a `judge` that scores answers");
  }
  auto bounds = parse_bounds(ctx);
  if (!bounds) return bounds.error();
  return std::unique_ptr<Policy>(std::make_unique<EnsemblePolicy>(
      std::move(members), std::move(quality), std::move(recruit), std::move(*aggregate), *bounds));
}

const PolicyRegistrar kRegisterEnsemble("ensemble", make_ensemble);

}  // namespace
}  // namespace switchboard::policies
