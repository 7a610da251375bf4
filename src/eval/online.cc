#include "eval/online.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <random>

#include "eval/curves.h"
#include "eval/offline_runner.h"
#include "eval/policy_plan.h"
#include "eval/seeded_order.h"
#include "pipeline/runtime.h"
#include "policies/route_input.h"
#include "replay/recorded_upstream.h"
#include "switchboard/learning.h"

namespace switchboard::eval {
namespace {

Error bad(std::string message) {
  return make_error(ErrorKind::kBadRequest, "bad_eval", std::move(message));
}

// One prompt of the stream.
struct Item {
  const TestSet* set;
  std::size_t record;
  bool measured;         // a TEST prompt (warm-up prompts only give feedback)
  std::size_t test_pos;  // position among the TEST prompts
};

struct Stream {
  std::vector<Item> items;
  std::size_t test_count = 0;
};

// What one policy did on the TEST part of the stream: model index and utility per TEST prompt.
struct Trace {
  std::vector<std::size_t> model;
  std::vector<double> utility, score, cost;
  std::vector<std::uint64_t> events_before;  // feedback events the policy had seen
  nlohmann::json state;
};

struct Runner {
  const OnlineOptions& options;
  const Stream& stream;
  const std::vector<std::string>& models;
  std::optional<std::size_t> drift_model;
  // The --policy-config's `signals:` section: every route computes its own signals as the gateway
  // would (a task classifier, an embedding provider), as the offline evaluator does.
  const config::SignalsConfig& signals;
  std::function<void(std::size_t)> tick;

  double score_of(const Item& it, std::size_t m) const {
    double s = it.set->score(it.record, m);
    if (drift_model && m == *drift_model && it.measured && it.test_pos >= options.drift->after)
      s *= options.drift->factor;
    return s;
  }

