// Default cascades learned from TRAIN (`switchboard eval --policy cascade` without a spec, or
// `switchboard train --policy cascade`), when the user's spec has no `tiers`: `design: routed`
// (the default; cascade_routed.cc) or `design: probes`, this file's:
//   final tier = the model with the best mean TRAIN score (ties: cheaper);
//   first tier = the probe set (2 or 3 of the `probe_pool` cheapest other models, default 6)
//                whose cascade — probes judged by the `judge` (default `agreement`), the final
//                model when they disagree — has the largest area under its cost–quality curve
//                on TRAIN (the thresholds swept, AIQ-like: the non-decreasing upper hull over cost
//                normalised by the final model's TRAIN cost, flat to 1);
//   the curve's knob = the tier's threshold, swept over the judge's distinct TRAIN confidences.
// The judge reads the recorded responses (records without one for a model are left out of the
// search). A user spec with `tiers` is returned as given, its threshold swept over [0, 1].
#include <algorithm>
#include <map>
#include <set>

#include "policies/cascade/cascade_designs.h"
#include "policies/learned.h"
#include "switchboard/judge.h"

namespace switchboard::policies {
namespace {

struct Pt {
  double x, y;
};

// The area under the non-decreasing upper hull of `pts` over [first x, 1] (AIQ's definition).
double hull_area(std::vector<Pt> pts) {
  std::sort(pts.begin(), pts.end(), [](Pt a, Pt b) { return a.x != b.x ? a.x < b.x : a.y > b.y; });
  std::vector<Pt> hull;
  for (const auto& p : pts) {
    if (!hull.empty() && hull.back().x == p.x) continue;
    while (hull.size() >= 2) {
      const Pt& o = hull[hull.size() - 2];
      const Pt& a = hull.back();
      if ((a.x - o.x) * (p.y - o.y) - (a.y - o.y) * (p.x - o.x) >= 0)
        hull.pop_back();
      else
        break;
    }
    hull.push_back(p);
  }
  if (hull.empty()) return 0;
  auto best = std::max_element(hull.begin(), hull.end(), [](Pt a, Pt b) { return a.y < b.y; });
  hull.erase(best + 1, hull.end());
  if (hull.back().x < 1) hull.push_back({1, hull.back().y});
  double area = 0;
  for (std::size_t i = 0; i + 1 < hull.size(); ++i) {
    const Pt a = hull[i], b = hull[i + 1];
    if (a.x >= 1) break;
    if (b.x > 1) {
      const double y1 = a.y + (b.y - a.y) * (1 - a.x) / (b.x - a.x);
      area += (1 - a.x) * (a.y + y1) / 2;
      break;
    }
    area += (b.x - a.x) * (a.y + b.y) / 2;
  }
  return area;
}

struct Row {
  const std::string* prompt;
  std::vector<const std::string*> response;  // per model
  std::vector<double> score, cost;
};

Result<TrainedPolicy> train_cascade(const TrainContext& ctx) {
  TrainedPolicy out;
  out.sweep.kind = Sweep::Kind::kSpecKey;
  out.sweep.key = "threshold";
  if (ctx.base_spec && ctx.base_spec.IsMap() && ctx.base_spec["tiers"]) {
    out.spec = YAML::Clone(ctx.base_spec);
    for (int i = 0; i <= 20; ++i) out.sweep.values.push_back(i / 20.0);
    return out;
  }
  const std::string design = ctx.base_spec && ctx.base_spec.IsMap() && ctx.base_spec["design"]
                                 ? ctx.base_spec["design"].as<std::string>()
                                 : "routed";
  if (design == "routed") return train_routed_cascade(ctx);
  if (design != "probes")
    return make_error(ErrorKind::kBadRequest, "bad_spec",
                      "cascade: design is `routed` (default) or `probes`, not '" + design + "'");
  auto fail = [](const std::string& m) {
    return make_error(ErrorKind::kBadRequest, "bad_data", "cascade: " + m);
  };
  const std::vector<std::string> models = train_models(ctx);
  YAML::Node judge_spec;
  if (ctx.base_spec && ctx.base_spec.IsMap() && ctx.base_spec["judge"])
    judge_spec = YAML::Clone(ctx.base_spec["judge"]);
  else
    judge_spec["type"] = "agreement";
  const std::string judge_type =
      judge_spec.IsScalar() ? judge_spec.Scalar() : judge_spec["type"].as<std::string>("");
  if (judge_spec.IsScalar()) {
    YAML::Node map(YAML::NodeType::Map);
    map["type"] = judge_type;
    judge_spec.reset(map);
  }
  const JudgeFactory* factory = JudgeRegistry::instance().find(judge_type);
  if (!factory) return fail("no judge of type '" + judge_type + "' is registered");
  const std::string where = "cascade trainer";
  auto judge = (*factory)(JudgeContext{judge_spec, where});
  if (!judge) return judge.error();

  // Prompts with every model's score, cost and response.
  std::vector<Row> rows;
  std::vector<std::string> prompts;
  prompts.reserve(ctx.train.records.size());
  for (const auto& r : ctx.train.records) {
    Row row;
    bool complete = true;
    for (const auto& m : models) {
      auto it = r.outcomes.find(m);
      if (it == r.outcomes.end() || !it->second.response) {
        complete = false;
        break;
      }
      row.response.push_back(&*it->second.response);
      row.score.push_back(it->second.score);
      row.cost.push_back(it->second.cost);
    }
    if (!complete) continue;
    prompts.push_back(r.user_text());
    rows.push_back(std::move(row));
  }
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].prompt = &prompts[i];
  if (rows.size() < 10) return fail("fewer than 10 TRAIN records have every model's response");
  const std::size_t n = models.size();
  std::vector<double> total_cost(n, 0), quality(n, 0);
  for (const auto& r : rows)
    for (std::size_t m = 0; m < n; ++m) total_cost[m] += r.cost[m], quality[m] += r.score[m];
  std::size_t final_model = 0;
  for (std::size_t m = 1; m < n; ++m)
    if (quality[m] > quality[final_model] ||
        (quality[m] == quality[final_model] && total_cost[m] < total_cost[final_model]))
      final_model = m;
  std::vector<std::size_t> pool;
  for (std::size_t m = 0; m < n; ++m)
    if (m != final_model) pool.push_back(m);
  std::sort(pool.begin(), pool.end(),
            [&](std::size_t a, std::size_t b) { return total_cost[a] < total_cost[b]; });
  const auto pool_size = static_cast<std::size_t>(spec_number(ctx, "probe_pool", 6));
  if (pool.size() > pool_size) pool.resize(pool_size);
  if (pool.size() < 2) return fail("needs at least three models");
  std::vector<std::vector<std::size_t>> sets;
  for (std::size_t a = 0; a < pool.size(); ++a)
    for (std::size_t b = a + 1; b < pool.size(); ++b) {
      sets.push_back({pool[a], pool[b]});
      for (std::size_t c = b + 1; c < pool.size(); ++c) sets.push_back({pool[a], pool[b], pool[c]});
    }
  const double unit = total_cost[final_model] > 0 ? total_cost[final_model] : 1;

