// `classifier`: a fastText one-vs-all text model predicts P(model answers well) for every model at
// once from the prompt's word n-grams (and the task label token when the model was trained with
// the task signal); isotonic calibration maps it to an expected score; cost per model comes from
// the training means per task, weighted by the model's own P(task) (or the task signal when set).
// YAML: {type: classifier, model_dir: DIR, <objective keys: models, lambda, objective, objectives,
// mu>}
#include <charconv>
#include <filesystem>

#include "policies/calibration.h"
#include "policies/classifier/fasttext_text.h"
#include "policies/classifier/ova_model.h"
#include "policies/learned.h"
#include "signals/fasttext_file.h"

namespace switchboard::policies {
namespace {

class ClassifierPolicy final : public LearnedPolicy {
 public:
  ClassifierPolicy(std::shared_ptr<const Objective> objective,
                   std::unique_ptr<fasttext::FastText> model, QualityCalibration calibration,
                   CostTable costs, bool uses_task)
      : LearnedPolicy("classifier", std::move(objective)),
        model_(std::move(model)),
        calibration_(std::move(calibration)),
        costs_(std::move(costs)),
        uses_task_(uses_task),
        tasks_(costs_.tasks()) {}

  SignalNeeds needs() const override {
    SignalNeeds n;
    n.task = uses_task_;
    return n;
  }

  Result<std::vector<ModelPrediction>> predict(const RouteRequest& request,
                                               const Signals& signals) const override {
    const std::size_t n = objective().models().size();
    std::vector<double> p, task_p;
    predict_ova(*model_, fasttext_text(request.prompt_text, uses_task_ ? signals.task : ""), n, p,
                &tasks_, &task_p);
    // Priced by the task signal when known, else by the model's own estimate of the task.
    return predictions_by_task(p, task_p, n, calibration_, costs_, signals);
  }

 private:
  std::unique_ptr<fasttext::FastText> model_;
  QualityCalibration calibration_;
  CostTable costs_;
  bool uses_task_;
  std::vector<std::string> tasks_;
};

Result<std::unique_ptr<Policy>> make_classifier(const PolicyContext& ctx) {
  auto setup = setup_learned(ctx, "classifier", {});
  if (!setup) return setup.error();
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& reason) {
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      ctx.where + ": model directory " + setup->dir + ": " + reason);
  };
  const std::size_t n = setup->manifest.models.size();
  auto model = std::make_unique<fasttext::FastText>();
  const std::string model_path = (fs::path(setup->dir) / "model.bin").string();
  if (!fs::exists(model_path)) return fail("no model.bin");
  // fastText's loader trusts the file: a truncated one made it grow without end.
  if (auto checked = signals::check_fasttext_file(model_path); !checked)
    return fail(checked.error().message);
  try {
    model->loadModel(model_path);
  } catch (const std::exception& e) {
    return fail(std::string("cannot load model.bin: ") + e.what());
  }
  // Its labels are the trainer's: __label__<model index>, __label__t:<task>, __label__none. Any
  // other fastText model (the task classifier, a language identifier) loaded and read every label
  // as model 0: the same predictions for every prompt, silently. (Other labels a prompt's text
  // made before session 31 — fasttext_text() now neutralises them — are ignored, as predictions
  // ignore them.)
  {
    const auto dict = model->getDictionary();
    bool model_label = false;
    for (std::int32_t i = 0; i < dict->nlabels() && !model_label; ++i) {
      const std::string label = dict->getLabel(i);
      const std::string_view rest = std::string_view(label).substr(
          std::min(label.size(), std::string_view("__label__").size()));
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), index);
      model_label = ec == std::errc() && end == rest.data() + rest.size() && index < n;
    }
    if (!model_label)
      return fail("model.bin is not this directory's classifier (none of its labels is one of "
                  "its " + std::to_string(n) + " models)");
  }
  auto text = read_file((fs::path(setup->dir) / "predictors.json").string());
  if (!text) return fail("no predictors.json");
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return fail("predictors.json is not a JSON object");
  auto calibration = QualityCalibration::from_json(j.value("calibration", nlohmann::json()), n);
  if (!calibration) return fail(calibration.error().message);
  auto costs = CostTable::from_json(j.value("costs", nlohmann::json()), n);
  if (!costs) return fail(costs.error().message);
  const auto task_token = setup->manifest.hyperparameters.find("task_token");
  const bool has_task_token = task_token != setup->manifest.hyperparameters.end();
  if (has_task_token && !task_token->is_boolean())
    return fail("manifest.json: hyperparameters.task_token must be a boolean");
  const bool uses_task = has_task_token && task_token->get<bool>();
  return std::unique_ptr<Policy>(std::make_unique<ClassifierPolicy>(
      setup->objective, std::move(model), std::move(*calibration), std::move(*costs), uses_task));
}

const PolicyRegistrar kRegisterClassifier("classifier", make_classifier);

}  // namespace
}  // namespace switchboard::policies
