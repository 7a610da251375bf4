#include "policies/learned.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "config/config.h"
#include "policies/calibration.h"
#include "policies/route_input.h"

namespace switchboard::policies {

std::vector<std::string> train_models(const TrainContext& ctx) {
  if (ctx.base_spec && ctx.base_spec.IsMap() && ctx.base_spec["models"] &&
      ctx.base_spec["models"].IsSequence())
    return ctx.base_spec["models"].as<std::vector<std::string>>();
  return ctx.models;
}

Result<TrainTable> make_train_table(const data::Outcomes& outcomes,
                                    const std::vector<std::string>& models) {
  TrainTable t;
  t.models = models;
  for (const auto& r : outcomes.records) {
    bool complete = true;
    for (const auto& m : models) complete &= r.outcomes.count(m) > 0;
    if (!complete) continue;
    auto chat = chat_request_for(r, "train");
    if (!chat)
      return make_error(ErrorKind::kBadRequest, "bad_data",
                        "prompt '" + r.id + "': " + chat.error().message);
    TrainRow row;
    row.text = chat->prompt_text;
    row.prompt_tokens = chat->estimated_prompt_tokens;
    row.task = r.task;
    for (const auto& m : models) {
      const auto& o = r.outcomes.at(m);
      row.score.push_back(static_cast<float>(o.score));
      row.cost.push_back(static_cast<float>(o.cost));
      row.latency_ms.push_back(o.latency_ms ? static_cast<float>(*o.latency_ms) : -1.f);
    }
    t.rows.push_back(std::move(row));
  }
  if (t.rows.size() < 2)
    return make_error(ErrorKind::kBadRequest, "bad_data",
                      "fewer than 2 training records have an outcome for every model");
  return t;
}

CostTable CostTable::fit(const TrainTable& table) {
  CostTable c;
  const std::size_t n = table.models.size();
  std::map<std::string, std::pair<std::vector<double>, std::size_t>> by_task;
  for (std::size_t m = 0; m < n; ++m) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, lat = 0;
    std::size_t k = 0, nlat = 0;
    for (const auto& r : table.rows) {
      const double x = static_cast<double>(r.prompt_tokens), y = r.cost[m];
      sx += x, sy += y, sxx += x * x, sxy += x * y, ++k;
      if (r.latency_ms[m] >= 0) lat += r.latency_ms[m], ++nlat;
    }
    const double var = sxx - sx * sx / k;
    double b = var > 1e-12 ? (sxy - sx * sy / k) / var : 0;
    b = std::max(0.0, b);
    const double a = std::max(0.0, (sy - b * sx) / k);
    c.a_.push_back(a);
    c.b_.push_back(b);
    c.latency_.push_back(nlat ? lat / nlat : -1);
  }
  for (const auto& r : table.rows) {
    if (r.task.empty()) continue;
    auto& [sum, count] = by_task[r.task];
    if (sum.empty()) sum.assign(n, 0);
    for (std::size_t m = 0; m < n; ++m) sum[m] += r.cost[m];
    ++count;
  }
  for (auto& [task, sc] : by_task) {
    for (auto& v : sc.first) v /= sc.second;
    c.task_cost_.push_back({task, sc.first});
  }
  return c;
}

double CostTable::cost(std::size_t model, const std::string& task,
                       std::int64_t prompt_tokens) const {
  if (!task.empty()) {
    auto it = std::lower_bound(task_cost_.begin(), task_cost_.end(), task,
                               [](const auto& e, const std::string& t) { return e.first < t; });
    if (it != task_cost_.end() && it->first == task) return it->second[model];
  }
  return a_[model] + b_[model] * static_cast<double>(prompt_tokens);
}

std::vector<std::string> CostTable::tasks() const {
  std::vector<std::string> out;
  for (const auto& [t, _] : task_cost_) out.push_back(t);
  return out;
}

double CostTable::expected_cost(std::size_t model, const std::vector<double>& p,
                                std::int64_t prompt_tokens) const {
  double sum = 0, weight = 0;
  for (std::size_t t = 0; t < task_cost_.size() && t < p.size(); ++t) {
    sum += p[t] * task_cost_[t].second[model];
    weight += p[t];
  }
  if (weight <= 1e-9) return a_[model] + b_[model] * static_cast<double>(prompt_tokens);
  return sum / weight;
}

