// The `routed` default cascade: a learned policy routes first, a judge verifies its answer, cheap
// probes are asked when the verifier is unsure, and the strongest model answers when they disagree.
// Everything is chosen from TRAIN; nothing is read from TEST:
//   final  = the model with the best mean TRAIN score (ties: cheaper);
//   first  = the spec's `first` policy (default `classifier`), trained on TRAIN into OUT/first;
//   tier 0 = [first], judged by the `verifier` trained on TRAIN's recorded responses into
//            OUT/verifier (calibrated P(correct | prompt, answer)), with `threshold: utility`
//            (cascade_policy.cc): keep the answer when its P(correct) is at least the final
//            model's utility at the request's λ, + margin (`escalate: threshold` instead: a
//            fixed threshold);
//   tier 1 = [first, probe_1 .. probe_P]: the P (`probes`, default 2) models of best mean TRAIN
//            score among those whose TRAIN cost is at most `probe_share` (default 1/8) of the final
//            model's, judged by `agreement` with `reference: first` (the probes confirm the routed
//            answer; they cannot outvote it; `confirm_first: 0` for the majority instead) and
//            threshold `agree_threshold` (default 0.6: two of three, or both of two when the
//            routed model is a probe). The routed model's answer is reused, not asked again.
//            `probes: 0` leaves this tier out;
//   tier 2 = [final].
// When the first policy picks the final model, that call alone is the plan (nothing to verify).
// The curve's knob is a grid: tier 0's margin (`tiers.0.margin`, values `thresholds`, default
// −1 = never escalate, −0.1, 0, 0.1, 0.2, 0.3) — or with `escalate: threshold` its threshold
// (`tiers.0.threshold`: 0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01 = always ask the probes) — × λ (every
// `lambda_step`-th, default every, value of the first policy's λ sweep: 40). Margin −1 (threshold
// 0) is the first policy alone, so the grid's hull contains the single-call curve; the rest is
// what verifying adds.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "policies/cascade/cascade_designs.h"
#include "policies/learned.h"

namespace switchboard::policies {
namespace {

Error bad(const std::string& m) {
  return make_error(ErrorKind::kBadRequest, "bad_data", "cascade: " + m);
}

}  // namespace

Result<TrainedPolicy> train_routed_cascade(const TrainContext& ctx) {
  const YAML::Node base = ctx.base_spec && ctx.base_spec.IsMap() ? ctx.base_spec : YAML::Node();
  const std::vector<std::string> models = train_models(ctx);
  auto table = make_train_table(ctx.train, models);
  if (!table) return table.error();
  const std::size_t n = models.size();
  if (n < 2) return bad("needs at least two models");
  std::vector<double> cost(n, 0), quality(n, 0);
  for (const auto& r : table->rows)
    for (std::size_t m = 0; m < n; ++m) cost[m] += r.cost[m], quality[m] += r.score[m];
  std::size_t final_model = 0;
  for (std::size_t m = 1; m < n; ++m)
    if (quality[m] > quality[final_model] ||
        (quality[m] == quality[final_model] && cost[m] < cost[final_model]))
      final_model = m;
  const double probe_share = spec_number(ctx, "probe_share", 0.125);
  const auto n_probes = static_cast<std::size_t>(spec_number(ctx, "probes", 2));
  std::vector<std::size_t> cheap;
  for (std::size_t m = 0; m < n; ++m)
    if (m != final_model && cost[m] <= probe_share * cost[final_model]) cheap.push_back(m);
  std::stable_sort(cheap.begin(), cheap.end(), [&](std::size_t a, std::size_t b) {
    return quality[a] != quality[b] ? quality[a] > quality[b] : cost[a] < cost[b];
  });
  if (cheap.size() > n_probes) cheap.resize(n_probes);

  YAML::Node first_spec;
  if (base && base["first"])
    first_spec = YAML::Clone(base["first"]);
  else
    first_spec["type"] = "classifier";
  auto first = train_nested(ctx, first_spec, "first", "cascade");
  if (!first) return first.error();
  YAML::Node verifier_spec;
  verifier_spec["type"] = "verifier";
  for (const auto& m : models) verifier_spec["models"].push_back(m);
  auto verifier = train_nested(ctx, verifier_spec, "verifier", "cascade");
  if (!verifier) return verifier.error();

  YAML::Node spec;
  spec["type"] = "cascade";
  spec["first"] = first->spec;
  YAML::Node verify;
  verify["models"].push_back("first");
  verify["judge"] = verifier->spec;
  const std::string escalate =
      base && base["escalate"] ? base["escalate"].as<std::string>() : "utility";
  if (escalate != "utility" && escalate != "threshold")
    return bad("escalate is `utility` or `threshold`");
  const bool utility = escalate == "utility";
  if (utility) {
    verify["threshold"] = "utility";
    verify["margin"] = 0.0;
  } else {
    verify["threshold"] = 0.5;
  }
  spec["tiers"].push_back(verify);
  if (!cheap.empty()) {
    YAML::Node probe;
    probe["models"].push_back("first");
    for (std::size_t m : cheap) probe["models"].push_back(models[m]);
    probe["judge"]["type"] = "agreement";
    if (spec_number(ctx, "confirm_first", 1) != 0) probe["judge"]["reference"] = "first";
    if (utility && base && base["agree_threshold"] && base["agree_threshold"].IsScalar() &&
        base["agree_threshold"].Scalar() == "utility")
      probe["threshold"] = "utility";
    else
      probe["threshold"] = spec_number(ctx, "agree_threshold", 0.6);
    spec["tiers"].push_back(probe);
  }
  YAML::Node last;
  last["model"] = models[final_model];
  spec["tiers"].push_back(last);
  for (const char* key : {"max_calls", "max_cost", "deadline_ms"})
    if (base && base[key]) spec[key] = YAML::Clone(base[key]);

  TrainedPolicy out;
  out.spec = spec;
  out.sweep.kind = Sweep::Kind::kSpecKey;
  out.sweep.key = utility ? "tiers.0.margin" : "tiers.0.threshold";
  std::vector<double> thresholds = utility ? std::vector<double>{-1, -0.1, 0, 0.1, 0.2, 0.3}
                                           : std::vector<double>{0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01};
  if (base && base["thresholds"]) thresholds = base["thresholds"].as<std::vector<double>>();
  std::vector<double> lambdas =
      first->sweep.kind == Sweep::Kind::kLambda && !first->sweep.values.empty()
          ? first->sweep.values
          : default_lambda_sweep();
  const auto step = static_cast<std::size_t>(std::max(1.0, spec_number(ctx, "lambda_step", 1)));
  for (double t : thresholds)
    for (std::size_t i = 0; i < lambdas.size(); i += step) {
      out.sweep.values.push_back(t);
      out.sweep.lambdas.push_back(lambdas[i]);
    }
  return out;
}

}  // namespace switchboard::policies
