#include "eval/policy_plan.h"

#include <stdlib.h>

#include <filesystem>

#include "pipeline/runtime.h"

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

}  // namespace

Result<PolicyConfig> load_policy_config(const std::string& path) {
  if (path.empty()) return PolicyConfig{};
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return bad(path + ": " + e.what());
  }
  PolicyConfig cfg;
  auto& out = cfg.specs;
  auto add = [&](const YAML::Node& label, const YAML::Node& spec,
                 std::vector<std::string> not_applied = {}) -> std::optional<Error> {
    if (!label.IsScalar()) return bad(mark_of(path, label) + ": a policy label must be a string");
    if (!spec.IsMap() || !spec["type"] || !spec["type"].IsScalar())
      return bad(mark_of(path, spec) + ": a policy spec must be a mapping with `type`");
    out.push_back({label.Scalar(), {spec, mark_of(path, spec), std::move(not_applied)}});
    return std::nullopt;
  };
  if (root.IsMap() && root["routes"]) {  // a gateway config: its routes and signals
    auto signals = config::parse_signals_section(root["signals"], path);
    if (!signals) return signals.error();
    cfg.signals = std::move(*signals);
    const YAML::Node routes = root["routes"];
    if (!routes.IsSequence()) return bad(mark_of(path, routes) + ": routes must be a list");
    for (const auto& r : routes) {
      if (!r.IsMap() || !r["name"] || !r["policy"])
        return bad(mark_of(path, r) + ": a route needs `name` and `policy`");
      std::vector<std::string> not_applied;
      for (const auto& kv : r)
        if (kv.first.IsScalar() && kv.first.Scalar() != "name" && kv.first.Scalar() != "policy")
          not_applied.push_back(kv.first.Scalar());
      if (auto err = add(r["name"], r["policy"], std::move(not_applied))) return *err;
    }
  } else if (root.IsMap()) {
    for (const auto& kv : root)
      if (auto err = add(kv.first, kv.second)) return *err;
  } else {
    return bad(path + ": expected a mapping of label to policy spec, or a gateway config");
  }
  return cfg;
}

Result<PolicyPlan> plan_policy(const std::string& label, const std::optional<SpecSource>& given,
                               const data::Outcomes& train, const std::vector<std::string>& models,
                               const EvalOptions& options, const std::string& artifacts_dir,
                               const config::SignalsConfig& signals) {
  PolicyPlan plan;
  plan.label = label;
  plan.type = given ? given->spec["type"].Scalar() : label;
  plan.where = given ? given->where : "--policy " + label;
  // A spec that names its trained model directory (a gateway config's learned route) is evaluated
  // as trained there: retraining on TRAIN would measure another model than the one deployed.
  const bool trained_already = given && given->spec["model_dir"];
  const PolicyTrainer* trainer =
      trained_already ? nullptr : TrainerRegistry::instance().find(plan.type);
  if (trainer) {
    namespace fs = std::filesystem;
    std::string dir = (fs::path(artifacts_dir) / label).string();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return make_error(ErrorKind::kInternal, "write_failed",
                        "cannot create " + dir + ": " + ec.message());
    TrainContext ctx{train,         models,       given ? YAML::Clone(given->spec) : YAML::Node(),
                     dir,           options.seed, pipeline::extractor_options(signals),
                     std::string(), nullptr};
    auto trained = policies::run_trainer(*trainer, ctx);
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

void set_spec_key(YAML::Node spec, const std::string& key, double value) {
  YAML::Node at;
  at.reset(spec);  // rebinds (`=` on a node would rewrite the node it refers to)
  std::size_t from = 0;
  while (true) {
    const std::size_t dot = key.find('.', from);
    const std::string part =
        key.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    const bool index = !part.empty() && at.IsSequence() &&
                       part.find_first_not_of("0123456789") == std::string::npos;
    if (dot == std::string::npos) {
      if (index)
        at[std::stoul(part)] = value;
      else
        at[part] = value;
      return;
    }
    YAML::Node next;
    if (index)
      next.reset(at[std::stoul(part)]);
    else
      next.reset(at[part]);
    at.reset(next);
    from = dot + 1;
  }
}

std::shared_ptr<config::Config> make_config(std::vector<PolicyPlan>& plans,
                                            const std::vector<std::string>& models,
                                            const config::SignalsConfig& signals) {
  auto cfg = std::make_shared<config::Config>();
  cfg->source = "eval";
  cfg->signals = signals;
  for (const auto& m : models) {
    config::ModelConfig mc;
    mc.name = m;               // prices unknown: the recorded upstream bills the recorded cost
    config::ReplicaConfig rc;  // one replica, answered by the recorded upstream
    rc.id = "recorded";
    rc.url = "recorded";
    mc.replicas.push_back(std::move(rc));
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
        set_spec_key(spec, plan.sweep.key, plan.sweep.values[i]);
        add_route(plan.label + "#" + std::to_string(i), spec);
      }
    }
  }
  return cfg;
}

}  // namespace switchboard::eval

namespace switchboard::eval {

Result<std::unique_ptr<ArtifactsDir>> ArtifactsDir::make(const std::string& requested,
                                                         const std::string& prefix) {
  if (!requested.empty()) return std::unique_ptr<ArtifactsDir>(new ArtifactsDir(requested, false));
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path tmp = fs::temp_directory_path(ec);
  std::string pattern = ((ec ? fs::path("/tmp") : tmp) / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    return make_error(ErrorKind::kInternal, "write_failed",
                      "cannot create a temporary directory " + pattern);
  return std::unique_ptr<ArtifactsDir>(new ArtifactsDir(pattern, true));
}

ArtifactsDir::~ArtifactsDir() {
  std::error_code ec;
  if (temporary_) std::filesystem::remove_all(path_, ec);
}

}  // namespace switchboard::eval
