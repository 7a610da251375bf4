#include "eval/sessions.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <random>

#include "eval/curves.h"
#include "eval/offline_runner.h"
#include "eval/policy_plan.h"
#include "eval/seeded_order.h"
#include "pipeline/runtime.h"
#include "pipeline/session/session_table.h"
#include "policies/route_input.h"

namespace switchboard::eval {
namespace {

Error bad(std::string message) {
  return make_error(ErrorKind::kBadRequest, "bad_eval", std::move(message));
}

// A margin setting: off (no stickiness), a number, or always (an infinite margin).
struct Setting {
  std::string label;
  bool sticky = true;
  double margin = 0;
};

Result<Setting> parse_margin(const std::string& text) {
  if (text == "off") return Setting{text, false, 0};
  if (text == "always") return Setting{text, true, std::numeric_limits<double>::infinity()};
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0) || !std::isfinite(v))
    return bad("--margins: '" + text + "' is not off, always or a number >= 0");
  return Setting{text, true, v};
}

// One prompt's decision: the policy's choice and its candidates.
struct Decided {
  std::size_t record = 0;
  std::string chosen;
  std::vector<Candidate> candidates;
};

}  // namespace

Result<SessionReplayResult> evaluate_sessions(const data::Outcomes& train,
                                              const data::Outcomes& test_outcomes,
                                              const SessionReplayOptions& options) {
  if (options.turns < 1) return bad("--sessions needs at least 1 turn per session");
  std::vector<Setting> settings;
  for (const auto& m : options.margins) {
    auto s = parse_margin(m);
    if (!s) return s.error();
    settings.push_back(*s);
  }
  if (settings.empty()) return bad("--margins is empty");
  auto test_set = TestSet::make(test_outcomes, std::nullopt);
  if (!test_set) return test_set.error();
  const TestSet& test = *test_set;

  auto configured_or = load_policy_config(options.policy_config);
  if (!configured_or) return configured_or.error();
  PolicyConfig configured = std::move(*configured_or);
  // Trained policies go to a temporary directory unless the caller keeps them.
  auto artifacts_dir = ArtifactsDir::make(options.artifacts_dir, "switchboard-sessions");
  if (!artifacts_dir) return artifacts_dir.error();
  const std::string& artifacts = (*artifacts_dir)->path();
  EvalOptions eo;
  eo.seed = options.seed;
  if (test.model_index(options.policy))
    return bad("policy label '" + options.policy + "' is also a model's name");
  std::optional<SpecSource> given;
  for (const auto& [l, src] : configured.specs)
    if (l == options.policy) given = src;
  auto plan =
      plan_policy(options.policy, given, train, test.models, eo, artifacts, configured.signals);
  if (!plan) return plan.error();
  plan->routes.clear();
  std::vector<PolicyPlan> plans{*plan};
  auto cfg = make_config(plans, test.models, configured.signals);
  auto runtime = pipeline::build_runtime(cfg);
  if (!runtime) return runtime.error();
  const std::string& route = plans[0].routes.at(0);

  // Every TEST prompt decided once.
  OfflineRunner runner(**runtime);
  const std::string lambda_text = fmt::format("{:.17g}", options.lambda);
  pipeline::RequestHeaders headers;
  headers.items.emplace_back("x-switchboard-lambda", lambda_text);
  std::vector<Decided> decided(test.records.size());
  for (std::size_t i = 0; i < test.records.size(); ++i) {
    const data::PromptRecord& rec = *test.records[i];
    auto body = policies::chat_body_for(rec, route);
    if (!body) return bad("prompt '" + rec.id + "': " + body.error().message);
    OfflineResult r = runner.explain(*body, headers);
    if (auto e = runner.embedding_error()) return bad(e->message);
    if (!r.decision)
      return bad("policy '" + options.policy + "' made no decision on prompt '" + rec.id + "'" +
                 (r.error ? ": " + r.error->message : std::string()));
    if (r.decision->plan.kind != "single")
      return bad("policy '" + options.policy + "' returned a " + r.decision->plan.kind +
                 " plan; sessions keep single-call plans only");
    if (!test.model_index(r.decision->plan.model))
      return bad("policy '" + options.policy + "' chose '" + r.decision->plan.model +
                 "', which has no recorded outcome");
    decided[i] = {i, r.decision->plan.model, r.decision->candidates};
    if (options.progress && (i + 1) % 64 == 0) options.progress(i + 1, test.records.size());
  }
  if (options.progress) options.progress(test.records.size(), test.records.size());

  // Conversations: per task, a seeded order, cut into groups of `turns`.
  std::map<std::string, std::vector<std::size_t>> by_task;
  for (std::size_t i = 0; i < test.records.size(); ++i) by_task[test.records[i]->task].push_back(i);
  std::vector<std::vector<std::size_t>> sessions;
  std::uint64_t salt = 0;
  for (const auto& [task, idx] : by_task) {
    auto order = seeded_order(idx.size(), options.seed * 1000003 + salt++);
    for (std::size_t k = 0; k < order.size(); k += options.turns) {
      std::vector<std::size_t> s;
      for (std::size_t j = k; j < std::min(order.size(), k + options.turns); ++j)
        s.push_back(idx[order[j]]);
      sessions.push_back(std::move(s));
    }
  }

  SessionReplayResult result;
  result.policy = plan->label;
  result.type = plan->type;
  result.prompts = test.records.size();
  result.sessions = sessions.size();
  result.turns = options.turns;
  result.lambda = options.lambda;
  result.seed = options.seed;
  for (const auto& st : settings) {
    SessionReplayRow row;
    row.margin = st.label;
    std::size_t switches = 0, multi = 0, with_switch = 0, kept = 0, n = 0;
    double score = 0, cost = 0;
    for (const auto& s : sessions) {
      std::string model;
      bool switched_here = false;
      for (std::size_t t = 0; t < s.size(); ++t) {
        const Decided& d = decided[s[t]];
        std::string serve = d.chosen;
        if (t > 0 && st.sticky && serve != model) {
          auto v = pipeline::session::stickiness(d.candidates, d.chosen, model, st.margin);
          if (v.stay) {
            serve = model;
            ++kept;
          }
        }
        if (t > 0 && serve != model) {
          ++switches;
          switched_here = true;
        }
        model = serve;
        const std::size_t m = *test.model_index(serve);
        score += test.score(s[t], m);
        cost += test.cost(s[t], m);
        ++n;
      }
      if (s.size() > 1) {
        ++multi;
        if (switched_here) ++with_switch;
      }
    }
    row.switches_per_session = static_cast<double>(switches) / static_cast<double>(sessions.size());
    row.sessions_with_switch = multi ? static_cast<double>(with_switch) / multi : 0;
    row.kept_share = static_cast<double>(kept) / static_cast<double>(n);
    row.quality = score / static_cast<double>(n);
    row.cost = cost;
    row.utility = (score - options.lambda * cost) / static_cast<double>(n);
    result.rows.push_back(row);
  }
  return result;
}

