#include <cmath>

#include "eval/report.h"

namespace switchboard::eval {
namespace {

using nlohmann::json;

json opt(const std::optional<double>& v) {
  return v ? json(rounded(*v)) : json(nullptr);
}

json curve_json(const Curve& c) {
  json points = json::array();
  for (const auto& p : c.points) {
    json shares = json::object();
    for (const auto& [model, s] : p.shares) shares[model] = rounded(s);
    json tiers = json::array();
    for (double t : p.tier_shares) tiers.push_back(rounded(t));
    points.push_back({{"cost", rounded(p.cost)},
                      {"quality", rounded(p.quality)},
                      {"strong_share", rounded(p.strong_share)},
                      {"knob", opt(p.knob)},
                      {"shares", std::move(shares)},
                      {"tier_shares", tiers},
                      {"mean_calls", rounded(p.mean_calls)}});
    if (p.lambda) points.back()["lambda"] = rounded(*p.lambda);  // grid sweeps only
  }
  json budgets = json::array();
  for (const auto& [b, q] : c.metrics.quality_at_budget)
    budgets.push_back({{"budget", rounded(b)}, {"quality", opt(q)}});
  json out = {{"name", c.name},
              {"kind", c.kind},
              {"description", c.description},
              {"knob", c.knob.empty() ? json(nullptr) : json(c.knob)},
              {"aiq", opt(c.metrics.aiq)},
              {"apgr", opt(c.metrics.apgr)},
              {"cpt50", opt(c.metrics.cpt50)},
              {"cpt80", opt(c.metrics.cpt80)},
              {"quality_at_budget", std::move(budgets)},
              {"points", std::move(points)}};
  if (!c.type.empty()) out["type"] = c.type;
  return out;
}

}  // namespace

double rounded(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  double r = std::round(v * scale) / scale;
  return r == 0 ? 0.0 : r;  // no "-0.0"
}

nlohmann::json to_json(const EvalResult& r) {
  json models = json::array();
  for (const auto& m : r.models)
    models.push_back(
        {{"name", m.name}, {"cost", rounded(m.cost)}, {"quality", rounded(m.quality)}});
  json policies = json::array(), baselines = json::array();
  for (const auto& c : r.policies) policies.push_back(curve_json(c));
  for (const auto& c : r.baselines) baselines.push_back(curve_json(c));
  json budgets = json::array();
  for (double b : r.budgets) budgets.push_back(rounded(b));
  return {{"format", "switchboard-eval"},
          {"version", 1},
          {"train", {{"path", r.train_path}, {"records", r.train_records}}},
          {"test",
           {{"path", r.test_path},
            {"records", r.test_records},
            {"skipped", r.test_skipped},
            {"duplicates", r.test_duplicates},
            {"in_train", r.test_in_train},
            {"tasks", r.tasks}}},
          {"notes", r.notes},
          {"seed", r.seed},
          {"strong", r.strong ? json(*r.strong) : json(nullptr)},
          {"weak", r.weak ? json(*r.weak) : json(nullptr)},
          {"budgets", std::move(budgets)},
          {"max_cost", {{"model", r.max_cost_model}, {"cost", rounded(r.max_cost)}}},
          {"models", std::move(models)},
          {"policies", std::move(policies)},
          {"baselines", std::move(baselines)}};
}

}  // namespace switchboard::eval
