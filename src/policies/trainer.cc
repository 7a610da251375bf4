#include "policies/trainer.h"

#include <cmath>
#include <filesystem>
#include <new>

namespace switchboard::policies {

std::vector<double> default_lambda_sweep() {
  constexpr int kLogPoints = 39;
  constexpr double kFromExp = -1, kToExp = 5;
  std::vector<double> out{0.0};
  for (int i = 0; i < kLogPoints; ++i)
    out.push_back(std::pow(10.0, kFromExp + (kToExp - kFromExp) * i / (kLogPoints - 1)));
  return out;
}

Result<TrainedPolicy> run_trainer(const PolicyTrainer& trainer, const TrainContext& ctx) {
  try {
    return trainer(ctx);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::kInternal, "out_of_memory",
                      "training ran out of memory (a hyper-parameter too large?)");
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_hyperparameter", e.what());
  }
}

Result<TrainedPolicy> train_nested(const TrainContext& ctx, const YAML::Node& spec,
                                   const std::string& sub, const std::string& owner) {
  namespace fs = std::filesystem;
  const std::string type = spec["type"].as<std::string>("");
  const PolicyTrainer* trainer = TrainerRegistry::instance().find(type);
  if (!trainer)
    return make_error(ErrorKind::kBadRequest, "bad_data",
                      owner + ": '" + type + "' has no trainer");
  const std::string dir = (fs::path(ctx.out_dir) / sub).string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(ErrorKind::kInternal, "write_failed",
                      "cannot create " + dir + ": " + ec.message());
  TrainContext nested{ctx.train, ctx.models,         YAML::Clone(spec), dir,
                      ctx.seed,  ctx.signal_options, ctx.train_path,    ctx.progress};
  return (*trainer)(nested);
}

}  // namespace switchboard::policies
