// `mf`: matrix factorisation (mf_model.h) predicts P(answers well) per model from the prompt's
// embedding, isotonic-calibrated; cost per model from the training means (per task when the task
// signal is set, else weighted by the factorisation's own task outputs). Needs the embedding
// signal. YAML: {type: mf, model_dir: DIR, <objective keys>}
#include <filesystem>

#include "policies/calibration.h"
#include "policies/learned.h"
#include "policies/mf/mf_model.h"

namespace switchboard::policies {
namespace {

class MfPolicy final : public LearnedPolicy {
 public:
  MfPolicy(std::shared_ptr<const Objective> objective, MfModel model,
           QualityCalibration calibration, CostTable costs)
      : LearnedPolicy("mf", std::move(objective)),
        model_(std::move(model)),
        calibration_(std::move(calibration)),
        costs_(std::move(costs)) {}

  SignalNeeds needs() const override {
    SignalNeeds n;
    n.embedding = true;
    return n;
  }

  Result<std::vector<ModelPrediction>> predict(const RouteRequest&,
                                               const Signals& signals) const override {
    const std::size_t n = objective().models().size();
    std::vector<double> p;
    if (signals.embedding.size() == model_.input_dim()) {
      model_.raw(signals.embedding.data(), p);
    } else {
      std::vector<float> zero(model_.input_dim(), 0.f);  // no embedding: the models' base rates
      model_.raw(zero.data(), p);
    }
    // Outputs past the models are the model's estimate of each training task.
    std::vector<double> task_p(p.begin() + static_cast<std::ptrdiff_t>(n), p.end());
    return predictions_by_task(p, task_p, n, calibration_, costs_, signals);
  }

 private:
  MfModel model_;
  QualityCalibration calibration_;
  CostTable costs_;
};

Result<std::unique_ptr<Policy>> make_mf(const PolicyContext& ctx) {
  auto setup = setup_learned(ctx, "mf", {});
  if (!setup) return setup.error();
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& reason) {
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      ctx.where + ": model directory " + setup->dir + ": " + reason);
  };
  const std::size_t n = setup->manifest.models.size();
  auto text = read_file((fs::path(setup->dir) / "weights.json").string());
  if (!text) return fail("no weights.json");
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return fail("weights.json is not a JSON object");
  auto costs = CostTable::from_json(j.value("costs", nlohmann::json()), n);
  if (!costs) return fail(costs.error().message);
  auto model = MfModel::from_json(j.value("model", nlohmann::json()), setup->manifest.embedding_dim,
                                  n + costs->tasks().size());
  if (!model) return fail(model.error().message);
  auto calibration = QualityCalibration::from_json(j.value("calibration", nlohmann::json()), n);
  if (!calibration) return fail(calibration.error().message);
  return std::unique_ptr<Policy>(std::make_unique<MfPolicy>(
      setup->objective, std::move(*model), std::move(*calibration), std::move(*costs)));
}

const PolicyRegistrar kRegisterMf("mf", make_mf);

}  // namespace
}  // namespace switchboard::policies
