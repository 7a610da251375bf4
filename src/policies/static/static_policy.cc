// `static`: always the same model. YAML: {type: static, model: NAME, fallbacks: [NAME...]}
#include "config/config.h"
#include "switchboard/policy.h"

namespace switchboard::policies {
namespace {

class StaticPolicy final : public Policy {
 public:
  explicit StaticPolicy(Decision decision) : decision_(std::move(decision)) {}
  Result<Decision> choose(const RouteRequest&, const Signals&) const override { return decision_; }
  std::vector<std::string> models() const override { return decision_.plan.models(); }

 private:
  Decision decision_;
};

Error config_error(const PolicyContext& ctx, const std::string& reason) {
  return make_error(ErrorKind::kBadRequest, "bad_config", ctx.where + ": " + reason);
}

Result<std::unique_ptr<Policy>> make_static(const PolicyContext& ctx) {
  for (const auto& kv : ctx.spec) {
    auto key = kv.first.as<std::string>();
    if (key != "type" && key != "model" && key != "fallbacks")
      return config_error(ctx, "unknown key '" + key + "' in static policy (allowed: type, model, fallbacks)");
  }
  if (!ctx.spec["model"] || !ctx.spec["model"].IsScalar())
    return config_error(ctx, "static policy needs `model: NAME`");
  Decision d;
  d.plan = Plan::single(ctx.spec["model"].as<std::string>());
  d.policy = "static";
  d.reason = "static route to " + d.plan.model;
  if (!ctx.config.find_model(d.plan.model))
    return config_error(ctx, "static policy names unknown model '" + d.plan.model + "'");
  if (const auto& fb = ctx.spec["fallbacks"]) {
    if (!fb.IsSequence()) return config_error(ctx, "fallbacks must be a list of model names");
    for (const auto& f : fb) {
      auto name = f.as<std::string>();
      if (!ctx.config.find_model(name)) return config_error(ctx, "fallback names unknown model '" + name + "'");
      d.plan.fallbacks.push_back(name);
    }
  }
  Candidate c;
  c.model = d.plan.model;
  d.candidates.push_back(c);
  return std::unique_ptr<Policy>(std::make_unique<StaticPolicy>(std::move(d)));
}

const PolicyRegistrar kRegisterStatic("static", make_static);

}  // namespace
}  // namespace switchboard::policies
