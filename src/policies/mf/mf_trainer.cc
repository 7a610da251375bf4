// Trainer of the `mf` policy (policies/trainer.h). Spec keys (hyper-parameters): dim, epochs, lr,
// l2, folds. The factorisation is trained on the models' outcomes plus one extra output per
// training task (1 when the prompt has that task), so that the policy can weight per-task mean
// costs by its own task estimate when no task signal is configured.
// 1. Out-of-fold predictions (`folds` models) → per-model isotonic calibration.
// 2. The final model on all rows.
// Artifacts: weights.json ({model, calibration, costs}), manifest.json.
#include <filesystem>

#include "policies/calibration.h"
#include "policies/learned.h"
#include "policies/mf/mf_model.h"

namespace switchboard::policies {
namespace {

// The table with one extra 0/1 column per task.
TrainTable with_task_columns(const TrainTable& table, const std::vector<std::string>& tasks) {
  TrainTable t = table;
  for (const auto& task : tasks) t.models.push_back("t:" + task);
  for (auto& r : t.rows)
    for (const auto& task : tasks) r.score.push_back(r.task == task ? 1.f : 0.f);
  return t;
}

Result<TrainedPolicy> train_mf(const TrainContext& ctx) {
  namespace fs = std::filesystem;
  check_spec_keys(ctx, "mf", {"dim", "epochs", "lr", "l2", "folds"});
  auto table = make_train_table(ctx.train, train_models(ctx));
  if (!table) return table.error();
  SignalNeeds needs;
  needs.embedding = true;
  auto sig = extract_row_signals(ctx, *table, needs);
  if (!sig) return sig.error();
  if (sig->dim == 0)
    return make_error(ErrorKind::kBadRequest, "train_failed", "mf: the extractor has no embedding");
  MfParams p;
  p.dim = static_cast<int>(spec_int(ctx, "dim", p.dim, 1, 4096));
  p.epochs = static_cast<int>(spec_int(ctx, "epochs", p.epochs, 1, 100000));
  p.lr = spec_number(ctx, "lr", p.lr);
  p.l2 = spec_number(ctx, "l2", p.l2);
  if (!(p.lr > 0) || p.l2 < 0)
    throw std::invalid_argument("hyper-parameters 'lr' must be > 0 and 'l2' >= 0");
  p.seed = ctx.seed;
  const std::size_t folds = spec_folds(ctx);
  const CostTable costs = CostTable::fit(*table);
  const TrainTable aug = with_task_columns(*table, costs.tasks());
  const std::size_t n = table->models.size(), rows = table->rows.size();

  std::vector<std::vector<float>> raw(rows, std::vector<float>(n)), score(rows);
  for (std::size_t i = 0; i < rows; ++i) score[i] = table->rows[i].score;
  std::vector<double> out;
  const int total = static_cast<int>((folds + 1) * p.epochs);
  for (std::size_t f = 0; f < folds; ++f) {
    std::vector<std::size_t> fit_rows;
    for (std::size_t i = 0; i < rows; ++i)
      if (!in_fold(i, f, folds)) fit_rows.push_back(i);
    auto model = MfModel::train(aug, sig->embeddings, fit_rows, sig->dim, p, [&](int e, int) {
      report_progress(ctx, "mf: cross-fitting", f * p.epochs + e, total);
    });
    for (std::size_t i = f; i < rows; i += folds) {
      model.raw(sig->embeddings[i].data(), out);
      for (std::size_t m = 0; m < n; ++m) raw[i][m] = static_cast<float>(out[m]);
    }
  }
  auto calibration = folds >= 2 ? QualityCalibration::fit(raw, score, n) : QualityCalibration{};
  std::vector<std::size_t> all(rows);
  for (std::size_t i = 0; i < rows; ++i) all[i] = i;
  auto model = MfModel::train(aug, sig->embeddings, all, sig->dim, p, [&](int e, int) {
    report_progress(ctx, "mf: final model", folds * p.epochs + e, total);
  });
  nlohmann::json weights = {{"model", model.to_json()},
                            {"calibration", calibration.to_json()},
                            {"costs", costs.to_json()}};
  if (auto err = write_file_atomic((fs::path(ctx.out_dir) / "weights.json").string(),
                                   weights.dump() + "\n"))
    return *err;
  Manifest m = base_manifest(ctx, "mf", *table);
  m.embedding_dim = sig->dim;
  m.embedding_provider = sig->provider;
  m.hyperparameters.update(p.to_json());
  m.hyperparameters["folds"] = folds;
  m.hyperparameters["task_outputs"] = costs.tasks();
  if (auto err = write_manifest(ctx.out_dir, m)) return *err;
  return TrainedPolicy{output_spec(ctx, "mf", {}), Sweep{}};
}

const TrainerRegistrar kRegisterMfTrainer("mf", train_mf);

}  // namespace
}  // namespace switchboard::policies