nlohmann::json CostTable::to_json() const {
  nlohmann::json tasks = nlohmann::json::object();
  for (const auto& [t, v] : task_cost_) tasks[t] = v;
  return {{"intercept", a_}, {"per_token", b_}, {"latency_ms", latency_}, {"task_mean", tasks}};
}

Result<CostTable> CostTable::from_json(const nlohmann::json& j, std::size_t n) {
  CostTable c;
  try {
    c.a_ = j.at("intercept").get<std::vector<double>>();
    c.b_ = j.at("per_token").get<std::vector<double>>();
    c.latency_ = j.at("latency_ms").get<std::vector<double>>();
    for (const auto& [t, v] : j.at("task_mean").items())
      c.task_cost_.push_back({t, v.get<std::vector<double>>()});
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_model_dir",
                      std::string("malformed cost table: ") + e.what());
  }
  bool ok = c.a_.size() == n && c.b_.size() == n && c.latency_.size() == n;
  for (const auto& [t, v] : c.task_cost_) ok &= v.size() == n;
  if (!ok)
    return make_error(ErrorKind::kBadRequest, "bad_model_dir",
                      "cost table does not match the models");
  std::sort(c.task_cost_.begin(), c.task_cost_.end());
  return c;
}

std::vector<ModelPrediction> predictions_by_task(const std::vector<double>& raw, const std::vector<double>& task_p,
                                                 std::size_t n_models, const QualityCalibration& calibration,
                                                 const CostTable& costs, const Signals& signals) {
  std::vector<ModelPrediction> out(n_models);
  for (std::size_t m = 0; m < n_models; ++m) {
    out[m].quality = calibration.apply(m, raw[m]);
    out[m].cost = signals.task.empty() ? costs.expected_cost(m, task_p, signals.prompt_tokens)
                                       : costs.cost(m, signals.task, signals.prompt_tokens);
    out[m].latency_ms = costs.latency_ms(m);
  }
  return out;
}

Result<LearnedSetup> setup_learned(const PolicyContext& ctx, const std::string& policy,
                                   const std::vector<std::string>& extra_keys) {
  auto err = [&](const std::string& reason) {
    return make_error(ErrorKind::kBadRequest, "bad_config", ctx.where + ": " + reason);
  };
  std::vector<std::string> allowed = {"type", "model_dir"};
  for (const auto& k : objective_spec_keys()) allowed.push_back(k);
  for (const auto& k : extra_keys) allowed.push_back(k);
  for (const auto& kv : ctx.spec) {
    const auto key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return err("unknown key '" + key + "' in " + policy + " policy (allowed: " + list + ")");
    }
  }
  if (!ctx.spec["model_dir"] || !ctx.spec["model_dir"].IsScalar())
    return err(policy + " policy needs `model_dir: DIR` (written by `switchboard train --policy " +
               policy + "`)");
  LearnedSetup s;
  s.dir = ctx.spec["model_dir"].as<std::string>();
  auto settings = parse_objective_settings(ctx.spec, ctx.config, ctx.where, std::nullopt);
  if (!settings) return settings.error();
  auto manifest = load_manifest(s.dir, policy, settings->models);
  if (!manifest) return err(manifest.error().message);
  s.manifest = std::move(*manifest);
  // Trained on GloVe (the only embedding training computes) and served with another provider's
  // vectors: every prompt got the training means, silently (the sizes differ) — or neighbours in
  // another space (they agree).
  if (s.manifest.embedding_provider.starts_with("glove") &&
      ctx.config.signals.embedding.provider != "glove")
    return err("model directory " + s.dir + " was trained on " + s.manifest.embedding_provider +
               " embeddings, but signals.embedding.provider is `" +
               ctx.config.signals.embedding.provider +
               "`: its predictions would not read the prompt (serve it with the GloVe provider)");
  // Again with the manifest's objectives underneath the spec's.
  settings = parse_objective_settings(ctx.spec, ctx.config, ctx.where, s.manifest.objectives);
  if (!settings) return settings.error();
  settings->models = s.manifest.models;
  settings->context_windows.clear();
  for (const auto& m : settings->models)
    settings->context_windows.push_back(ctx.config.find_model(m)->context_window);
  s.objective = std::make_shared<const Objective>(std::move(*settings));
  return s;
}

Result<Decision> LearnedPolicy::choose(const RouteRequest& request, const Signals& signals) const {
  auto predictions = predict(request, signals);
  if (!predictions) return predictions.error();
  return objective_->decide(name_, *predictions, request);
}

