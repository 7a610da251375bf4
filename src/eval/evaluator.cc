#include "eval/evaluator.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "config/config.h"
#include "eval/curves.h"
#include "pipeline/embedding_blocking.h"
#include "pipeline/runtime.h"
#include "policies/route_input.h"
#include "policies/trainer.h"

namespace switchboard::eval {
namespace {

Error bad(std::string message) {
  return make_error(ErrorKind::kBadRequest, "bad_eval", std::move(message));
}

std::string mark_of(const std::string& file, const YAML::Node& node) {
  auto m = node.Mark();
  if (m.is_null()) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

struct SpecSource {
  YAML::Node spec;
  std::string where;
};

// Labelled policy specs from --policy-config, in file order.
Result<std::vector<std::pair<std::string, SpecSource>>> load_policy_config(
    const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return bad(path + ": " + e.what());
  }
  std::vector<std::pair<std::string, SpecSource>> out;
  auto add = [&](const YAML::Node& label, const YAML::Node& spec) -> std::optional<Error> {
    if (!label.IsScalar()) return bad(mark_of(path, label) + ": a policy label must be a string");
    if (!spec.IsMap() || !spec["type"] || !spec["type"].IsScalar())
      return bad(mark_of(path, spec) + ": a policy spec must be a mapping with `type`");
    out.push_back({label.Scalar(), {spec, mark_of(path, spec)}});
    return std::nullopt;
  };
  if (root.IsMap() && root["routes"]) {  // a gateway config: its routes
    const YAML::Node routes = root["routes"];
    if (!routes.IsSequence()) return bad(mark_of(path, routes) + ": routes must be a list");
    for (const auto& r : routes) {
      if (!r.IsMap() || !r["name"] || !r["policy"])
        return bad(mark_of(path, r) + ": a route needs `name` and `policy`");
      if (auto err = add(r["name"], r["policy"])) return *err;
    }
  } else if (root.IsMap()) {
    for (const auto& kv : root)
      if (auto err = add(kv.first, kv.second)) return *err;
  } else {
    return bad(path + ": expected a mapping of label to policy spec, or a gateway config");
  }
  return out;
}

// One policy to evaluate: its spec(s) and how to sweep it.
struct PolicyPlan {
  std::string label;
  std::string type;
  Sweep sweep;
  YAML::Node spec;
  std::string where;
  std::vector<std::string> routes;  // route names in the built runtime: one, or one per value
};

Result<PolicyPlan> plan_policy(const std::string& label, const std::optional<SpecSource>& given,
                               const data::Outcomes& train, const std::vector<std::string>& models,
                               const EvalOptions& options) {
  PolicyPlan plan;
  plan.label = label;
  plan.type = given ? given->spec["type"].Scalar() : label;
  plan.where = given ? given->where : "--policy " + label;
  if (const PolicyTrainer* trainer = TrainerRegistry::instance().find(plan.type)) {
    namespace fs = std::filesystem;
    std::string dir = (fs::path(options.artifacts_dir) / label).string();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return make_error(ErrorKind::kInternal, "write_failed",
                        "cannot create " + dir + ": " + ec.message());
    TrainContext ctx{train, models, given ? YAML::Clone(given->spec) : YAML::Node(), dir, options.seed,
                     signals::ExtractorOptions(), std::string(), nullptr};
    auto trained = (*trainer)(ctx);
    if (!trained) return bad("training policy '" + label + "' failed: " + trained.error().message);
    plan.spec = trained->spec;
    plan.sweep = trained->sweep;
    if (!plan.spec.IsMap() || !plan.spec["type"] || !plan.spec["type"].IsScalar())
      return bad("the trainer of policy '" + label + "' returned a spec without `type`");
    plan.type = plan.spec["type"].Scalar();  // a trainer may emit another type's spec
  } else if (given) {
    plan.spec = YAML::Clone(given->spec);
  } else {
    plan.spec["type"] = label;
  }
  if (plan.sweep.values.empty()) {
    plan.sweep.kind = Sweep::Kind::kLambda;
    plan.sweep.key = "lambda";
    plan.sweep.values = default_lambda_sweep();
  }
  return plan;
}

// The routes of a Config in which every policy under evaluation is one or more routes.
std::shared_ptr<config::Config> make_config(std::vector<PolicyPlan>& plans,
                                            const std::vector<std::string>& models) {
  auto cfg = std::make_shared<config::Config>();
  cfg->source = "eval";
  for (const auto& m : models) {
    config::ModelConfig mc;
    mc.name = m;  // prices unknown: costs come from the recorded outcomes
    cfg->models.push_back(std::move(mc));
  }
  for (auto& plan : plans) {
    auto add_route = [&](std::string name, YAML::Node spec) {
      config::RouteConfig rc;
      rc.name = name;
      rc.policy_type = plan.type;
      rc.policy = std::move(spec);
      rc.where = plan.where;
      cfg->routes.push_back(std::move(rc));
      plan.routes.push_back(std::move(name));
    };
    if (plan.sweep.kind == Sweep::Kind::kLambda) {
      add_route(plan.label, plan.spec);
    } else {
      for (std::size_t i = 0; i < plan.sweep.values.size(); ++i) {
        YAML::Node spec = YAML::Clone(plan.spec);
        spec[plan.sweep.key] = plan.sweep.values[i];
        add_route(plan.label + "#" + std::to_string(i), spec);
      }
    }
  }
  return cfg;
}

// Routes every TEST prompt to one route of the runtime at one knob value, through
// Runtime::decide: the call the gateway's chat path makes.
Result<EvalPoint> route_all(const pipeline::Runtime& runtime, const std::string& route,
                            std::optional<double> lambda, const TestSet& test,
                            std::vector<api::ChatRequest>& requests, const std::vector<Signals>& signals,
                            const std::function<void(std::size_t)>& tick) {
  std::vector<std::size_t> calls(test.models.size(), 0);
  double cost = 0, score = 0;
  for (std::size_t i = 0; i < test.records.size(); ++i) {
    requests[i].model = route;
    RouteRequest rr = pipeline::route_request(requests[i], lambda);
    auto decision = runtime.decide(route, rr, signals[i]);
    const std::string& id = test.records[i]->id;
    if (!decision)
      return bad("policy route '" + route + "' failed on prompt '" + id +
                 "': " + decision.error().message);
    auto m = test.model_index(decision->model);
    if (!m)
      return bad("policy route '" + route + "' chose '" + decision->model + "' for prompt '" + id +
                 "', which has no recorded outcome there");
    ++calls[*m];
    cost += test.cost(i, *m);
    score += test.score(i, *m);
    if ((i + 1) % 64 == 0) tick(64);
  }
  tick(test.records.size() % 64);
  return test.point(cost, score, calls, lambda);
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
  result.test_skipped = test_outcomes.records.size() - test.records.size();
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
  std::vector<std::pair<std::string, SpecSource>> configured;
  if (!options.policy_config.empty()) {
    auto loaded = load_policy_config(options.policy_config);
    if (!loaded) return loaded.error();
    configured = std::move(*loaded);
  }
  std::vector<std::string> labels = options.policies;
  if (labels.empty())
    for (const auto& [label, _] : configured) labels.push_back(label);
  std::vector<PolicyPlan> plans;
  for (const auto& label : labels) {
    if (std::count(labels.begin(), labels.end(), label) > 1)
      return bad("policy '" + label + "' is named twice");
    if (test.model_index(label))  // the gateway would send requests naming it to the model itself
      return bad("policy label '" + label +
                 "' is also a model's name; give the policy another label");
    std::optional<SpecSource> given;
    for (const auto& [l, src] : configured)
      if (l == label) given = src;
    auto plan = plan_policy(label, given, train, test.models, options);
    if (!plan) return plan.error();
    plans.push_back(std::move(*plan));
  }

  // Build them the way the gateway does.
  std::shared_ptr<config::Config> cfg = make_config(plans, test.models);
  auto runtime = pipeline::build_runtime(cfg);
  if (!runtime) return runtime.error();

  // The requests a client would send for the TEST prompts, parsed by the gateway's parser.
  std::vector<api::ChatRequest> requests;
  requests.reserve(test.records.size());
  for (const auto* r : test.records) {
    auto chat = chat_request_for(*r, "eval");
    if (!chat) return bad("prompt '" + r->id + "': " + chat.error().message);
    requests.push_back(std::move(*chat));
  }
  // Their signals, once per prompt (not per sweep point) with what any of the policies reads.
  std::vector<Signals> signals;
  signals.reserve(requests.size());
  for (const auto& req : requests) signals.push_back((*runtime)->signals_for(req, (*runtime)->needs));
  if (auto e = pipeline::add_http_embeddings_blocking(**runtime, requests, signals, (*runtime)->needs)) return bad(e->message);

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
    for (std::size_t v = 0; v < plan.sweep.values.size(); ++v) {
      const double value = plan.sweep.values[v];
      const bool per_request = plan.sweep.kind == Sweep::Kind::kLambda;
      const std::string& route = per_request ? plan.routes[0] : plan.routes[v];
      auto point = route_all(**runtime, route, per_request ? std::optional(value) : std::nullopt,
                             test, requests, signals, tick);
      if (!point) return point.error();
      point->knob = value;
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
