// Trainer of the `classifier` policy (policies/trainer.h). Spec keys it reads (hyper-parameters,
// not copied to the output spec): dim, epoch, word_ngrams, bucket, lr, threshold, folds. When the
// context names a task classifier (signals.task_model), its label is appended as a feature token.
//
// 1. Out-of-fold predictions: `folds` fastText models, each trained without one fold, predict it.
// 2. Per-model isotonic calibration of those predictions against the observed scores.
// 3. The final model on all rows; cost table from the training means.
// Artifacts: model.bin (fastText), predictors.json ({calibration, costs}), manifest.json.
#include <filesystem>

#include "policies/calibration.h"
#include "policies/classifier/fasttext_text.h"
#include "policies/classifier/ova_model.h"
#include "policies/learned.h"

namespace switchboard::policies {
namespace {

Result<TrainedPolicy> train_classifier(const TrainContext& ctx) {
  namespace fs = std::filesystem;
  check_spec_keys(ctx, "classifier",
                  {"dim", "epoch", "word_ngrams", "bucket", "lr", "threshold", "folds"});
  auto table = make_train_table(ctx.train, train_models(ctx));
  if (!table) return table.error();
  const std::size_t n = table->models.size(), rows = table->rows.size();
  OvaParams p;
  p.dim = static_cast<int>(spec_int(ctx, "dim", p.dim, 1, 1000));
  p.epoch = static_cast<int>(spec_int(ctx, "epoch", p.epoch, 1, 10000));
  p.word_ngrams = static_cast<int>(spec_int(ctx, "word_ngrams", p.word_ngrams, 1, 10));
  p.bucket = static_cast<int>(spec_int(ctx, "bucket", p.bucket, 1, 1 << 27));
  p.lr = spec_number(ctx, "lr", p.lr);
  if (!(p.lr > 0)) throw std::invalid_argument("hyper-parameter 'lr' must be > 0");
  p.threshold = spec_number(ctx, "threshold", p.threshold);
  p.seed = ctx.seed;
  const std::size_t folds = spec_folds(ctx);

  // With a task classifier configured, its label (as the gateway computes it) is a feature token.
  const bool task_token = !ctx.signal_options.task_model.empty();
  std::vector<std::string> tasks(rows);
  if (task_token) {
    SignalNeeds needs;
    needs.task = true;
    auto sig = extract_row_signals(ctx, *table, needs);
    if (!sig) return sig.error();
    tasks = std::move(sig->tasks);
  }
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < rows; ++i)
    texts.push_back(fasttext_text(table->rows[i].text, tasks[i]));
  const std::string scratch = (fs::path(ctx.out_dir) / "train.txt").string();

  std::vector<std::vector<float>> raw(rows, std::vector<float>(n, 0)), score(rows);
  for (std::size_t i = 0; i < rows; ++i) score[i] = table->rows[i].score;
  std::vector<double> pred;
  for (std::size_t f = 0; f < folds; ++f) {
    report_progress(ctx, "classifier: cross-fitting", f, folds + 1);
    std::vector<std::size_t> fit_rows;
    for (std::size_t i = 0; i < rows; ++i)
      if (!in_fold(i, f, folds)) fit_rows.push_back(i);
    auto model = train_ova(*table, texts, fit_rows, p, scratch);
    if (!model) return model.error();
    for (std::size_t i = f; i < rows; i += folds) {
      predict_ova(**model, texts[i], n, pred);
      for (std::size_t m = 0; m < n; ++m) raw[i][m] = static_cast<float>(pred[m]);
    }
  }
  auto calibration = folds >= 2 ? QualityCalibration::fit(raw, score, n) : QualityCalibration{};
  report_progress(ctx, "classifier: final model", folds, folds + 1);
  std::vector<std::size_t> all(rows);
  for (std::size_t i = 0; i < rows; ++i) all[i] = i;
  auto model = train_ova(*table, texts, all, p, scratch);
  if (!model) return model.error();
  const std::string model_path = (fs::path(ctx.out_dir) / "model.bin").string();
  try {
    (*model)->saveModel(model_path);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "write_failed",
                      "cannot write " + model_path + ": " + e.what());
  }
  nlohmann::json predictors = {{"calibration", calibration.to_json()},
                               {"costs", CostTable::fit(*table).to_json()}};
  if (auto err = write_file_atomic((fs::path(ctx.out_dir) / "predictors.json").string(),
                                   predictors.dump() + "\n"))
    return *err;
  Manifest m = base_manifest(ctx, "classifier", *table);
  m.hyperparameters.update(p.to_json());
  m.hyperparameters["folds"] = folds;
  m.hyperparameters["task_token"] = task_token;
  if (auto err = write_manifest(ctx.out_dir, m)) return *err;
  report_progress(ctx, "classifier: done", folds + 1, folds + 1);
  return TrainedPolicy{output_spec(ctx, "classifier", {}), Sweep{}};
}

const TrainerRegistrar kRegisterClassifierTrainer("classifier", train_classifier);

}  // namespace
}  // namespace switchboard::policies
