// `switchboard calibrate --model-dir DIR --data HELD.jsonl --target T [--write]`: finds the λ at
// which a trained policy meets a target on held data (eval/calibrate.h), prints it with the
// achieved value, and with --write stores it as the model directory's `balanced` objective.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "config/config.h"
#include "data/outcomes.h"
#include "eval/calibrate.h"
#include "pipeline/runtime.h"
#include "policies/model_dir.h"

namespace switchboard::cli {
namespace {

struct CalibrateCliOptions {
  std::string model_dir, data, target;
  bool write = false;
};

int run_calibrate(const CalibrateCliOptions& o) {
  auto fail = [](const std::string& m, int code = 1) {
    fmt::print(stderr, "switchboard calibrate: {}\n", m);
    return code;
  };
  auto target = eval::parse_target(o.target);
  if (!target) return fail(target.error().message, 2);
  auto manifest = policies::load_manifest(o.model_dir);
  if (!manifest) return fail(manifest.error().message);
  if (target->kind == eval::CalibrationTarget::Kind::kShare &&
      std::find(manifest->models.begin(), manifest->models.end(), target->model) ==
          manifest->models.end())
    return fail("the target names '" + target->model +
                    "', which is not one of the model directory's models",
                2);
  auto data = data::read_outcomes_jsonl(o.data);
  if (!data) return fail(data.error().message);

  // The policy, built as the gateway builds it, over the manifest's models.
  auto cfg = std::make_shared<config::Config>();
  cfg->source = "calibrate";
  for (const auto& m : manifest->models) {
    config::ModelConfig mc;
    mc.name = m;
    cfg->models.push_back(std::move(mc));
  }
  config::RouteConfig route;
  route.name = "calibrate";
  route.policy_type = manifest->policy;
  route.policy["type"] = manifest->policy;
  route.policy["model_dir"] = o.model_dir;
  route.where = "--model-dir " + o.model_dir;
  cfg->routes.push_back(route);
  auto runtime = pipeline::build_runtime(cfg);
  if (!runtime) return fail(runtime.error().message);

  std::vector<const data::PromptRecord*> records;
  for (const auto& r : data->records) {
    bool complete = true;
    for (const auto& m : manifest->models) complete &= r.outcomes.count(m) > 0;
    if (complete) records.push_back(&r);
  }
  if (records.empty())
    return fail(o.data + " has no record with an outcome for every model of the model directory");
  auto error = std::make_shared<std::string>();
  auto at = eval::operating_points(**runtime, "calibrate", records, error);
  if (!at) return fail(at.error().message);
  auto result = eval::calibrate(*at, *target);
  if (!error->empty()) return fail(*error);
  if (!result) return fail(result.error().message);
  fmt::print("target {} on {} ({} prompts)\n", target->to_string(), o.data, records.size());
  fmt::print(
      "lambda: {:.6g}\nachieved: {:.6g}\nmean score: {:.4f}\ncost per 1k requests: ${:.4f}\n",
      result->lambda, result->achieved, result->point.mean_score, result->point.cost_per_1k);
  for (const auto& [m, s] : result->point.shares) fmt::print("  {:<40} {:6.1f}%\n", m, 100 * s);
  if (o.write) {
    auto m = *manifest;
    policies::Objectives obj = m.objectives.value_or(policies::Objectives{});
    obj.balanced = result->lambda;
    m.objectives = obj;
    m.calibration = {{"target", target->to_string()}, {"lambda", result->lambda},
                     {"achieved", result->achieved},  {"data", o.data},
                     {"records", records.size()},     {"time", policies::utc_now()}};
    if (auto err = policies::write_manifest(o.model_dir, m)) return fail(err->message);
    fmt::print("wrote objectives.balanced = {:.6g} into {}/manifest.json\n", result->lambda,
               o.model_dir);
  }
  return 0;
}

const CommandRegistrar kCalibrate(
    "calibrate", "Set a trained policy's lambda so that a target is met on held data",
    [](CLI::App& app) {
      auto o = std::make_shared<CalibrateCliOptions>();
      app.add_option("--model-dir", o->model_dir, "Model directory written by `switchboard train`")
          ->required();
      app.add_option("--data", o->data, "Held-out recorded outcomes (JSONL)")->required();
      app.add_option("--target", o->target, "share:MODEL=X | cost-per-1k:USD | min-score:S")
          ->required();
      app.add_flag("--write", o->write,
                   "Store the lambda as the model directory's `balanced` objective");
      return [o] { return run_calibrate(*o); };
    });

}  // namespace
}  // namespace switchboard::cli
