#include "eval/curves.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>
#include <utility>

#include "policies/trainer.h"

namespace switchboard::eval {

Result<TestSet> TestSet::make(const data::Outcomes& test,
                              const std::optional<std::string>& strong) {
  TestSet t;
  t.models = test.models();
  const std::size_t nm = t.models.size();
  std::unordered_set<std::string> seen;
  for (const auto& r : test.records) {
    if (r.outcomes.size() != nm) continue;  // outcomes is keyed by model: size says "all of them"
    if (!seen.insert(r.conversation_key()).second) {
      ++t.duplicates;
      continue;
    }
    t.records.push_back(&r);
    for (const auto& [_, o] : r.outcomes) {  // map order = sorted = models' order
      t.score_.push_back(o.score);
      t.cost_.push_back(o.cost);
    }
  }
  if (t.records.empty())
    return make_error(
        ErrorKind::kBadRequest, "bad_eval",
        "no test record has an outcome for every model (" + std::to_string(nm) + " models)");
  t.model_cost.assign(nm, 0);
  t.model_quality.assign(nm, 0);
  for (std::size_t i = 0; i < t.records.size(); ++i)
    for (std::size_t m = 0; m < nm; ++m) {
      t.model_cost[m] += t.cost(i, m);
      t.model_quality[m] += t.score(i, m);
    }
  for (auto& q : t.model_quality) q /= static_cast<double>(t.records.size());
  if (strong) t.strong_ = t.model_index(*strong);
  return t;
}

std::optional<std::size_t> TestSet::model_index(std::string_view name) const {
  auto it = std::lower_bound(models.begin(), models.end(), name);
  if (it == models.end() || *it != name) return std::nullopt;
  return static_cast<std::size_t>(it - models.begin());
}

EvalPoint TestSet::point(double total_cost, double total_score, const std::vector<double>& calls,
                         std::optional<double> knob) const {
  const double n = static_cast<double>(records.size());
  EvalPoint p;
  p.cost = total_cost;
  p.quality = total_score / n;
  p.strong_share = strong_ ? calls[*strong_] / n : 0;
  p.knob = knob;
  for (std::size_t m = 0; m < models.size(); ++m)
    if (calls[m] > 0) p.shares[models[m]] = calls[m] / n;
  return p;
}

EvalPoint TestSet::point(double total_cost, double total_score,
                         const std::vector<std::size_t>& calls, std::optional<double> knob) const {
  return point(total_cost, total_score, std::vector<double>(calls.begin(), calls.end()), knob);
}

std::vector<EvalPoint> distinct_sorted(std::vector<EvalPoint> points) {
  std::vector<EvalPoint> out;
  std::set<std::pair<double, double>> seen;
  for (auto& p : points)
    if (seen.insert({p.cost, p.quality}).second) out.push_back(std::move(p));
  std::stable_sort(out.begin(), out.end(), [](const EvalPoint& a, const EvalPoint& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.quality > b.quality;
  });
  return out;
}

namespace {

Curve one_point(std::string name, std::string kind, std::string description, EvalPoint p) {
  Curve c;
  c.name = std::move(name);
  c.kind = std::move(kind);
  c.description = std::move(description);
  c.points.push_back(std::move(p));
  return c;
}

// Expected-value mixes of two models: share s of the prompts to `hi`, the rest to `lo`.
Curve mix(const TestSet& t, std::size_t lo, std::size_t hi, std::string name) {
  Curve c;
  c.name = std::move(name);
  c.kind = "random";
  c.knob = "share";
  c.description = "each prompt to " + t.models[hi] + " with probability share, else to " +
                  t.models[lo] + " (expected values)";
  const double n = static_cast<double>(t.records.size());
  std::vector<EvalPoint> points;
  for (int i = 0; i <= 20; ++i) {
    const double s = i / 20.0;
    std::vector<double> calls(t.models.size(), 0);
    calls[lo] += (1 - s) * n;
    calls[hi] += s * n;
    const double cost = (1 - s) * t.model_cost[lo] + s * t.model_cost[hi];
    const double score = ((1 - s) * t.model_quality[lo] + s * t.model_quality[hi]) * n;
    points.push_back(t.point(cost, score, calls, s));
  }
  c.points = distinct_sorted(std::move(points));
  return c;
}

// Per prompt, the model maximising score - λ·cost (ties: cheaper, then name). At λ = 0 this is the
// classic oracle (the best score at the least cost); larger λ trace its cheaper frontier, which
// bounds every routing of these prompts from above.
Curve oracle(const TestSet& t) {
  Curve c;
  c.name = "oracle";
  c.kind = "oracle";
  c.knob = "lambda";
  c.description =
      "per prompt, the model with the best recorded score, ties to the cheapest (lambda = 0); "
      "the curve: per prompt, the best score - lambda * cost";
  std::vector<EvalPoint> points;
  for (double lambda : default_lambda_sweep()) {
    std::vector<std::size_t> calls(t.models.size(), 0);
    double cost = 0, score = 0;
    for (std::size_t i = 0; i < t.records.size(); ++i) {
      std::size_t best = 0;
      for (std::size_t m = 1; m < t.models.size(); ++m) {
        const double v = t.score(i, m) - lambda * t.cost(i, m);
        const double bv = t.score(i, best) - lambda * t.cost(i, best);
        if (v > bv || (v == bv && t.cost(i, m) < t.cost(i, best))) best = m;
      }
      ++calls[best];
      cost += t.cost(i, best);
      score += t.score(i, best);
    }
    points.push_back(t.point(cost, score, calls, lambda));
  }
  c.points = distinct_sorted(std::move(points));
  return c;
}

// Per task on TRAIN: each model's mean score and mean cost; at each λ, a TEST prompt goes to the
// model maximising mean_score - λ·mean_cost for its task (ties: cheaper, then name). Tasks not
// seen on TRAIN use the statistics over all of TRAIN.
std::optional<Curve> task_best(const data::Outcomes& train, const TestSet& t) {
  const std::size_t nm = t.models.size();
  struct Stat {
    double score = 0, cost = 0;
    std::size_t n = 0;
  };
  std::map<std::string, std::vector<Stat>> groups;  // task → by model index; "" = all of TRAIN
  groups[""].resize(nm);
  for (const auto& r : train.records) {
    auto& g = groups[r.task];
    g.resize(nm);
    for (const auto& [model, o] : r.outcomes) {
      auto m = t.model_index(model);
      if (!m) continue;
      for (auto* s : {&g[*m], &groups[""][*m]}) {
        s->score += o.score;
        s->cost += o.cost;
        ++s->n;
      }
    }
  }
  if (std::none_of(groups[""].begin(), groups[""].end(), [](const Stat& s) { return s.n > 0; }))
    return std::nullopt;
  auto choose = [&](const std::vector<Stat>& g, double lambda) {
    std::optional<std::size_t> best;
    double best_value = 0, best_cost = 0;
    for (std::size_t m = 0; m < nm; ++m) {
      if (g[m].n == 0) continue;
      const double q = g[m].score / g[m].n, c = g[m].cost / g[m].n;
      const double v = q - lambda * c;
      if (!best || v > best_value || (v == best_value && c < best_cost)) {
        best = m;
        best_value = v;
        best_cost = c;
      }
    }
    return best;
  };

  Curve c;
  c.name = "task-best";
  c.kind = "task-best";
  c.knob = "lambda";
  c.description =
      "per task, the model with the best mean score on TRAIN (the curve: best mean score - "
      "lambda * mean cost)";
  std::vector<EvalPoint> points;
  for (double lambda : default_lambda_sweep()) {
    std::map<std::string, std::size_t> pick;  // task → model at this λ
    for (const auto& [task, g] : groups)
      if (auto m = choose(g, lambda)) pick[task] = *m;
    std::vector<std::size_t> calls(nm, 0);
    double cost = 0, score = 0;
    for (std::size_t i = 0; i < t.records.size(); ++i) {
      auto it = pick.find(t.records[i]->task);
      const std::size_t m = it != pick.end() ? it->second : pick.at("");
      ++calls[m];
      cost += t.cost(i, m);
      score += t.score(i, m);
    }
    points.push_back(t.point(cost, score, calls, lambda));
  }
  c.points = distinct_sorted(std::move(points));
  return c;
}

}  // namespace

std::vector<Curve> baselines(const data::Outcomes& train, const TestSet& t,
                             const std::optional<std::string>& weak,
                             const std::optional<std::string>& strong) {
  std::vector<Curve> out;
  const std::size_t nm = t.models.size();
  const double n = static_cast<double>(t.records.size());
  for (std::size_t m = 0; m < nm; ++m) {
    std::vector<double> calls(nm, 0);
    calls[m] = n;
    out.push_back(one_point(t.models[m], "single", "every prompt to " + t.models[m],
                            t.point(t.model_cost[m], t.model_quality[m] * n, calls, std::nullopt)));
  }
  std::size_t cheapest = 0, best = 0;
  for (std::size_t m = 1; m < nm; ++m) {
    const double c = t.model_cost[m], cc = t.model_cost[cheapest];
    if (c < cc || (c == cc && t.model_quality[m] > t.model_quality[cheapest])) cheapest = m;
    const double q = t.model_quality[m], bq = t.model_quality[best];
    if (q > bq || (q == bq && t.model_cost[m] < t.model_cost[best])) best = m;
  }
  out.push_back(mix(t, cheapest, best, "random"));
  if (weak && strong) {
    const std::size_t w = *t.model_index(*weak), s = *t.model_index(*strong);
    if (w != cheapest || s != best) out.push_back(mix(t, w, s, "random-weak-strong"));
  }
  out.push_back(oracle(t));
  bool labelled = std::any_of(t.records.begin(), t.records.end(),
                              [](const data::PromptRecord* r) { return !r->task.empty(); });
  if (labelled)
    if (auto c = task_best(train, t)) out.push_back(std::move(*c));
  return out;
}

CurveMetrics compute_metrics(const std::vector<EvalPoint>& points, const EvalResult& result) {
  std::vector<CurvePoint> plain(points.begin(), points.end());
  CurveMetrics m;
  m.aiq = aiq(plain, result.max_cost);
  if (result.strong && result.weak) {
    double qs = 0, qw = 0;
    for (const auto& s : result.models) {
      if (s.name == *result.strong) qs = s.quality;
      if (s.name == *result.weak) qw = s.quality;
    }
    m.apgr = apgr(plain, qw, qs);
    m.cpt50 = cpt(plain, qw, qs, 0.5);
    m.cpt80 = cpt(plain, qw, qs, 0.8);
  }
  for (double b : result.budgets)
    m.quality_at_budget.push_back({b, quality_at_budget(plain, result.max_cost, b)});
  return m;
}

}  // namespace switchboard::eval