Result<RowSignals> extract_row_signals(const TrainContext& ctx, const TrainTable& table,
                                       const SignalNeeds& needs) {
  RowSignals out;
  auto extractor = signals::Extractor::load(ctx.signal_options, needs);
  if (!extractor) return extractor.error();
  out.dim = needs.embedding ? (*extractor)->embedding_dim() : 0;
  if (needs.embedding) out.provider = "glove-100d";
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    Signals s;
    s.prompt_tokens = table.rows[i].prompt_tokens;
    (*extractor)->extract(table.rows[i].text, needs, s);
    if (needs.embedding) {
      if (s.embedding.size() != out.dim) s.embedding.assign(out.dim, 0.f);
      out.embeddings.push_back(std::move(s.embedding));
    }
    out.tasks.push_back(std::move(s.task));
    if (i % 256 == 0) report_progress(ctx, "signals", i, table.rows.size());
  }
  return out;
}

Manifest base_manifest(const TrainContext& ctx, const std::string& policy,
                       const TrainTable& table) {
  Manifest m;
  m.policy = policy;
  m.models = table.models;
  m.train_path = ctx.train_path;
  m.train_records = table.rows.size();
  m.train_hash = outcomes_hash(ctx.train);
  m.created = utc_now();
  m.hyperparameters["seed"] = ctx.seed;
  return m;
}

YAML::Node output_spec(const TrainContext& ctx, const std::string& policy,
                       const std::vector<std::string>& runtime_keys) {
  YAML::Node spec;
  spec["type"] = policy;
  spec["model_dir"] = std::filesystem::absolute(ctx.out_dir).lexically_normal().string();
  if (ctx.base_spec && ctx.base_spec.IsMap()) {
    std::vector<std::string> keep = objective_spec_keys();
    keep.insert(keep.end(), runtime_keys.begin(), runtime_keys.end());
    for (const auto& kv : ctx.base_spec) {
      const auto key = kv.first.as<std::string>();
      if (std::find(keep.begin(), keep.end(), key) != keep.end())
        spec[key] = YAML::Clone(kv.second);
    }
  }
  return spec;
}

void check_spec_keys(const TrainContext& ctx, const std::string& policy,
                     const std::vector<std::string>& own) {
  if (!ctx.base_spec || !ctx.base_spec.IsMap()) return;
  std::vector<std::string> known = {"type", "model_dir"};
  known.insert(known.end(), own.begin(), own.end());
  for (const auto& k : objective_spec_keys()) known.push_back(k);
  for (const auto& kv : ctx.base_spec) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw std::invalid_argument("unknown key '" + key + "' for the " + policy +
                                " trainer (known: " + list + ")");
  }
}

double spec_number(const TrainContext& ctx, const std::string& key, double fallback) {
  if (!ctx.base_spec || !ctx.base_spec.IsMap() || !ctx.base_spec[key]) return fallback;
  const YAML::Node n = ctx.base_spec[key];
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v))
    throw std::invalid_argument("hyper-parameter '" + key + "' must be a finite number" +
                                (n.IsScalar() ? " (got '" + n.Scalar() + "')" : ""));
  return v;
}

std::int64_t spec_int(const TrainContext& ctx, const std::string& key, std::int64_t fallback,
                      std::int64_t min, std::int64_t max) {
  const double v = spec_number(ctx, key, static_cast<double>(fallback));
  if (v != std::floor(v) || v < static_cast<double>(min) || v > static_cast<double>(max))
    throw std::invalid_argument("hyper-parameter '" + key + "' must be an integer from " +
                                std::to_string(min) + " to " + std::to_string(max) + " (got " +
                                fmt::format("{:g}", v) + ")");
  return static_cast<std::int64_t>(v);
}

std::size_t spec_folds(const TrainContext& ctx) {
  const auto folds = spec_int(ctx, "folds", 5, 0, 100);
  if (folds == 1)
    throw std::invalid_argument(
        "hyper-parameter 'folds' must be 0 (no cross-fitting) or at least 2 (got 1)");
  return static_cast<std::size_t>(folds);
}

void report_progress(const TrainContext& ctx, std::string_view stage, std::size_t done,
                     std::size_t total) {
  if (ctx.progress) ctx.progress(stage, done, total);
}

}  // namespace switchboard::policies