  Result<Trace> run(const PolicyPlan& plan_in, bool learn) const {
    PolicyPlan plan = plan_in;
    plan.routes.clear();
    std::vector<PolicyPlan> plans{plan};
    auto cfg = make_config(plans, models, signals);
    auto runtime = pipeline::build_runtime(cfg);
    if (!runtime) return runtime.error();
    const std::string& route = plans[0].routes.at(0);
    const auto* rr = (*runtime)->find_route(route);
    if (!rr) return bad("route '" + route + "' was not built");
    LearningPolicy* learner = dynamic_cast<LearningPolicy*>(rr->policy.get());
    if (learn && !learner)
      return bad("policy '" + plan.label + "' (type " + plan.type +
                 ") does not learn from feedback; --online evaluates bandit, elo and other "
                 "learning policies");
    Trace t;
    std::mt19937_64 rng(options.seed ^ 0x5851F42D4C957F2Dull);
    const std::string lambda_text = fmt::format("{:.17g}", options.lambda);  // headers hold views
    pipeline::RequestHeaders headers;
    headers.items.emplace_back("x-switchboard-lambda", lambda_text);
    // One upstream per record set (TEST and, for warm-up, TRAIN).
    std::map<const TestSet*, std::unique_ptr<replay::RecordedUpstream>> upstreams;
    std::map<const TestSet*, std::unique_ptr<OfflineRunner>> runners;
    for (const auto& it : stream.items)
      if (!upstreams.count(it.set)) {
        upstreams[it.set] = std::make_unique<replay::RecordedUpstream>(it.set->records);
        runners[it.set] = std::make_unique<OfflineRunner>(**runtime, *upstreams[it.set]);
      }
    std::size_t done = 0;
    for (const auto& it : stream.items) {
      if (!it.measured && !learn) continue;  // the reference does not need the warm-up
      const data::PromptRecord& rec = *it.set->records[it.record];
      auto body = policies::chat_body_for(rec, route);
      if (!body) return bad("prompt '" + rec.id + "': " + body.error().message);
      OfflineRunner& runner = *runners[it.set];
      OfflineResult r = runner.run(*body, headers);
      if (auto e = runner.embedding_error()) return bad(e->message);
      if (r.record.outcome != "ok")
        return bad("policy '" + plan.label + "' failed on prompt '" + rec.id + "': " +
                   (r.record.error_message.empty() ? r.record.outcome : r.record.error_message));
      auto m = it.set->model_index(r.record.model);
      if (!m)
        return bad("policy '" + plan.label + "' chose '" + r.record.model +
                   "', which has no recorded outcome");
      const double score = score_of(it, *m);
      const double cost = r.record.cost_usd;
      if (it.measured) {
        t.model.push_back(*m);
        t.score.push_back(score);
        t.cost.push_back(cost);
        t.utility.push_back(score - options.lambda * cost);
        t.events_before.push_back(learner ? learner->observations() : 0);
      }
      if (learn) {
        Feedback f;
        auto chat = policies::chat_request_for(rec, route);
        if (chat) f.prompt_text = chat->prompt_text;
        f.signals = r.signals;
        f.prompt_tokens = r.signals.prompt_tokens;
        f.model = r.record.model;
        f.score = score;
        f.cost = cost;
        f.lambda = options.lambda;
        std::size_t o = static_cast<std::size_t>(rng() % (models.size() - 1));
        if (o >= *m) ++o;
        const double other_score = score_of(it, o);
        f.other = models[o];
        f.other_cost = it.set->cost(it.record, o);
        f.outcome = score > other_score ? 1.0 : score < other_score ? 0.0 : 0.5;
        if (auto e = learner->observe(f))
          return bad("policy '" + plan.label + "': feedback on prompt '" + rec.id +
                     "': " + e->message);
      }
      if (++done % 32 == 0) tick(32);
    }
    tick(done % 32);
    if (learner) t.state = learner->summary();
    return t;
  }
};

OnlineCurve summarise(const std::string& name, const std::string& type, const std::string& kind,
                      const Trace& t, const Trace& reference, const std::vector<double>& oracle,
                      const std::vector<std::string>& models, const OnlineOptions& o,
                      std::optional<std::size_t> drift_model) {
  OnlineCurve c;
  c.name = name;
  c.type = type;
  c.kind = kind;
  c.state = t.state;
  const std::size_t n = t.utility.size();
  double regret_o = 0, regret_r = 0, sum = 0, ref_sum = 0;
  std::deque<std::pair<double, bool>> window;  // (utility, sent to the drifted model)
  double wsum = 0;
  std::size_t wdrift = 0;
  std::vector<double> share_at(n, 0);
  std::vector<std::size_t> counts(models.size(), 0);
  double after_sum = 0, ref_after_sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    regret_o += oracle[i] - t.utility[i];
    regret_r += reference.utility[i] - t.utility[i];
    sum += t.utility[i];
    ref_sum += reference.utility[i];
    c.quality += t.score[i];
    c.cost += t.cost[i];
    ++counts[t.model[i]];
    const bool to_drift = drift_model && t.model[i] == *drift_model;
    window.emplace_back(t.utility[i], to_drift);
    wsum += t.utility[i];
    wdrift += to_drift;
    if (window.size() > o.window) {
      wsum -= window.front().first;
      wdrift -= window.front().second;
      window.pop_front();
    }
    share_at[i] = static_cast<double>(wdrift) / static_cast<double>(window.size());
    if (t.events_before[i] >= 1000 && kind == "online") {
      after_sum += t.utility[i];
      ref_after_sum += reference.utility[i];
      ++c.prompts_after_1000;
    }
    const double k = static_cast<double>(i + 1);
    if (i + 1 >= o.window && ref_sum != 0) {
      const double gap = (sum / k - ref_sum / k) / std::abs(ref_sum / k);
      if (!c.worst_gap_to_reference || gap < *c.worst_gap_to_reference)
        c.worst_gap_to_reference = gap;
    }
    if ((i + 1) % o.every == 0 || i + 1 == n)
      c.points.push_back({i + 1, regret_o, regret_r, sum / k,
                          wsum / static_cast<double>(window.size()), share_at[i]});
  }
  if (n) {
    c.mean_utility = sum / static_cast<double>(n);
    c.quality /= static_cast<double>(n);
    for (std::size_t m = 0; m < models.size(); ++m)
      if (counts[m]) c.shares[models[m]] = static_cast<double>(counts[m]) / static_cast<double>(n);
  }
  if (c.prompts_after_1000) {
    c.utility_after_1000 = after_sum / static_cast<double>(c.prompts_after_1000);
    c.reference_after_1000 = ref_after_sum / static_cast<double>(c.prompts_after_1000);
  }
  if (drift_model && o.drift->after >= 1 && o.drift->after <= n) {
    const std::size_t a = o.drift->after;
    c.drift_share_before = share_at[a - 1];
    if (a + 300 <= n) {
      c.drift_share_300 = share_at[a + 300 - 1];
      if (*c.drift_share_before > 0)
        c.drift_moved_300 = 1 - *c.drift_share_300 / *c.drift_share_before;
    }
    for (std::size_t i = a; i < n; ++i)
      if (share_at[i] <= 0.2 * *c.drift_share_before) {
        c.drift_prompts_to_move_80 = i + 1 - a;
        break;
      }
  }
  return c;
}

}  // namespace

