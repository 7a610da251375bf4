#include "policies/elo/elo_policy.h"

#include <fmt/format.h>

#include "config/config.h"
#include "policies/list_price.h"

#include <algorithm>
#include <cmath>

namespace switchboard::policies::elo {

namespace {
double expect(double ra, double rb) {
  return 1.0 / (1.0 + std::pow(10.0, (rb - ra) / 400.0));
}
}  // namespace

void elo_update(Ratings& r, std::size_t a, std::size_t b, double s, double k) {
  const double delta = k * (s - expect(r.rating[a], r.rating[b]));
  r.rating[a] += delta;
  r.rating[b] -= delta;
  ++r.games;
}

std::vector<double> expected_scores(const Ratings& r) {
  const std::size_t n = r.rating.size();
  std::vector<double> out(n, 0.5);
  if (n < 2) return out;
  for (std::size_t m = 0; m < n; ++m) {
    double sum = 0;
    for (std::size_t j = 0; j < n; ++j)
      if (j != m) sum += expect(r.rating[m], r.rating[j]);
    out[m] = sum / static_cast<double>(n - 1);
  }
  return out;
}

EloPolicy::EloPolicy(std::shared_ptr<const Objective> objective, double k, bool per_task,
                     std::uint64_t min_games, std::vector<std::array<double, 2>> list_prices)
    : objective_(std::move(objective)),
      k_(k),
      per_task_(per_task),
      min_games_(min_games),
      list_prices_(std::move(list_prices)) {
  list_prices_.resize(objective_->models().size(), {0.0, 0.0});
  auto s = std::make_shared<EloState>();
  const std::size_t n = objective_->models().size();
  s->global.rating.assign(n, 1500.0);
  s->cost_sum.assign(n, 0.0);
  s->cost_n.assign(n, 0);
  state_.store(std::move(s));
}

SignalNeeds EloPolicy::needs() const {
  SignalNeeds n;
  n.task = per_task_;
  return n;
}

Result<Decision> EloPolicy::choose(const RouteRequest& request, const Signals& signals) const {
  const auto s = state_.load();
  const Ratings* table = &s->global;
  std::string which = "global";
  if (per_task_ && !signals.task.empty()) {
    auto it = s->by_task.find(signals.task);
    if (it != s->by_task.end() && it->second.games >= min_games_) {
      table = &it->second;
      which = "task " + signals.task;
    }
  }
  const auto q = expected_scores(*table);
  std::vector<ModelPrediction> p(q.size());
  for (std::size_t m = 0; m < q.size(); ++m) {
    p[m].quality = q[m];
    // Before its first billed answer a model costs its list price (it cost 0: a cold route sent
    // everything to the first model listed, whatever its price).
    p[m].cost = s->cost_n[m] ? s->cost_sum[m] / static_cast<double>(s->cost_n[m])
                             : list_price(list_prices_[m][0], list_prices_[m][1],
                                          request.prompt_tokens);
  }
  auto d = objective_->decide("elo", p, request);
  if (d) d->reason += fmt::format("; {} ratings after {} comparisons", which, table->games);
  return d;
}

std::optional<std::string> EloPolicy::cannot_learn(const Feedback& f) const {
  if (f.other.empty()) return "elo learns from pairwise preferences only, not from scores";
  if (f.other == f.model)
    return "both answers are of model '" + f.model + "': elo learns from comparisons of two models";
  return std::nullopt;
}

std::optional<Error> EloPolicy::observe(const Feedback& f) {
  const auto& models = objective_->models();
  auto index = [&](const std::string& name) -> std::optional<std::size_t> {
    auto it = std::find(models.begin(), models.end(), name);
    if (it == models.end()) return std::nullopt;
    return static_cast<std::size_t>(it - models.begin());
  };
  auto a = index(f.model);
  if (!a)
    return make_error(
        ErrorKind::kBadRequest, "bad_feedback",
        "feedback names model '" + f.model + "', which this policy does not route to");
  std::optional<std::size_t> b;
  if (!f.other.empty()) {
    b = index(f.other);
    if (!b)
      return make_error(
          ErrorKind::kBadRequest, "bad_feedback",
          "feedback compares with model '" + f.other + "', which this policy does not route to");
    if (*b == *a)
      return make_error(ErrorKind::kBadRequest, "bad_feedback",
                        "a model cannot be compared with itself");
    if (!f.outcome || *f.outcome < 0 || *f.outcome > 1)
      return make_error(ErrorKind::kBadRequest, "bad_feedback",
                        "a comparison needs an outcome in [0,1]");
  } else {
    return make_error(ErrorKind::kBadRequest, "bad_feedback",
                      "elo learns from pairwise preferences; this feedback has none");
  }
  std::lock_guard lock(write_);
  const auto cur = state_.load();
  auto next = std::make_shared<EloState>(*cur);
  elo_update(next->global, *a, *b, *f.outcome, k_);
  if (per_task_ && !f.signals.task.empty()) {
    auto [it, fresh] = next->by_task.try_emplace(f.signals.task);
    if (fresh) it->second.rating.assign(models.size(), 1500.0);
    elo_update(it->second, *a, *b, *f.outcome, k_);
  }
  next->cost_sum[*a] += f.cost;
  ++next->cost_n[*a];
  next->cost_sum[*b] += f.other_cost;
  ++next->cost_n[*b];
  ++next->observations;
  state_.store(std::move(next));
  return std::nullopt;
}

nlohmann::json EloPolicy::summary() const {
  const auto s = state_.load();
  nlohmann::json j;
  j["observations"] = s->observations;
  for (std::size_t m = 0; m < s->global.rating.size(); ++m)
    j["ratings"][objective_->models()[m]] = s->global.rating[m];
  j["tasks"] = s->by_task.size();
  return j;
}

nlohmann::json EloPolicy::save() const {
  const auto s = state_.load();
  auto ratings = [](const Ratings& r) {
    return nlohmann::json{{"rating", r.rating}, {"games", r.games}};
  };
  nlohmann::json j;
  j["models"] = objective_->models();
  j["observations"] = s->observations;
  j["global"] = ratings(s->global);
  j["by_task"] = nlohmann::json::object();
  for (const auto& [task, r] : s->by_task) j["by_task"][task] = ratings(r);
  j["cost_sum"] = s->cost_sum;
  j["cost_n"] = s->cost_n;
  return j;
}

std::optional<Error> EloPolicy::restore(const nlohmann::json& j) {
  const auto& models = objective_->models();
  auto bad = [](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_state", "elo state: " + why);
  };
  try {
    if (j.at("models").get<std::vector<std::string>>() != models)
      return bad("saved for other models");
    auto next = std::make_shared<EloState>();
    auto ratings = [&](const nlohmann::json& r, Ratings& out) {
      out.rating = r.at("rating").get<std::vector<double>>();
      out.games = r.at("games").get<std::uint64_t>();
      // Ratings move by at most k per game from 0: anything past ±10^6 was not written by a
      // gateway (1e308 made every comparison inf − inf).
      for (double v : out.rating)
        if (!std::isfinite(v) || std::abs(v) > 1e6) return false;
      return out.rating.size() == models.size();
    };
    if (!ratings(j.at("global"), next->global)) return bad("wrong number or range of ratings");
    for (const auto& [task, r] : j.at("by_task").items())
      if (!ratings(r, next->by_task[task])) return bad("wrong number or range of ratings");
    next->cost_sum = j.at("cost_sum").get<std::vector<double>>();
    next->cost_n = j.at("cost_n").get<std::vector<std::uint64_t>>();
    if (next->cost_sum.size() != models.size() || next->cost_n.size() != models.size())
      return bad("wrong number of costs");
    for (double v : next->cost_sum)
      if (!(v >= 0 && v <= 1e12)) return bad("a cost sum that is not a finite amount >= 0");
    next->observations = j.at("observations").get<std::uint64_t>();
    std::lock_guard lock(write_);
    state_.store(std::move(next));
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return std::nullopt;
}

namespace {

Result<std::unique_ptr<Policy>> make_elo(const PolicyContext& ctx) {
  auto err = [&](const std::string& reason) {
    return make_error(ErrorKind::kBadRequest, "bad_config", ctx.where + ": " + reason);
  };
  std::vector<std::string> allowed = {"type", "k", "per_task", "min_games"};
  for (const auto& k : objective_spec_keys()) allowed.push_back(k);
  for (const auto& kv : ctx.spec) {
    const auto key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return err("unknown key '" + key + "' in elo policy (allowed: " + list + ")");
    }
  }
  double k = 16;
  bool per_task = false;
  std::uint64_t min_games = 20;
  try {
    if (const auto& n = ctx.spec["k"]) k = n.as<double>();
    if (const auto& n = ctx.spec["per_task"]) per_task = n.as<bool>();
    if (const auto& n = ctx.spec["min_games"]) min_games = n.as<std::uint64_t>();
  } catch (const YAML::Exception&) {
    return err("`k` must be a number, `per_task` a boolean, `min_games` a non-negative integer");
  }
  if (!(k > 0) || !std::isfinite(k)) return err("`k` must be a number > 0");
  auto settings = parse_objective_settings(ctx.spec, ctx.config, ctx.where, std::nullopt);
  if (!settings) return settings.error();
  auto objective = std::make_shared<const Objective>(std::move(*settings));
  std::vector<std::array<double, 2>> list_prices;
  for (const auto& name : objective->models()) {
    const config::ModelConfig* m = ctx.config.find_model(name);
    list_prices.push_back(m ? std::array<double, 2>{m->price.input_per_mtok, m->price.output_per_mtok}
                            : std::array<double, 2>{0.0, 0.0});
  }
  return std::unique_ptr<Policy>(std::make_unique<EloPolicy>(std::move(objective), k, per_task,
                                                             min_games, std::move(list_prices)));
}

const PolicyRegistrar kRegisterElo("elo", make_elo);

}  // namespace
}  // namespace switchboard::policies::elo
