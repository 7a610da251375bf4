#include "policies/bandit/bandit_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "config/config.h"
#include "policies/model_dir.h"
#include "policies/rated_answers.h"

namespace switchboard::policies::bandit {

Eigen::Vector2d list_price_line(double input_per_mtok, double output_per_mtok) {
  return {output_per_mtok * kAssumedCompletionTokens / 1e6, input_per_mtok * 1000 / 1e6};
}

double CostLine::predict(std::int64_t tokens) const {
  if (n == 0) return 0;
  const Eigen::Vector2d w = a.ldlt().solve(b);
  return std::max(0.0, w[0] + w[1] * static_cast<double>(tokens) / 1000.0);
}

CostLine CostLine::updated(std::int64_t tokens, double cost) const {
  CostLine next = *this;
  const Eigen::Vector2d x(1.0, static_cast<double>(tokens) / 1000.0);
  next.a += x * x.transpose();
  next.b += cost * x;
  ++next.n;
  return next;
}

BanditPolicy::BanditPolicy(std::shared_ptr<const Objective> objective, BanditOptions options,
                           std::unique_ptr<Policy> offline)
    : objective_(std::move(objective)), options_(options), offline_(std::move(offline)) {
  learned_ = dynamic_cast<const LearnedPolicy*>(offline_.get());
  auto s = std::make_shared<BanditState>();
  auto arm = std::make_shared<const LinearArm>(
      LinearArm::make(options_.dim + 1, options_.prior, options_.bias_prior));
  s->arms.assign(objective_->models().size(), arm);  // shared until first updated
  s->costs.resize(objective_->models().size());
  options_.list_prices.resize(objective_->models().size(), Eigen::Vector2d::Zero());
  s->detectors.assign(objective_->models().size(),
                      ChangeDetector{.delta = options_.change_delta, .threshold = options_.change_threshold});
  s->learning.assign(objective_->models().size(), !options_.detect_changes);
  state_.store(std::move(s));
}

SignalNeeds BanditPolicy::needs() const {
  SignalNeeds n = offline_ ? offline_->needs() : SignalNeeds{};
  if (options_.context == Context::kTask)
    n.task = true;
  else
    n.embedding = true;
  return n;
}

namespace {
// FNV-1a: stable across builds and machines, so saved and Redis-shared states keep their meaning.
std::uint64_t stable_hash(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
}  // namespace

Eigen::VectorXd BanditPolicy::context(const Signals& signals) const {
  Eigen::VectorXd x = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(options_.dim + 1));
  if (options_.context == Context::kTask) {
    if (!signals.task.empty())
      x[static_cast<Eigen::Index>(stable_hash(signals.task) % options_.dim)] = 1.0;
  } else if (signals.embedding.size() == options_.dim)
    for (std::size_t i = 0; i < options_.dim; ++i)
      x[static_cast<Eigen::Index>(i)] = options_.embedding_weight * signals.embedding[i];
  x[static_cast<Eigen::Index>(options_.dim)] = 1.0;
  return x;
}

Result<std::vector<ModelPrediction>> BanditPolicy::offline_predictions(
    const RouteRequest& request, const Signals& signals) const {
  if (learned_) return learned_->predict(request, signals);
  return std::vector<ModelPrediction>(objective_->models().size());
}

double BanditPolicy::list_price(std::size_t m, std::int64_t tokens) const {
  const Eigen::Vector2d& w = options_.list_prices[m];
  return w[0] + w[1] * static_cast<double>(tokens) / 1000.0;
}

double BanditPolicy::cost_of(const BanditState& s, std::size_t m, std::int64_t tokens) const {
  if (s.costs[m].n > 0) return s.costs[m].predict(tokens);
  const double ratio = s.listed > 0 ? s.billed / s.listed : 1.0;
  return ratio * list_price(m, tokens);
}

Result<Decision> BanditPolicy::choose(const RouteRequest& request, const Signals& signals) const {
  const std::shared_ptr<const BanditState> s = state_.load();
  auto predictions = offline_predictions(request, signals);
  if (!predictions) return predictions.error();
  const Eigen::VectorXd x = context(signals);
  std::mt19937_64 rng(options_.seed * 0x9E3779B97F4A7C15ull ^
                      s->observations * 0xBF58476D1CE4E5B9ull ^
                      std::hash<std::string_view>{}(request.prompt_text));
  std::normal_distribution<double> normal(0.0, 1.0);
  for (std::size_t m = 0; m < s->arms.size(); ++m) {
    const LinearArm& arm = *s->arms[m];
    const double w = arm.width(x);
    const double bonus = options_.algorithm == Algorithm::kLinUcb
                             ? options_.alpha * w
                             : options_.alpha * w * normal(rng);
    ModelPrediction& p = (*predictions)[m];
    p.quality += arm.mean(x) + bonus;
    if (!learned_) p.cost = cost_of(*s, m, request.prompt_tokens);
  }
  auto d = objective_->decide("bandit", *predictions, request);
  if (d)
    d->reason += fmt::format("; {} after {} feedback events{}",
                             options_.algorithm == Algorithm::kLinUcb ? "LinUCB" : "Thompson",
                             s->observations, learned_ ? ", warm-started" : "");
  return d;
}

std::optional<Error> BanditPolicy::observe(const Feedback& f) {
  // One reward per answer: the score, or a preference's 1 / 0 / 0.5 (policies/rated_answers.h).
  auto rated = rated_answers(f, objective_->models(), "bandit");
  if (!rated) return rated.error();
  const std::vector<RatedAnswer>& rewards = *rated;
  // The targets and contexts, computed before taking the writers' lock.
  std::vector<double> targets;
  std::vector<Eigen::VectorXd> xs;
  for (const RatedAnswer& r : rewards) {
    double target = r.score;
    if (learned_) {  // learn the residual over the offline prediction
      RouteRequest request;
      request.prompt_tokens = r.prompt_tokens;
      request.prompt_text = r.prompt_text;
      auto p = learned_->predict(request, *r.signals);
      if (!p) return p.error();
      target -= (*p)[r.model].quality;
    }
    targets.push_back(target);
    xs.push_back(context(*r.signals));
  }
  std::lock_guard lock(write_);
  const std::shared_ptr<const BanditState> cur = state_.load();
  auto next = std::make_shared<BanditState>(*cur);  // copies pointers; only the arms rated change
  for (std::size_t k = 0; k < rewards.size(); ++k) {
    const std::size_t a = rewards[k].model;
    std::shared_ptr<const LinearArm> arm = next->arms[a];
    if (options_.detect_changes && next->detectors[a].add(targets[k] - arm->mean(xs[k]))) {
      // The model changed: forget what the arm knew and learn from here on.
      arm = std::make_shared<const LinearArm>(
          LinearArm::make(options_.dim + 1, options_.prior, options_.bias_prior));
      next->learning[a] = true;
    }
    if (next->learning[a])
      arm = std::make_shared<const LinearArm>(arm->updated(xs[k], targets[k], options_.discount));
    next->arms[a] = std::move(arm);
    next->costs[a] = next->costs[a].updated(rewards[k].prompt_tokens, rewards[k].cost);
    if (const double listed = list_price(a, rewards[k].prompt_tokens); listed > 0) {
      next->billed += rewards[k].cost;
      next->listed += listed;
    }
  }
  ++next->observations;
  state_.store(std::move(next));
  return std::nullopt;
}

nlohmann::json BanditPolicy::summary() const {
  const auto s = state_.load();
  nlohmann::json j;
  j["algorithm"] = options_.algorithm == Algorithm::kLinUcb ? "linucb" : "thompson";
  j["alpha"] = options_.alpha;
  j["prior"] = options_.prior;
  j["bias_prior"] = options_.bias_prior;
  j["discount"] = options_.discount;
  j["embedding_weight"] = options_.embedding_weight;
  j["context"] = options_.context == Context::kTask ? "task" : "embedding";
  j["dim"] = options_.dim;
  j["observations"] = s->observations;
  j["warm_start"] = learned_ != nullptr;
  j["change_detection"] = options_.detect_changes;
  for (std::size_t m = 0; m < s->arms.size(); ++m) {
    j["arm_observations"][objective_->models()[m]] = s->arms[m]->n;
    if (options_.detect_changes)
      j["change_alarms"][objective_->models()[m]] = s->detectors[m].alarms;
  }
  return j;
}

nlohmann::json BanditPolicy::save() const {
  const auto s = state_.load();
  nlohmann::json j;
  j["models"] = objective_->models();
  j["dim"] = options_.dim;
  j["observations"] = s->observations;
  j["arms"] = nlohmann::json::array();
  for (const auto& arm : s->arms) {
    if (arm->n == 0) {
      j["arms"].push_back(nullptr);
      continue;
    }
    std::vector<double> a(arm->a.data(), arm->a.data() + arm->a.size());
    std::vector<double> b(arm->b.data(), arm->b.data() + arm->b.size());
    std::vector<double> p(arm->p.data(), arm->p.data() + arm->p.size());
    j["arms"].push_back({{"p", p}, {"a", a}, {"b", b}, {"n", arm->n}});
  }
  j["costs"] = nlohmann::json::array();
  for (const auto& c : s->costs)
    j["costs"].push_back(
        {{"a", {c.a(0, 0), c.a(0, 1), c.a(1, 0), c.a(1, 1)}}, {"b", {c.b[0], c.b[1]}}, {"n", c.n}});
  j["cost_calibration"] = {s->billed, s->listed};
  j["detectors"] = nlohmann::json::array();
  for (std::size_t m = 0; m < s->detectors.size(); ++m) {
    auto d = s->detectors[m].to_json();
    d["learning"] = static_cast<bool>(s->learning[m]);
    j["detectors"].push_back(std::move(d));
  }
  return j;
}

std::optional<Error> BanditPolicy::restore(const nlohmann::json& j) {
  const auto& models = objective_->models();
  auto bad = [](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_state", "bandit state: " + why);
  };
  try {
    if (j.at("models").get<std::vector<std::string>>() != models)
      return bad("saved for other models");
    if (j.at("dim").get<std::size_t>() != options_.dim) return bad("saved for another dimension");
    const auto d = static_cast<Eigen::Index>(options_.dim + 1);
    const auto& arms = j.at("arms");
    const auto& costs = j.at("costs");
    if (arms.size() != models.size() || costs.size() != models.size())
      return bad("wrong number of arms");
    const auto cur = state_.load();
    auto next = std::make_shared<BanditState>(*cur);
    for (std::size_t m = 0; m < models.size(); ++m) {
      const auto& aj = arms[m];
      if (aj.is_null()) {
        next->arms[m] = std::make_shared<const LinearArm>(
            LinearArm::make(options_.dim + 1, options_.prior, options_.bias_prior));
      } else {
        const auto p = aj.at("p").get<std::vector<double>>();
        const auto a = aj.at("a").get<std::vector<double>>();
        const auto b = aj.at("b").get<std::vector<double>>();
        if (p.size() != static_cast<std::size_t>(d) || b.size() != static_cast<std::size_t>(d) ||
            a.size() != static_cast<std::size_t>(d * d))
          return bad("an arm of the wrong size");
        LinearArm arm;
        arm.p = Eigen::Map<const Eigen::VectorXd>(p.data(), d);
        arm.a = Eigen::Map<const Eigen::MatrixXd>(a.data(), d, d);
        arm.b = Eigen::Map<const Eigen::VectorXd>(b.data(), d);
        // A (prior + Σ xxᵀ) is symmetric positive definite, and rewards are bounded: anything
        // else (a singular matrix, 1e300) made the arm's predictions NaN or absurd for good.
        const Eigen::LLT<Eigen::MatrixXd> llt(arm.a);
        constexpr double kMaxMagnitude = 1e18;  // (far past any life of feedback)
        if (!arm.a.allFinite() || !arm.b.allFinite() || !arm.p.allFinite() ||
            llt.info() != Eigen::Success || arm.b.cwiseAbs().maxCoeff() > kMaxMagnitude ||
            arm.a.cwiseAbs().maxCoeff() > kMaxMagnitude ||
            !arm.a.isApprox(arm.a.transpose(), 1e-9))
          return bad("an arm that is not a valid linear model (singular, asymmetric or not finite)");
        arm.a_inv = llt.solve(Eigen::MatrixXd::Identity(d, d));
        arm.theta = arm.a_inv * arm.b;
        if (!arm.a_inv.allFinite() || !arm.theta.allFinite())
          return bad("an arm whose model is not finite");
        arm.n = aj.at("n").get<std::uint64_t>();
        next->arms[m] = std::make_shared<const LinearArm>(std::move(arm));
      }
      const auto ca = costs[m].at("a").get<std::vector<double>>();
      const auto cb = costs[m].at("b").get<std::vector<double>>();
      if (ca.size() != 4 || cb.size() != 2) return bad("a cost line of the wrong size");
      // (Finite only: its sums of squared prompt sizes grow without discount over a long life.)
      for (double v : ca)
        if (!std::isfinite(v)) return bad("a cost line that is not finite");
      for (double v : cb)
        if (!std::isfinite(v)) return bad("a cost line that is not finite");
      CostLine c;
      c.a << ca[0], ca[1], ca[2], ca[3];
      c.b << cb[0], cb[1];
      // Its A is 1e-3·I plus Σ xxᵀ: symmetric positive definite. A singular one solved to NaN,
      // which predict() read as a cost of 0 — a model made free for good.
      if (Eigen::LLT<Eigen::Matrix2d>(c.a).info() != Eigen::Success || c.a(0, 1) != c.a(1, 0))
        return bad("a cost line that is not a valid least-squares fit (singular or asymmetric)");
      c.n = costs[m].at("n").get<std::uint64_t>();
      next->costs[m] = c;
    }
    next->billed = next->listed = 0;
    if (const auto it = j.find("cost_calibration"); it != j.end()) {
      const auto cal = it->get<std::vector<double>>();
      if (cal.size() != 2 || !(cal[0] >= 0 && cal[0] <= 1e12) || !(cal[1] >= 0 && cal[1] <= 1e12))
        return bad("a malformed cost calibration");
      next->billed = cal[0];
      next->listed = cal[1];
    }
    if (const auto it = j.find("detectors"); it != j.end()) {
      if (!it->is_array() || it->size() != models.size()) return bad("wrong number of detectors");
      for (std::size_t m = 0; m < models.size(); ++m) {
        if (!next->detectors[m].from_json((*it)[m])) return bad("a malformed change detector");
        next->learning[m] =
            (*it)[m].value("learning", !options_.detect_changes) || !options_.detect_changes;
      }
    }
    next->observations = j.at("observations").get<std::uint64_t>();
    std::lock_guard lock(write_);
    state_.store(std::move(next));
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return std::nullopt;
}

namespace {

Result<std::unique_ptr<Policy>> make_bandit(const PolicyContext& ctx) {
  auto err = [&](const std::string& reason) {
    return make_error(ErrorKind::kBadRequest, "bad_config", ctx.where + ": " + reason);
  };
  static const std::vector<std::string> own = {
      "type",       "algorithm",        "alpha",   "prior",        "bias_prior",
      "discount",   "embedding_weight", "context", "task_buckets", "seed",
      "warm_start", "change_detection"};
  std::vector<std::string> allowed = own;
  for (const auto& k : objective_spec_keys()) allowed.push_back(k);
  for (const auto& kv : ctx.spec) {
    const auto key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return err("unknown key '" + key + "' in bandit policy (allowed: " + list + ")");
    }
  }
  BanditOptions o;
  const bool warm = ctx.spec["warm_start"].IsDefined();
  o.discount = warm ? 0.98 : 1.0;
  o.embedding_weight = warm ? 0.0 : 1.0;
  o.alpha = warm ? 0.0 : 1.0;
  o.prior = warm ? 20.0 : 1.0;
  try {
    if (const auto& a = ctx.spec["algorithm"]) {
      const auto name = a.as<std::string>();
      if (name == "linucb")
        o.algorithm = Algorithm::kLinUcb;
      else if (name == "thompson") {
        o.algorithm = Algorithm::kThompson;
        if (!warm) o.alpha = 0.2;
      } else
        return err("`algorithm` must be linucb or thompson, not '" + name + "'");
    }
    if (const auto& a = ctx.spec["alpha"]) o.alpha = a.as<double>();
    if (const auto& a = ctx.spec["prior"]) o.prior = a.as<double>();
    if (const auto& a = ctx.spec["embedding_weight"]) o.embedding_weight = a.as<double>();
    if (const auto& a = ctx.spec["bias_prior"]) o.bias_prior = a.as<double>();
    if (const auto& a = ctx.spec["discount"]) o.discount = a.as<double>();
    if (const auto& a = ctx.spec["seed"]) o.seed = a.as<std::uint64_t>();
    if (const auto& a = ctx.spec["context"]) {
      const auto name = a.as<std::string>();
      if (name == "task")
        o.context = Context::kTask;
      else if (name != "embedding")
        return err("`context` must be embedding or task, not '" + name + "'");
    }
    if (const auto& a = ctx.spec["task_buckets"]) {
      const auto n = a.as<long long>();
      if (n < 1 || n > 256) return err("`task_buckets` must be an integer in [1, 256]");
      o.dim = static_cast<std::size_t>(n);
    } else if (o.context == Context::kTask) {
      o.dim = 16;
    }
  } catch (const YAML::Exception&) {
    return err(
        "`alpha`, `prior` and `discount` must be numbers, `seed` and `task_buckets` non-negative "
        "integers");
  }
  o.detect_changes = warm;
  if (const auto& cd = ctx.spec["change_detection"]) {
    if (cd.IsScalar() && (cd.Scalar() == "off" || cd.Scalar() == "false")) {
      o.detect_changes = false;
    } else if (cd.IsScalar() && (cd.Scalar() == "on" || cd.Scalar() == "true")) {
      o.detect_changes = true;
    } else if (cd.IsMap()) {
      o.detect_changes = true;
      for (const auto& kv : cd) {
        const auto key = kv.first.as<std::string>();
        if (key != "delta" && key != "threshold")
          return err("unknown key '" + key + "' in change_detection (allowed: delta, threshold)");
      }
      try {
        if (cd["delta"]) o.change_delta = cd["delta"].as<double>();
        if (cd["threshold"]) o.change_threshold = cd["threshold"].as<double>();
      } catch (const YAML::Exception&) {
        return err("change_detection: `delta` and `threshold` must be numbers");
      }
      if (!(o.change_delta >= 0) || !std::isfinite(o.change_delta))
        return err("change_detection: `delta` must be a number ≥ 0");
      if (!(o.change_threshold > 0) || !std::isfinite(o.change_threshold))
        return err("change_detection: `threshold` must be a number > 0");
    } else {
      return err("`change_detection` must be on, off or {delta: X, threshold: Y}");
    }
  }
  if (ctx.spec["task_buckets"].IsDefined() && o.context != Context::kTask)
    return err("`task_buckets` goes with `context: task`");
  if (!(o.alpha >= 0) || !std::isfinite(o.alpha)) return err("`alpha` must be a number ≥ 0");
  if (!(o.prior > 0) || !std::isfinite(o.prior)) return err("`prior` must be a number > 0");
  if (!(o.embedding_weight >= 0) || !std::isfinite(o.embedding_weight))
    return err("`embedding_weight` must be a number ≥ 0");
  if (!(o.discount > 0 && o.discount <= 1)) return err("`discount` must be in (0, 1]");
  // The embedding context is the 100-d GloVe prompt vector; another provider's vectors (of their
  // own size) would never fit it, and the bandit would learn from the constant term alone.
  if (o.context == Context::kEmbedding && o.embedding_weight > 0 &&
      ctx.config.signals.embedding.provider != "glove")
    return err("`context: embedding` reads the GloVe prompt vector, but signals.embedding.provider "
               "is `" + ctx.config.signals.embedding.provider +
               "`: use `context: task`, or `embedding_weight: 0`");

  std::unique_ptr<Policy> offline;
  std::shared_ptr<const Objective> objective;
  if (warm) {
    const auto dir = ctx.spec["warm_start"].as<std::string>();
    auto manifest = load_manifest(dir);
    if (!manifest) return err("warm_start: " + manifest.error().message);
    // The arms are (dim + 1)² each: sized from the bandit's own context, never from the file (an
    // edited manifest's 8000 took a gigabyte). A warm start embedding prompts otherwise is refused.
    if (manifest->embedding_dim && o.context == Context::kEmbedding &&
        manifest->embedding_dim != o.dim)
      return err(fmt::format("warm_start: {} embeds prompts in {} dimensions, the bandit's "
                             "context in {} (GloVe's)",
                             dir, manifest->embedding_dim, o.dim));
    YAML::Node inner = YAML::Clone(ctx.spec);
    for (const auto& k : own) inner.remove(k);
    inner["type"] = manifest->policy;
    inner["model_dir"] = dir;
    const PolicyFactory* factory = PolicyRegistry::instance().find(manifest->policy);
    if (!factory)
      return err("warm_start: " + dir + " holds a '" + manifest->policy +
                 "' policy, which is not registered");
    const std::string where = ctx.where + " (warm_start)";
    auto built = (*factory)(PolicyContext{inner, ctx.config, where});
    if (!built) return built.error();
    const auto* learned = dynamic_cast<const LearnedPolicy*>(built->get());
    if (!learned)
      return err("warm_start: a '" + manifest->policy +
                 "' policy does not predict per-model quality");
    objective =
        std::shared_ptr<const Objective>(std::shared_ptr<const Objective>(), &learned->objective());
    offline = std::move(*built);
  } else {
    auto settings = parse_objective_settings(ctx.spec, ctx.config, ctx.where, std::nullopt);
    if (!settings) return settings.error();
    objective = std::make_shared<const Objective>(std::move(*settings));
    for (const auto& name : objective->models()) {
      const config::ModelConfig* m = ctx.config.find_model(name);
      o.list_prices.push_back(m ? list_price_line(m->price.input_per_mtok, m->price.output_per_mtok)
                                : Eigen::Vector2d::Zero());
    }
  }
  return std::unique_ptr<Policy>(std::make_unique<BanditPolicy>(objective, o, std::move(offline)));
}

const PolicyRegistrar kRegisterBandit("bandit", make_bandit);

}  // namespace
}  // namespace switchboard::policies::bandit
