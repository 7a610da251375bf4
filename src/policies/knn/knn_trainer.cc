// Trainer of the `knn` policy (policies/trainer.h). Spec keys: k (neighbours, default 80; also a
// runtime key, copied to the output spec when given).
// Embeds every training prompt with the gateway's extractor, indexes them with hnswlib, fits the
// per-model isotonic calibration on leave-one-out neighbour means.
// Artifacts: index.bin, outcomes.bin, predictors.json, manifest.json.
#include "policies/knn/knn_model.h"
#include "policies/learned.h"

namespace switchboard::policies {
namespace {

constexpr std::size_t kDefaultK = 80;  // 3-fold cross-validation on the RouterBench train split

Result<TrainedPolicy> train_knn(const TrainContext& ctx) {
  check_spec_keys(ctx, "knn", {"k"});
  auto table = make_train_table(ctx.train, train_models(ctx));
  if (!table) return table.error();
  SignalNeeds needs;
  needs.embedding = true;
  auto sig = extract_row_signals(ctx, *table, needs);
  if (!sig) return sig.error();
  if (sig->dim == 0)
    return make_error(ErrorKind::kBadRequest, "train_failed",
                      "knn: the extractor has no embedding");
  const auto k = static_cast<std::size_t>(spec_int(ctx, "k", kDefaultK, 1, 100000));
  report_progress(ctx, "knn: index", 0, 3);
  auto model = KnnModel::build(*table, sig->embeddings, sig->dim, k, ctx.seed);
  if (!model) return model.error();
  report_progress(ctx, "knn: calibration", 1, 3);
  model->fit_calibration(sig->embeddings);
  if (auto err = model->save(ctx.out_dir)) return *err;
  Manifest m = base_manifest(ctx, "knn", *table);
  m.embedding_dim = sig->dim;
  m.embedding_provider = sig->provider;
  m.hyperparameters["k"] = model->k();
  m.hyperparameters["index"] = {
      {"library", "hnswlib"}, {"space", "ip"}, {"M", 16}, {"ef_construction", 200}};
  if (auto err = write_manifest(ctx.out_dir, m)) return *err;
  report_progress(ctx, "knn: done", 3, 3);
  return TrainedPolicy{output_spec(ctx, "knn", {"k"}), Sweep{}};
}

const TrainerRegistrar kRegisterKnnTrainer("knn", train_knn);

}  // namespace
}  // namespace switchboard::policies
