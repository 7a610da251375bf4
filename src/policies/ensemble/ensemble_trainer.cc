// Default ensembles learned from TRAIN (`switchboard eval --policy ensemble` without a spec, or
// `switchboard train --policy ensemble`), when the user's spec has neither `members` nor
// `recruit`: members recruited per prompt (Symbolic-MoE) by a `classifier` trained on TRAIN into
// OUT/recruiter — the k (spec `k`, default 3) models of highest utility at the request's λ — and
// aggregated by `vote` over the answers the `judge` (default `agreement`) extracts, ties to the
// recruiter's predicted quality. The curve's knob is a grid of recruit.k ∈ {1, k} × λ (`single: 0`
// in the spec: λ alone at k, the release before this one's default). A user spec with
// members or recruit is returned as given (recruit.policy trained first when it is a learned type
// without a model_dir).
#include <filesystem>

#include "policies/learned.h"
#include "switchboard/judge.h"

namespace switchboard::policies {
namespace {

Result<TrainedPolicy> train_ensemble(const TrainContext& ctx) {
  namespace fs = std::filesystem;
  TrainedPolicy out;  // sweep: λ
  const YAML::Node base = ctx.base_spec && ctx.base_spec.IsMap() ? ctx.base_spec : YAML::Node();
  if (base && base["members"]) {
    out.spec = YAML::Clone(base);
    return out;
  }
  YAML::Node recruiter_spec;
  if (base && base["recruit"] && base["recruit"]["policy"]) {
    recruiter_spec = YAML::Clone(base["recruit"]["policy"]);
    if (recruiter_spec["model_dir"]) {
      out.spec = YAML::Clone(base);
      return out;
    }
  } else {
    recruiter_spec["type"] = "classifier";
  }
  const std::string type = recruiter_spec["type"].as<std::string>("");
  const PolicyTrainer* trainer = TrainerRegistry::instance().find(type);
  if (!trainer)
    return make_error(ErrorKind::kBadRequest, "bad_spec",
                      "ensemble: the recruiting policy '" + type + "' has no trainer");
  const std::string dir = (fs::path(ctx.out_dir) / "recruiter").string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(ErrorKind::kInternal, "write_failed",
                      "cannot create " + dir + ": " + ec.message());
  TrainContext nested{ctx.train, ctx.models,         recruiter_spec, dir,
                      ctx.seed,  ctx.signal_options, ctx.train_path, ctx.progress};
  auto trained = (*trainer)(nested);
  if (!trained) return trained.error();
  YAML::Node spec;
  spec["type"] = "ensemble";
  spec["recruit"]["policy"] = trained->spec;
  spec["recruit"]["k"] = base && base["recruit"] && base["recruit"]["k"]
                             ? base["recruit"]["k"].as<int>()
                             : static_cast<int>(spec_number(ctx, "k", 3));
  if (base && base["recruit"] && base["recruit"]["max_cost"])
    spec["recruit"]["max_cost"] = YAML::Clone(base["recruit"]["max_cost"]);
  spec["aggregator"] =
      base && base["aggregator"] ? YAML::Clone(base["aggregator"]) : YAML::Node("vote");
  if (base && base["judge"]) {
    spec["judge"] = YAML::Clone(base["judge"]);
  } else if (JudgeRegistry::instance().find("agreement")) {
    spec["judge"] = "agreement";
  }
  for (const char* key : {"max_calls", "max_cost", "deadline_ms"})
    if (base && base[key]) spec[key] = YAML::Clone(base[key]);
  out.spec = spec;
  // The knob: a grid of recruit.k ∈ {1, k} × λ (every value of the recruiter's λ sweep), so
  // the curve holds the recruiter's own single-call points and, beside them, what voting adds;
  // k = 2 cannot outvote anyone (two different answers tie; the tie goes to the higher predicted
  // quality), so it is not in the grid.
  std::vector<double> lambdas =
      trained->sweep.kind == Sweep::Kind::kLambda && !trained->sweep.values.empty()
          ? trained->sweep.values
          : default_lambda_sweep();
  const int k = spec["recruit"]["k"].as<int>();
  if (spec_number(ctx, "single", 1) == 0 || k == 1) {
    out.sweep = trained->sweep;
    return out;
  }
  out.sweep.kind = Sweep::Kind::kSpecKey;
  out.sweep.key = "recruit.k";
  for (int kk : {1, k})
    for (std::size_t i = 0; i < lambdas.size(); ++i) {
      out.sweep.values.push_back(kk);
      out.sweep.lambdas.push_back(lambdas[i]);
    }
  return out;
}

const TrainerRegistrar kRegisterEnsembleTrainer("ensemble", train_ensemble);

}  // namespace
}  // namespace switchboard::policies