  double best_area = -1;
  std::vector<std::size_t> best_set;
  std::set<double> best_levels;
  for (std::size_t s = 0; s < sets.size(); ++s) {
    report_progress(ctx, "cascade: probe sets", s, sets.size());
    const auto& set = sets[s];
    std::vector<double> conf(rows.size());
    std::vector<double> answer_score(rows.size()), probe_cost(rows.size());
    std::set<double> levels;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::vector<JudgeAnswer> answers;
      for (std::size_t m : set)
        answers.push_back({models[m], *rows[i].response[m], {}, std::nullopt, "stop"});
      const Verdict v = (*judge)->judge(JudgeInput{*rows[i].prompt, answers});
      conf[i] = v.available ? v.confidence : 0;
      // The tier's answer: the first whose extracted form is the majority's.
      std::size_t pick = 0;
      if (v.extracted.size() == set.size()) {
        std::map<std::string, int> count;
        for (const auto& e : v.extracted)
          if (!e.empty()) ++count[e];
        for (std::size_t k = 1; k < set.size(); ++k)
          if (!v.extracted[k].empty() && count[v.extracted[k]] > count[v.extracted[pick]]) pick = k;
      }
      answer_score[i] = rows[i].score[set[pick]];
      probe_cost[i] = 0;
      for (std::size_t m : set) probe_cost[i] += rows[i].cost[m];
      levels.insert(conf[i]);
    }
    std::vector<double> thresholds(levels.begin(), levels.end());
    thresholds.push_back(thresholds.back() + 1e-9);  // above every confidence: always escalate
    std::vector<Pt> pts;
    for (double t : thresholds) {
      double cost = 0, q = 0;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        cost += probe_cost[i];
        if (conf[i] >= t) {
          q += answer_score[i];
        } else {
          cost += rows[i].cost[final_model];
          q += rows[i].score[final_model];
        }
      }
      pts.push_back({cost / unit, q / static_cast<double>(rows.size())});
    }
    const double area = hull_area(pts);
    if (area > best_area) {
      best_area = area;
      best_set = set;
      best_levels = levels;
    }
  }
  report_progress(ctx, "cascade: probe sets", sets.size(), sets.size());
  YAML::Node spec;
  spec["type"] = "cascade";
  YAML::Node first;
  for (std::size_t m : best_set) first["models"].push_back(models[m]);
  first["judge"] = judge_spec;
  first["threshold"] = *best_levels.rbegin();
  YAML::Node last;
  last["model"] = models[final_model];
  spec["tiers"].push_back(first);
  spec["tiers"].push_back(last);
  for (const char* key : {"max_calls", "max_cost", "deadline_ms"})
    if (ctx.base_spec && ctx.base_spec.IsMap() && ctx.base_spec[key])
      spec[key] = YAML::Clone(ctx.base_spec[key]);
  out.spec = spec;
  // Every distinct confidence is a cut; 0 never escalates, above the top always escalates.
  out.sweep.values.assign(best_levels.begin(), best_levels.end());
  out.sweep.values.push_back(*best_levels.rbegin() + 1e-6);
  return out;
}

const TrainerRegistrar kRegisterCascadeTrainer("cascade", train_cascade);

}  // namespace
}  // namespace switchboard::policies
