#include "eval/evaluator.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_set>

#include "config/config.h"
#include "eval/curves.h"
#include "eval/offline_runner.h"
#include "eval/policy_plan.h"
#include "pipeline/embedding_blocking.h"
#include "pipeline/runtime.h"
#include "policies/route_input.h"
#include "policies/trainer.h"
#include "replay/recorded_upstream.h"

namespace switchboard::eval {
namespace {

Error bad(std::string message) {
  return make_error(ErrorKind::kBadRequest, "bad_eval", std::move(message));
}

// Sends every TEST prompt to one route at one knob value through the gateway's stages and executor
// on the recorded upstream, as a client would (λ in the x-switchboard-lambda header). The point's
// cost is what the calls made were billed; its quality the recorded score of the model that
// answered.
Result<EvalPoint> route_all(OfflineRunner& runner, const std::string& route,
                            std::optional<double> lambda, const TestSet& test,
                            const std::vector<std::string>& bodies,
                            const std::function<void(std::size_t)>& tick) {
  std::vector<std::size_t> calls(test.models.size(), 0);
  std::vector<std::size_t> stops;  // prompts answered by each tier
  std::size_t model_calls = 0;
  bool multi_call = false;  // some prompt ran a multi-call plan
  double cost = 0, score = 0;
  const std::string lambda_text = lambda ? fmt::format("{:.17g}", *lambda) : std::string();
  pipeline::RequestHeaders headers;
  if (lambda) headers.items.emplace_back("x-switchboard-lambda", lambda_text);
  for (std::size_t i = 0; i < test.records.size(); ++i) {
    OfflineResult r = runner.run(bodies[i], headers);
    const std::string& id = test.records[i]->id;
    if (auto e = runner.embedding_error()) return bad(e->message);
    if (r.record.outcome != "ok")
      return bad("policy route '" + route + "' failed on prompt '" + id + "': " +
                 (r.record.error_message.empty() ? r.record.outcome : r.record.error_message));
    auto m = test.model_index(r.record.model);
    if (!m)
      return bad("policy route '" + route + "' chose '" + r.record.model + "' for prompt '" + id +
                 "', which has no recorded outcome there");
    // Each model called on this prompt counts once (a multi-call plan calls several: the strong
    // model's share is of the prompts it was called on, whichever answer was taken).
    std::vector<std::size_t> called{*m};
    for (const auto& c : r.record.calls)
      if (auto k = test.model_index(c.model); k && std::ranges::find(called, *k) == called.end())
        called.push_back(*k);
    for (std::size_t k : called) ++calls[k];
    // The tier the plan stopped at: the last one that made a call (a cascade tier may accept an
    // earlier tier's answer, judged again with new probes).
    std::size_t tier = 0;
    for (const auto& c : r.record.calls)
      tier = std::max(tier, static_cast<std::size_t>(std::max(0, c.tier)));
    if (stops.size() <= tier) stops.resize(tier + 1, 0);
    ++stops[tier];
    model_calls += r.record.calls.empty() ? 1 : r.record.calls.size();
    multi_call |= !r.record.calls.empty();
    cost += r.record.cost_usd;
    score += test.score(i, *m);
    if ((i + 1) % 64 == 0) tick(64);
  }
  tick(test.records.size() % 64);
  EvalPoint point = test.point(cost, score, calls, lambda);
  const double n = std::max<double>(1, static_cast<double>(test.records.size()));
  if (multi_call)
    for (std::size_t s : stops) point.tier_shares.push_back(static_cast<double>(s) / n);
  point.mean_calls = static_cast<double>(model_calls) / n;
  return point;
}

}  // namespace

Result<EvalResult> evaluate(const data::Outcomes& train, const data::Outcomes& test_outcomes,
                            const EvalOptions& options) {
  auto test_set = TestSet::make(test_outcomes, options.strong);
  if (!test_set) return test_set.error();
  const TestSet& test = *test_set;

  EvalResult result;
  result.train_records = train.records.size();
  result.test_records = test.records.size();
  result.test_duplicates = test.duplicates;
  {
    std::unordered_set<std::string> trained;
    trained.reserve(train.records.size());
    for (const auto& r : train.records) trained.insert(r.conversation_key());
    for (const auto* r : test.records) result.test_in_train += trained.contains(r->conversation_key());
    if (result.test_in_train)
      result.notes.push_back(
          std::to_string(result.test_in_train) + " of the " + std::to_string(test.records.size()) +
          " TEST prompts are also in TRAIN (the same conversation): the learned policies have seen "
          "their outcomes, so their figures are not wholly held-out");
  }
  result.test_skipped = test_outcomes.records.size() - test.records.size() - test.duplicates;
  result.budgets = options.budgets;
  result.seed = options.seed;
  result.strong = options.strong;
  result.weak = options.weak;
  std::set<std::string> tasks;
  for (const auto* r : test.records)
    if (!r->task.empty()) tasks.insert(r->task);
  result.tasks.assign(tasks.begin(), tasks.end());
  for (std::size_t m = 0; m < test.models.size(); ++m)
    result.models.push_back({test.models[m], test.model_cost[m], test.model_quality[m]});
  for (const auto& s : result.models)
    if (s.cost > result.max_cost) {
      result.max_cost = s.cost;
      result.max_cost_model = s.name;
    }
  for (const auto* which : {&options.strong, &options.weak})
    if (*which && !test.model_index(**which))
      return bad("--strong/--weak names '" + **which + "', which is not a model of the test data");
  if (options.strong.has_value() != options.weak.has_value())
    return bad("--strong and --weak go together");
  if (options.strong && *options.strong == *options.weak)
    return bad("--strong and --weak must name different models");

  // Which policies, from which specs.
  auto configured_or = load_policy_config(options.policy_config);
  if (!configured_or) return configured_or.error();
  PolicyConfig configured = std::move(*configured_or);
  // Trained policies go to a temporary directory unless the caller keeps them.
  auto artifacts_dir = ArtifactsDir::make(options.artifacts_dir, "switchboard-eval");
  if (!artifacts_dir) return artifacts_dir.error();
  const std::string& artifacts = (*artifacts_dir)->path();
  std::vector<std::string> labels = options.policies;
  if (labels.empty())
    for (const auto& [label, _] : configured.specs) labels.push_back(label);
  std::vector<PolicyPlan> plans;
  for (const auto& label : labels) {
    if (std::count(labels.begin(), labels.end(), label) > 1)
      return bad("policy '" + label + "' is named twice");
    if (test.model_index(label))  // the gateway would send requests naming it to the model itself
      return bad("policy label '" + label +
                 "' is also a model's name; give the policy another label");
    std::optional<SpecSource> given;
    for (const auto& [l, src] : configured.specs)
      if (l == label) given = src;
    if (given && !given->not_applied.empty()) {
      std::string keys;
      for (const auto& k : given->not_applied) keys += (keys.empty() ? "`" : ", `") + k + ":`";
      result.notes.push_back("route '" + label + "': its settings " + keys +
                             " are not applied — eval runs the route's policy only (a cache hit or "
                             "a guard's refusal has no recorded outcome to score)");
    }
    auto plan =
        plan_policy(label, given, train, test.models, options, artifacts, configured.signals);
    if (!plan) return plan.error();
    plans.push_back(std::move(*plan));
  }

  // Build them the way the gateway does, with an upstream that answers from the TEST outcomes.
  std::shared_ptr<config::Config> cfg = make_config(plans, test.models, configured.signals);
  auto runtime = pipeline::build_runtime(cfg);
  if (!runtime) return runtime.error();
  replay::RecordedUpstream upstream(test.records);  // the records scored, no other
  OfflineRunner runner(**runtime, upstream);

  std::size_t total = 0, done = 0;
  for (const auto& plan : plans) total += plan.sweep.values.size() * test.records.size();
  auto tick = [&](std::size_t n) {
    done += n;
    if (options.progress) options.progress(done, total);
  };
  if (options.progress) options.progress(0, total);

  for (const auto& plan : plans) {
    Curve curve;
    curve.name = plan.label;
    curve.kind = "policy";
    curve.type = plan.type;
    curve.knob = plan.sweep.key;
    curve.description = "policy type " + plan.type;
    std::vector<EvalPoint> points;
    std::vector<std::vector<std::string>> bodies(plan.routes.size());  // per route, per TEST prompt
    for (std::size_t k = 0; k < plan.routes.size(); ++k) {
      for (const auto* r : test.records) {
        auto body = policies::chat_body_for(*r, plan.routes[k]);
        if (!body) return bad("prompt '" + r->id + "': " + body.error().message);
        bodies[k].push_back(std::move(*body));
      }
    }
    for (std::size_t v = 0; v < plan.sweep.values.size(); ++v) {
      const double value = plan.sweep.values[v];
      const bool per_request = plan.sweep.kind == Sweep::Kind::kLambda;
      const std::size_t k = per_request ? 0 : v;
      std::optional<double> lambda;
      if (per_request) lambda = value;
      if (!per_request && v < plan.sweep.lambdas.size()) lambda = plan.sweep.lambdas[v];
      auto point = route_all(runner, plan.routes[k], lambda, test, bodies[k], tick);
      if (!point) return point.error();
      point->knob = value;
      if (!per_request) point->lambda = lambda;
      points.push_back(std::move(*point));
    }
    curve.points = distinct_sorted(std::move(points));
    result.policies.push_back(std::move(curve));
  }

  result.baselines = baselines(train, test, options.weak, options.strong);
  for (auto* curves : {&result.policies, &result.baselines})
    for (auto& c : *curves) c.metrics = compute_metrics(c.points, result);
  return result;
}

}  // namespace switchboard::eval