Result<Drift> parse_drift(const std::string& text) {
  const auto last = text.rfind(':');
  const auto mid =
      last == std::string::npos || last == 0 ? std::string::npos : text.rfind(':', last - 1);
  if (mid == std::string::npos || mid == 0)
    return bad("--drift '" + text + "': expected MODEL:AFTER:FACTOR");
  Drift d;
  d.model = text.substr(0, mid);
  const std::string after = text.substr(mid + 1, last - mid - 1), factor = text.substr(last + 1);
  char* end = nullptr;
  const long long a = std::strtoll(after.c_str(), &end, 10);
  if (after.empty() || *end || a < 0)
    return bad("--drift '" + text + "': AFTER must be a non-negative integer");
  const double f = std::strtod(factor.c_str(), &end);
  if (factor.empty() || *end || !(f >= 0 && f <= 1))  // scores stay in [0, 1]
    return bad("--drift '" + text + "': FACTOR must be a number in [0, 1]");
  d.after = static_cast<std::size_t>(a);
  d.factor = f;
  return d;
}

Result<OnlineResult> evaluate_online(const data::Outcomes& train,
                                     const data::Outcomes& test_outcomes,
                                     const OnlineOptions& options) {
  if (options.policies.empty()) return bad("--online needs --policy (e.g. bandit,elo)");
  if (options.window == 0 || options.every == 0) return bad("window and every must be ≥ 1");
  auto test_set = TestSet::make(test_outcomes, std::nullopt);
  if (!test_set) return test_set.error();
  const TestSet& test = *test_set;
  if (test.models.size() < 2)
    return bad("--online needs at least two models in TEST (its feedback compares the model "
               "chosen with another); the test data has " +
               std::to_string(test.models.size()));
  std::optional<TestSet> warm_set;
  if (options.warmup > 0) {
    auto w = TestSet::make(train, std::nullopt);
    if (!w) return w.error();
    if (w->models != test.models) return bad("--warmup: TRAIN and TEST have different models");
    if (options.warmup > w->records.size())
      return bad(
          fmt::format("--warmup {} is more than the {} TRAIN prompts with every model's outcome",
                      options.warmup, w->records.size()));
    warm_set = std::move(*w);
  }
  std::optional<std::size_t> drift_model;
  if (options.drift) {
    drift_model = test.model_index(options.drift->model);
    if (!drift_model)
      return bad("--drift names '" + options.drift->model +
                 "', which is not a model of the test data");
    if (options.drift->after >= test.records.size())
      return bad(fmt::format("--drift AFTER {} is not before the end of the {} TEST prompts",
                             options.drift->after, test.records.size()));
  }

  Stream stream;
  if (warm_set)
    for (std::size_t i : seeded_order(warm_set->records.size(), options.seed + 1))
      if (stream.items.size() < options.warmup) stream.items.push_back({&*warm_set, i, false, 0});
  {
    std::size_t pos = 0;
    for (std::size_t i : seeded_order(test.records.size(), options.seed))
      stream.items.push_back({&test, i, true, pos++});
    stream.test_count = pos;
  }

  // Policies and the reference, trained on TRAIN when their type has a trainer.
  auto configured_or = load_policy_config(options.policy_config);
  if (!configured_or) return configured_or.error();
  PolicyConfig configured = std::move(*configured_or);
  // Trained policies go to a temporary directory unless the caller keeps them.
  auto artifacts_dir = ArtifactsDir::make(options.artifacts_dir, "switchboard-online");
  if (!artifacts_dir) return artifacts_dir.error();
  const std::string& artifacts = (*artifacts_dir)->path();
  EvalOptions eo;
  eo.seed = options.seed;
  auto plan_for = [&](const std::string& label) -> Result<PolicyPlan> {
    if (test.model_index(label)) return bad("policy label '" + label + "' is also a model's name");
    std::optional<SpecSource> given;
    for (const auto& [l, src] : configured.specs)
      if (l == label) given = src;
    return plan_policy(label, given, train, test.models, eo, artifacts, configured.signals);
  };
  std::vector<PolicyPlan> plans;
  for (const auto& label : options.policies) {
    if (std::count(options.policies.begin(), options.policies.end(), label) > 1)
      return bad("policy '" + label + "' is named twice");
    auto p = plan_for(label);
    if (!p) return p.error();
    plans.push_back(std::move(*p));
  }
  auto ref_plan = plan_for(options.reference);
  if (!ref_plan) return ref_plan.error();

  std::size_t total = stream.items.size() * plans.size() + stream.test_count, done = 0;
  Runner runner{options,
                stream,
                test.models,
                drift_model,
                configured.signals,
                [&](std::size_t k) {
                  done += k;
                  if (options.progress) options.progress(done, total);
                }};

  auto reference = runner.run(*ref_plan, false);
  if (!reference) return reference.error();
  std::vector<double> oracle(stream.test_count);
  for (const auto& it : stream.items) {
    if (!it.measured) continue;
    double best = -1e300;
    for (std::size_t m = 0; m < test.models.size(); ++m)
      best = std::max(best, runner.score_of(it, m) - options.lambda * test.cost(it.record, m));
    oracle[it.test_pos] = best;
  }

  OnlineResult result;
  result.lambda = options.lambda;
  result.seed = options.seed;
  result.warmup = options.warmup;
  result.test_records = stream.test_count;
  result.drift = options.drift;
  result.models = test.models;
  for (const auto& plan : plans) {
    auto trace = runner.run(plan, true);
    if (!trace) return trace.error();
    result.curves.push_back(summarise(plan.label, plan.type, "online", *trace, *reference, oracle,
                                      test.models, options, drift_model));
  }
  result.curves.push_back(summarise(ref_plan->label, ref_plan->type, "reference", *reference,
                                    *reference, oracle, test.models, options, drift_model));
  // The oracle as a curve of its own (its choices: the best utility per prompt).
  Trace best;
  for (const auto& it : stream.items) {
    if (!it.measured) continue;
    std::size_t bm = 0;
    double bu = -1e300;
    for (std::size_t m = 0; m < test.models.size(); ++m) {
      const double u = runner.score_of(it, m) - options.lambda * test.cost(it.record, m);
      if (u > bu) bu = u, bm = m;
    }
    best.model.push_back(bm);
    best.utility.push_back(bu);
    best.score.push_back(runner.score_of(it, bm));
    best.cost.push_back(test.cost(it.record, bm));
    best.events_before.push_back(0);
  }
  result.curves.push_back(summarise("oracle", "", "oracle", best, *reference, oracle, test.models,
                                    options, drift_model));
  return result;
}

}  // namespace switchboard::eval
