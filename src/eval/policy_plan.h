// How the evaluators (eval/evaluator.h, eval/online.h) turn policy labels into routes: labelled
// specs from --policy-config, training on TRAIN when the type has a trainer, and a Config whose
// models are the dataset's (one recorded replica each) and whose routes are the policies.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "eval/evaluator.h"

namespace switchboard::eval {

struct SpecSource {
  YAML::Node spec;
  std::string where;
  // A gateway config's route: its settings besides `policy` that eval does not apply (`cache`,
  // `guard`, `session`, `budget`, `stages`, `signals`), named in the report so that nobody reads
  // the curve as the route's whole behaviour.
  std::vector<std::string> not_applied;
};

struct PolicyConfig {
  std::vector<std::pair<std::string, SpecSource>> specs;  // labelled policy specs, in file order
  config::SignalsConfig signals;  // a gateway config's `signals:` section (defaults otherwise)
};

// Labelled policy specs and signals from --policy-config: a gateway config (its routes) or a
// mapping of label to spec; an empty path gives an empty PolicyConfig. Errors (kBadRequest) name
// the file and position.
Result<PolicyConfig> load_policy_config(const std::string& path);

// Where trained policies go: `requested` when the caller keeps them (--artifacts), else a new
// directory under the system's temporary directory, named `<prefix>-XXXXXX` and removed with
// everything in it when this object is destroyed. Errors: kInternal write_failed.
class ArtifactsDir {
 public:
  static Result<std::unique_ptr<ArtifactsDir>> make(const std::string& requested,
                                                    const std::string& prefix);
  ~ArtifactsDir();
  ArtifactsDir(const ArtifactsDir&) = delete;
  ArtifactsDir& operator=(const ArtifactsDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  ArtifactsDir(std::string path, bool temporary) : path_(std::move(path)), temporary_(temporary) {}
  std::string path_;
  bool temporary_ = false;
};

// One policy to evaluate: its spec(s) and how to sweep it.
struct PolicyPlan {
  std::string label;
  std::string type;
  Sweep sweep;
  YAML::Node spec;
  std::string where;
  std::vector<std::string> routes;  // route names in the built runtime: one, or one per value
};

// Trains the policy on TRAIN into artifacts_dir/label when its type has a trainer.
Result<PolicyPlan> plan_policy(const std::string& label, const std::optional<SpecSource>& given,
                               const data::Outcomes& train, const std::vector<std::string>& models,
                               const EvalOptions& options, const std::string& artifacts_dir,
                               const config::SignalsConfig& signals);

// Sets `key` of `spec` to `value`; a dotted key is a path ("tiers.0.threshold": a number indexes
// a sequence).
void set_spec_key(YAML::Node spec, const std::string& key, double value);

// The routes of a Config in which every policy under evaluation is one or more routes (fills
// each plan's `routes`).
std::shared_ptr<config::Config> make_config(std::vector<PolicyPlan>& plans,
                                            const std::vector<std::string>& models,
                                            const config::SignalsConfig& signals);

}  // namespace switchboard::eval
