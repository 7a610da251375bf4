// `switchboard train --policy verifier --data F [--models M1,M2] --out DIR [--param KEY=VALUE]`:
// trains the verifier judge (verifier/train.h) on the recorded responses of the models named (all
// with responses by default) and writes its model directory. Registered in the policies'
// TrainerRegistry (judges may use policies), so the train command needs no change; the spec it
// returns is a `judge:` mapping, {type: verifier, model_dir: DIR}, to put in a cascade tier.
// Parameters: bits (hash buckets 2^bits, default 18), folds (5), l2 and epochs (each fixes that
// hyper-parameter instead of choosing it by cross-validation), learning_rate (0.1).
#include "policies/trainer.h"

#include <filesystem>

#include "judges/verifier/train.h"

namespace switchboard::judges::verifier {
namespace {

Result<policies::TrainedPolicy> train(const policies::TrainContext& ctx) {
  VerifierTrainOptions options;
  options.seed = ctx.seed;
  options.progress = ctx.progress;
  const YAML::Node& spec = ctx.base_spec;
  auto bad = [](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_config", "verifier: " + why);
  };
  try {
    if (spec && spec.IsMap()) {
      for (const auto& kv : spec) {
        const std::string key = kv.first.Scalar();
        if (key == "type" || key == "models") continue;
        if (key == "bits") {
          options.bits = kv.second.as<int>();
          if (options.bits < 10 || options.bits > 24) return bad("bits must be in [10, 24]");
        } else if (key == "folds") {
          options.folds = kv.second.as<std::size_t>();
          if (options.folds < 2) return bad("folds must be at least 2");
        } else if (key == "l2") {
          options.l2_grid = {kv.second.as<double>()};
        } else if (key == "epochs") {
          options.epoch_grid = {kv.second.as<int>()};
          if (options.epoch_grid[0] < 1) return bad("epochs must be at least 1");
        } else if (key == "learning_rate") {
          options.learning_rate = kv.second.as<double>();
        } else {
          return bad("unknown parameter '" + key +
                     "' (known: bits, folds, l2, epochs, learning_rate)");
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return bad(std::string("bad parameter value: ") + e.what());
  }
  std::vector<std::string> models = ctx.models;
  if (spec && spec.IsMap() && spec["models"] && spec["models"].IsSequence())
    models = spec["models"].as<std::vector<std::string>>();
  auto trained = train_verifier(ctx.train, models, options);
  if (!trained) return trained.error();
  policies::Manifest m;
  m.models = models;
  m.train_path = ctx.train_path;
  m.train_records = ctx.train.records.size();
  m.train_hash = policies::outcomes_hash(ctx.train);
  m.created = policies::utc_now();
  const auto& r = trained->report;
  m.hyperparameters = {{"l2", r.l2},
                       {"epochs", r.epochs},
                       {"learning_rate", options.learning_rate},
                       {"folds", options.folds},
                       {"examples", r.examples},
                       {"cv_log_loss", r.cv_log_loss},
                       {"cv_auc", r.cv_auc},
                       {"cv_brier_calibrated", r.cv_brier_calibrated}};
  if (auto e = trained->model.save(ctx.out_dir, m)) return *e;
  policies::TrainedPolicy out;
  out.spec["type"] = "verifier";
  out.spec["model_dir"] = std::filesystem::absolute(ctx.out_dir).string();
  out.sweep.kind = policies::Sweep::Kind::kSpecKey;
  out.sweep.key = "threshold";
  for (int i = 0; i <= 20; ++i) out.sweep.values.push_back(i / 20.0);
  return out;
}

const policies::TrainerRegistrar kVerifierTrainer("verifier", train);

}  // namespace
}  // namespace switchboard::judges::verifier
