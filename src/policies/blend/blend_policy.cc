// `blend`: the weighted mean of several learned policies' predictions — quality, cost and latency
// per model — decided by the shared objective (quality − λ·cost). Predictors that see a prompt
// differently (the classifier's words, knn's neighbours, mf's factorised embedding) make partly
// independent errors, so their mean ranks models better than any one of them (docs/evaluation.md,
// "Blend": measured by cross-validation inside RouterBench TRAIN). Each member is a complete
// trained policy directory; its calibration is its own, so the mean is a mean of calibrated
// probabilities.
// YAML: {type: blend, model_dir: DIR, <objective keys>}, DIR written by `switchboard train
// --policy blend` (blend_trainer.cc): DIR/blend.json = {"members": [{"dir": SUB, "weight": W}]},
// SUB relative to DIR. Every member must predict for the blend's models in the blend's order.
#include <cmath>
#include <filesystem>

#include "policies/blend/blend_members.h"
#include "policies/learned.h"

namespace switchboard::policies {
namespace {

struct Member {
  std::unique_ptr<Policy> policy;
  const LearnedPolicy* learned = nullptr;  // policy, as a predictor
  double weight = 1;
};

class BlendPolicy final : public LearnedPolicy {
 public:
  BlendPolicy(std::shared_ptr<const Objective> objective, std::vector<Member> members)
      : LearnedPolicy("blend", std::move(objective)), members_(std::move(members)) {
    for (const auto& m : members_) total_weight_ += m.weight;
  }

  SignalNeeds needs() const override {
    SignalNeeds n;
    for (const auto& m : members_) n |= m.policy->needs();
    return n;
  }

  Result<std::vector<ModelPrediction>> predict(const RouteRequest& request,
                                               const Signals& signals) const override {
    const std::size_t n = objective().models().size();
    std::vector<ModelPrediction> out(n, ModelPrediction{0, 0, 0});
    std::vector<double> latency_weight(n, 0);
    for (const auto& member : members_) {
      auto p = member.learned->predict(request, signals);
      if (!p) return p.error();
      const double w = member.weight / total_weight_;
      for (std::size_t m = 0; m < n; ++m) {
        out[m].quality += w * (*p)[m].quality;
        out[m].cost += w * (*p)[m].cost;
        if ((*p)[m].latency_ms >= 0) {
          out[m].latency_ms += member.weight * (*p)[m].latency_ms;
          latency_weight[m] += member.weight;
        }
      }
    }
    for (std::size_t m = 0; m < n; ++m)
      out[m].latency_ms = latency_weight[m] > 0 ? out[m].latency_ms / latency_weight[m] : -1;
    return out;
  }

 private:
  std::vector<Member> members_;
  double total_weight_ = 0;
};

Result<std::unique_ptr<Policy>> make_blend(const PolicyContext& ctx) {
  auto setup = setup_learned(ctx, "blend", {});
  if (!setup) return setup.error();
  auto fail = [&](const std::string& reason) {
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      ctx.where + ": model directory " + setup->dir + ": " + reason);
  };
  auto listed = read_blend_members(setup->dir);
  if (!listed) return fail(listed.error().message);
  std::vector<Member> members;
  for (const BlendMember& entry : *listed) {
    const std::string sub = (std::filesystem::path(setup->dir) / entry.dir).string();
    auto manifest = load_manifest(sub);
    if (!manifest) return fail("member " + entry.dir + ": " + manifest.error().message);
    if (manifest->models != setup->manifest.models)
      return fail("member " + entry.dir + " predicts for other models than the blend");
    const PolicyFactory* factory = PolicyRegistry::instance().find(manifest->policy);
    if (!factory)
      return fail("member " + entry.dir + " holds a '" + manifest->policy +
                  "' policy, which is not registered");
    YAML::Node spec = YAML::Clone(ctx.spec);
    spec["type"] = manifest->policy;
    spec["model_dir"] = sub;
    auto built = (*factory)(PolicyContext{spec, ctx.config, ctx.where + " (blend member)"});
    if (!built) return built.error();
    Member m;
    m.learned = dynamic_cast<const LearnedPolicy*>(built->get());
    if (!m.learned)
      return fail("member " + entry.dir + ": a '" + manifest->policy +
                  "' policy does not predict per-model quality");
    m.policy = std::move(*built);
    m.weight = entry.weight;
    members.push_back(std::move(m));
  }
  return std::unique_ptr<Policy>(
      std::make_unique<BlendPolicy>(setup->objective, std::move(members)));
}

const PolicyRegistrar kRegisterBlend("blend", make_blend);

}  // namespace
}  // namespace switchboard::policies
