// Trainers for policies that learn from recorded outcomes, registered by policy type.
//
// `switchboard eval` and `switchboard train` look a policy up here before building it: a
// trainer fits the policy on the TRAIN outcomes, writes whatever artifacts the policy loads
// (index, weights) under `out_dir`, and returns the `policy:` YAML spec that the gateway's
// PolicyRegistry factory builds the policy from, plus how to sweep its cost–quality knob. Adding a
// learned policy is a new file with a static TrainerRegistrar; policies without a trainer are
// evaluated from their spec as written.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/outcomes.h"
#include "signals/extractor.h"
#include "switchboard/registry.h"
#include "switchboard/result.h"

namespace switchboard::policies {

// How a policy's cost–quality curve is traced.
struct Sweep {
  enum class Kind {
    kLambda,   // one policy; RouteRequest::lambda is set to each value in turn
    kSpecKey,  // one policy per value, built from the spec with `key: value` set (a dotted key
               // is a path: "tiers.0.threshold")
  };
  Kind kind = Kind::kLambda;
  std::string key = "lambda";  // the knob's name (the spec key for kSpecKey)
  std::vector<double> values;  // in sweep order; empty = default_lambda_sweep()
  // kSpecKey only: empty, or one λ per value (a grid of key × λ: policy i is built with
  // `key: values[i]` and every request to it carries RouteRequest::lambda = lambdas[i]).
  std::vector<double> lambdas;
};

// 0, then 39 log-spaced values from 1e-1 to 1e5 (quality points per US dollar): 40 in all.
std::vector<double> default_lambda_sweep();

struct TrainContext {
  const data::Outcomes& train;
  std::vector<std::string> models;  // the models a policy may choose (the config's, sorted)
  YAML::Node base_spec;             // the user's spec for this policy (has `type`), or null
  std::string out_dir;              // created by the caller; the trainer's to fill
  std::uint64_t seed = 1;           // for anything random; same seed, same result
  // Where the trainer loads the signal extractor from (signals::Extractor::load with its needs),
  // so it trains on the very features the gateway computes.
  signals::ExtractorOptions signal_options;
  std::string train_path;  // for the model directory's manifest; empty when unknown
  // Called now and then by trainers that take a while (stage name, work done, total); may be empty.
  std::function<void(std::string_view stage, std::size_t done, std::size_t total)> progress;
};

struct TrainedPolicy {
  YAML::Node spec;  // a complete `policy:` mapping with `type`
  Sweep sweep;
};

// Errors (kind kBadRequest for unusable data or spec, kInternal for I/O) name the policy.
using PolicyTrainer = std::function<Result<TrainedPolicy>(const TrainContext&)>;
using TrainerRegistry = Registry<PolicyTrainer>;
using TrainerRegistrar = Registrar<PolicyTrainer>;

// Runs `trainer` on `ctx`: what it throws (a hyper-parameter that is not a number or out of its
// range, memory it could not get) becomes its error (kBadRequest "bad_hyperparameter", or
// kInternal "out_of_memory"), never an exception out of the command.
Result<TrainedPolicy> run_trainer(const PolicyTrainer& trainer, const TrainContext& ctx);

// For trainers made of other policies (cascade, blend): trains `spec` (with `type`) by its
// registered trainer on ctx's data into OUT/`sub`. Errors name `owner` (kBadRequest: a type with no
// trainer; kInternal: the directory cannot be created).
Result<TrainedPolicy> train_nested(const TrainContext& ctx, const YAML::Node& spec,
                                   const std::string& sub, const std::string& owner);

}  // namespace switchboard::policies
