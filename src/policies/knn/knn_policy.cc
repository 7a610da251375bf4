// `knn`: the k nearest training prompts by embedding (hnswlib) predict each model's score (their
// mean, isotonic-calibrated) and cost (their mean cost). Needs the embedding signal.
// YAML: {type: knn, model_dir: DIR, k: N (default: the trained k), <objective keys>}
#include <filesystem>

#include "policies/knn/knn_model.h"
#include "policies/learned.h"

namespace switchboard::policies {
namespace {

class KnnPolicy final : public LearnedPolicy {
 public:
  KnnPolicy(std::shared_ptr<const Objective> objective, KnnModel model, std::size_t k)
      : LearnedPolicy("knn", std::move(objective)), model_(std::move(model)), k_(k) {}

  SignalNeeds needs() const override {
    SignalNeeds n;
    n.embedding = true;
    return n;
  }

  Result<std::vector<ModelPrediction>> predict(const RouteRequest&,
                                               const Signals& signals) const override {
    std::vector<ModelPrediction> out;
    model_.predict(signals.embedding, k_, out);
    return out;
  }

 private:
  KnnModel model_;
  std::size_t k_;
};

Result<std::unique_ptr<Policy>> make_knn(const PolicyContext& ctx) {
  auto setup = setup_learned(ctx, "knn", {"k"});
  if (!setup) return setup.error();
  auto fail = [&](const std::string& reason) {
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      ctx.where + ": model directory " + setup->dir + ": " + reason);
  };
  if (setup->manifest.embedding_dim == 0) return fail("the manifest has no embedding dimension");
  auto model =
      KnnModel::load(setup->dir, setup->manifest.embedding_dim, setup->manifest.models.size());
  if (!model) return fail(model.error().message);
  std::size_t k = model->k();
  if (const auto& kn = ctx.spec["k"]) {
    int v = kn.as<int>();
    if (v < 1) return fail("`k` must be at least 1");
    k = std::min<std::size_t>(static_cast<std::size_t>(v), model->rows());
  }
  return std::unique_ptr<Policy>(
      std::make_unique<KnnPolicy>(setup->objective, std::move(*model), k));
}

const PolicyRegistrar kRegisterKnn("knn", make_knn);

}  // namespace
}  // namespace switchboard::policies
