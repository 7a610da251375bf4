// Trainer for `bandit` (policies/trainer.h): the bandit itself learns online, so there is nothing
// to fit — except a warm start given as a policy type (`warm_start: classifier`), which is trained
// on TRAIN into DIR/warm_start and replaced by that directory in the emitted spec. A
// `warm_start: DIR` or no warm start passes through unchanged.
#include <filesystem>

#include "policies/learned.h"

namespace switchboard::policies {
namespace {

Result<TrainedPolicy> train_bandit(const TrainContext& ctx) {
  YAML::Node spec =
      ctx.base_spec && ctx.base_spec.IsMap() ? YAML::Clone(ctx.base_spec) : YAML::Node();
  spec["type"] = "bandit";
  if (const auto& w = spec["warm_start"]) {
    const auto name = w.as<std::string>();
    const PolicyTrainer* trainer = TrainerRegistry::instance().find(name);
    if (trainer && name != "bandit" && !std::filesystem::exists(name)) {
      const std::string dir = (std::filesystem::path(ctx.out_dir) / "warm_start").string();
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec)
        return make_error(ErrorKind::kInternal, "write_failed",
                          "cannot create " + dir + ": " + ec.message());
      YAML::Node inner;
      inner["type"] = name;
      for (const auto& k : objective_spec_keys())
        if (spec[k]) inner[k] = YAML::Clone(spec[k]);
      TrainContext sub{ctx.train, ctx.models,         inner,          dir,
                       ctx.seed,  ctx.signal_options, ctx.train_path, ctx.progress};
      auto trained = (*trainer)(sub);
      if (!trained)
        return make_error(
            trained.error().kind, trained.error().code,
            "bandit: training the warm start '" + name + "': " + trained.error().message);
      if (!trained->spec["model_dir"])
        return make_error(ErrorKind::kBadRequest, "train_failed",
                          "bandit: the warm start '" + name + "' does not write a model directory");
      spec["warm_start"] = trained->spec["model_dir"].as<std::string>();
    }
  }
  return TrainedPolicy{spec, Sweep{}};
}

const TrainerRegistrar kRegisterBanditTrainer("bandit", train_bandit);

}  // namespace
}  // namespace switchboard::policies
