#include "policies/correction/correction_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "config/config.h"
#include "policies/model_dir.h"
#include "policies/rated_answers.h"

namespace switchboard::policies::correction {
namespace {

BiasTable empty_table(std::size_t n) {
  BiasTable t;
  t.sum.assign(n, 0.0);
  t.weight.assign(n, 0.0);
  t.n.assign(n, 0);
  return t;
}

void add(BiasTable& t, std::size_t m, double residual, double discount) {
  t.sum[m] = discount * t.sum[m] + residual;
  t.weight[m] = discount * t.weight[m] + 1.0;
  ++t.n[m];
}

nlohmann::json table_json(const BiasTable& t) {
  return {{"sum", t.sum}, {"weight", t.weight}, {"n", t.n}};
}

// A saved table as add() could have made it: each residual is in [-1, 1], so every weight is a
// finite number >= 0 and |sum| <= weight (a hand-edited or corrupted row with a weight of -10
// against the prior 10 made one model's bias infinite, chosen for every request).
bool table_from(const nlohmann::json& j, std::size_t n, BiasTable& out) {
  out.sum = j.at("sum").get<std::vector<double>>();
  out.weight = j.at("weight").get<std::vector<double>>();
  out.n = j.at("n").get<std::vector<std::uint64_t>>();
  if (out.sum.size() != n || out.weight.size() != n || out.n.size() != n) return false;
  for (std::size_t m = 0; m < n; ++m)
    if (!std::isfinite(out.weight[m]) || out.weight[m] < 0 || !std::isfinite(out.sum[m]) ||
        std::abs(out.sum[m]) > out.weight[m] * (1 + 1e-9) + 1e-12)
      return false;
  return true;
}

}  // namespace

CorrectionPolicy::CorrectionPolicy(std::unique_ptr<Policy> base, CorrectionOptions options)
    : base_(std::move(base)), options_(options) {
  learned_ = dynamic_cast<const LearnedPolicy*>(base_.get());
  auto s = std::make_shared<CorrectionState>();
  s->global = empty_table(learned_ ? learned_->objective().models().size() : 0);
  state_.store(std::move(s));
}

SignalNeeds CorrectionPolicy::needs() const {
  return base_->needs();
}

double CorrectionPolicy::bias(const CorrectionState& s, std::size_t m,
                              std::string_view task) const {
  const BiasTable* t = &s.global;
  if (options_.per_task && !task.empty()) {
    auto it = s.by_task.find(task);
    if (it != s.by_task.end() && it->second.n[m] >= options_.min_n) t = &it->second;
  }
  return t->sum[m] / (options_.prior + t->weight[m]);
}

double CorrectionPolicy::bias(std::size_t m, std::string_view task) const {
  return bias(*state_.load(), m, task);
}

Result<Decision> CorrectionPolicy::choose(const RouteRequest& request,
                                          const Signals& signals) const {
  const auto s = state_.load();
  auto p = learned_->predict(request, signals);
  if (!p) return p.error();
  for (std::size_t m = 0; m < p->size(); ++m) (*p)[m].quality += bias(*s, m, signals.task);
  auto d = learned_->objective().decide("corrected", *p, request);
  if (d) d->reason += fmt::format("; corrected by {} feedback events", s->observations);
  return d;
}

std::optional<Error> CorrectionPolicy::observe(const Feedback& f) {
  // The score, or a preference's 1 / 0 / 0.5 for both answers (policies/rated_answers.h).
  auto answers = rated_answers(f, learned_->objective().models(), "correction");
  if (!answers) return answers.error();
  const std::vector<RatedAnswer>& rated = *answers;
  std::vector<double> residuals;
  for (const RatedAnswer& r : rated) {
    RouteRequest request;
    request.prompt_text = r.prompt_text;
    request.prompt_tokens = r.prompt_tokens;
    auto p = learned_->predict(request, *r.signals);
    if (!p) return p.error();
    residuals.push_back(r.score - (*p)[r.model].quality);
  }
  std::lock_guard lock(write_);
  auto next = std::make_shared<CorrectionState>(*state_.load());
  for (std::size_t k = 0; k < rated.size(); ++k) {
    add(next->global, rated[k].model, residuals[k], options_.discount);
    const std::string& task = rated[k].signals->task;
    if (options_.per_task && !task.empty()) {
      auto [t, fresh] = next->by_task.try_emplace(task);
      if (fresh) t->second = empty_table(learned_->objective().models().size());
      add(t->second, rated[k].model, residuals[k], options_.discount);
    }
  }
  ++next->observations;
  state_.store(std::move(next));
  return std::nullopt;
}

nlohmann::json CorrectionPolicy::summary() const {
  const auto s = state_.load();
  nlohmann::json j;
  j["observations"] = s->observations;
  j["prior"] = options_.prior;
  j["discount"] = options_.discount;
  const auto& models = learned_->objective().models();
  for (std::size_t m = 0; m < models.size(); ++m) j["bias"][models[m]] = bias(*s, m, "");
  j["tasks"] = s->by_task.size();
  return j;
}

nlohmann::json CorrectionPolicy::save() const {
  const auto s = state_.load();
  nlohmann::json j;
  j["models"] = learned_->objective().models();
  j["observations"] = s->observations;
  j["global"] = table_json(s->global);
  j["by_task"] = nlohmann::json::object();
  for (const auto& [task, t] : s->by_task) j["by_task"][task] = table_json(t);
  return j;
}

std::optional<Error> CorrectionPolicy::restore(const nlohmann::json& j) {
  const auto& models = learned_->objective().models();
  auto bad = [](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_state", "correction state: " + why);
  };
  try {
    if (j.at("models").get<std::vector<std::string>>() != models)
      return bad("saved for other models");
    auto next = std::make_shared<CorrectionState>();
    if (!table_from(j.at("global"), models.size(), next->global))
      return bad("a table of the wrong size or out of range");
    for (const auto& [task, t] : j.at("by_task").items())
      if (!table_from(t, models.size(), next->by_task[task]))
        return bad("a table of the wrong size or out of range");
    next->observations = j.at("observations").get<std::uint64_t>();
    std::lock_guard lock(write_);
    state_.store(std::move(next));
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return std::nullopt;
}

namespace {

Result<std::unique_ptr<Policy>> make_corrected(const PolicyContext& ctx) {
  auto err = [&](const std::string& reason) {
    return make_error(ErrorKind::kBadRequest, "bad_config", ctx.where + ": " + reason);
  };
  static const std::vector<std::string> own = {"prior", "discount", "per_task", "min_n"};
  CorrectionOptions o;
  try {
    if (const auto& a = ctx.spec["prior"]) o.prior = a.as<double>();
    if (const auto& a = ctx.spec["discount"]) o.discount = a.as<double>();
    if (const auto& a = ctx.spec["per_task"]) o.per_task = a.as<bool>();
    if (const auto& a = ctx.spec["min_n"]) o.min_n = a.as<std::uint64_t>();
  } catch (const YAML::Exception&) {
    return err("`prior` and `discount` must be numbers, `per_task` a boolean, `min_n` an integer");
  }
  if (!(o.prior > 0) || !std::isfinite(o.prior)) return err("`prior` must be a number > 0");
  if (!(o.discount > 0 && o.discount <= 1)) return err("`discount` must be in (0, 1]");
  if (!ctx.spec["model_dir"])
    return err("a corrected policy needs `model_dir` (a trained knn, classifier or mf)");
  const auto dir = ctx.spec["model_dir"].as<std::string>();
  auto manifest = load_manifest(dir);
  if (!manifest) return err("model_dir: " + manifest.error().message);
  YAML::Node inner = YAML::Clone(ctx.spec);
  for (const auto& k : own) inner.remove(k);
  inner["type"] = manifest->policy;
  const PolicyFactory* factory = PolicyRegistry::instance().find(manifest->policy);
  if (!factory)
    return err(dir + " holds a '" + manifest->policy + "' policy, which is not registered");
  auto built = (*factory)(PolicyContext{inner, ctx.config, ctx.where + " (corrected)"});
  if (!built) return built.error();
  if (!dynamic_cast<const LearnedPolicy*>(built->get()))
    return err("a '" + manifest->policy + "' policy does not predict per-model quality");
  return std::unique_ptr<Policy>(std::make_unique<CorrectionPolicy>(std::move(*built), o));
}

const PolicyRegistrar kRegisterCorrected("corrected", make_corrected);

}  // namespace
}  // namespace switchboard::policies::correction
