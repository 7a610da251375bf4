// Trainer of the `blend` policy (policies/trainer.h). Spec: {type: blend, members: [{type: T,
// weight: W, <T's own training keys>}, ...]}; default members classifier (weight 2), knn (1) and
// mf (1) — the mix of best mean AIQ over 3 interleaved folds of RouterBench TRAIN among
// {c+k, c+m, c+k+m, 2c+k+m} (docs/evaluation.md, "Blend"). Each member is trained by its own
// trainer on the same data into OUT/m<i>-<type>; OUT/blend.json lists them (blend_members.h).
#include <fmt/format.h>

#include <cmath>

#include "policies/blend/blend_members.h"
#include "policies/learned.h"

namespace switchboard::policies {
namespace {

Error bad(const std::string& m) {
  return make_error(ErrorKind::kBadRequest, "bad_data", "blend: " + m);
}

YAML::Node default_members() {
  YAML::Node members(YAML::NodeType::Sequence);
  for (const auto& [type, weight] : {std::pair{"classifier", 2.0}, {"knn", 1.0}, {"mf", 1.0}}) {
    YAML::Node m;
    m["type"] = type;
    m["weight"] = weight;
    members.push_back(m);
  }
  return members;
}

Result<TrainedPolicy> train_blend(const TrainContext& ctx) {
  check_spec_keys(ctx, "blend", {"members"});
  const YAML::Node base = ctx.base_spec && ctx.base_spec.IsMap() ? ctx.base_spec : YAML::Node();
  const YAML::Node members = base && base["members"] ? base["members"] : default_members();
  if (!members.IsSequence() || members.size() == 0)
    return bad("`members` must be a non-empty list of {type, weight}");
  auto table = make_train_table(ctx.train, train_models(ctx));
  if (!table) return table.error();
  std::vector<BlendMember> listed;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const YAML::Node& m = members[i];
    if (!m.IsMap() || !m["type"] || !m["type"].IsScalar())
      return bad(fmt::format("member {} needs a `type`", i));
    YAML::Node spec = YAML::Clone(m);
    double weight = 1;
    if (spec["weight"]) {
      try {
        weight = spec["weight"].as<double>();
      } catch (const YAML::Exception&) {
        weight = -1;
      }
      spec.remove("weight");
    }
    if (!(weight > 0) || !(weight <= 1e12))  // as the blend's loader reads them (blend_members.cc)
      return bad(fmt::format("member {}: `weight` must be a number in (0, 1e12]", i));
    const std::string type = spec["type"].as<std::string>();
    if (type == "blend") return bad("a blend cannot be a member of a blend");
    BlendMember b{fmt::format("m{}-{}", i, type), weight};
    auto trained = train_nested(ctx, spec, b.dir, "blend");
    if (!trained) return trained.error();
    listed.push_back(std::move(b));
  }
  if (auto err = write_blend_members(ctx.out_dir, listed)) return *err;
  // The members are listed once, in blend.json (what the policy reads).
  Manifest manifest = base_manifest(ctx, "blend", *table);
  if (auto err = write_manifest(ctx.out_dir, manifest)) return *err;
  return TrainedPolicy{output_spec(ctx, "blend", {}), Sweep{}};
}

const TrainerRegistrar kRegisterBlendTrainer("blend", train_blend);

}  // namespace
}  // namespace switchboard::policies