std::string sessions_to_table(const SessionReplayResult& r) {
  std::string out = fmt::format(
      "Sessions: policy {} ({}), {} TEST prompts in {} sessions of up to {} turns (per task, "
      "seed {}), λ = {}\n\n",
      r.policy, r.type, r.prompts, r.sessions, r.turns, r.seed, r.lambda);
  out += fmt::format("{:<8} {:>10} {:>12} {:>8} {:>8} {:>9} {:>8}\n", "margin", "switches/s",
                     "sessions≥1sw", "kept", "quality", "cost $", "utility");
  for (const auto& row : r.rows)
    out += fmt::format("{:<8} {:>10.3f} {:>11.1f}% {:>7.1f}% {:>8.4f} {:>9.4f} {:>8.4f}\n",
                       row.margin, row.switches_per_session, 100 * row.sessions_with_switch,
                       100 * row.kept_share, row.quality, row.cost, row.utility);
  return out;
}

nlohmann::json sessions_to_json(const SessionReplayResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows)
    rows.push_back({{"margin", row.margin},
                    {"switches_per_session", row.switches_per_session},
                    {"sessions_with_switch", row.sessions_with_switch},
                    {"kept_share", row.kept_share},
                    {"quality", row.quality},
                    {"cost_usd", row.cost},
                    {"utility", row.utility}});
  return {{"policy", r.policy},     {"type", r.type},   {"prompts", r.prompts},
          {"sessions", r.sessions}, {"turns", r.turns}, {"lambda", r.lambda},
          {"seed", r.seed},         {"rows", rows}};
}

}  // namespace switchboard::eval
