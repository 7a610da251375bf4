#include "cli/batch_assign.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "data/outcomes.h"
#include "pipeline/runtime.h"
#include "policies/assignment.h"
#include "policies/model_dir.h"
#include "policies/route_input.h"
#include "replay/replay_core.h"

namespace switchboard::cli {
namespace {

using nlohmann::json;

int fail(int code, const std::string& message) {
  fmt::print(stderr, "switchboard batch: {}\n", message);
  return code;
}

// One prompt line: a recorded-outcomes record, or a Batch-API-like line.
Result<data::PromptRecord> parse_prompt_line(const std::string& line, const std::string& where) {
  auto j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorKind::kBadRequest, "bad_input", where + ": not a JSON object");
  if (j.contains("outcomes")) return data::parse_outcome_line(line, where);
  data::PromptRecord r;
  if (j.contains("custom_id") && j["custom_id"].is_string())
    r.id = j["custom_id"].get<std::string>();
  else if (j.contains("id") && j["id"].is_string())
    r.id = j["id"].get<std::string>();
  else
    return make_error(ErrorKind::kBadRequest, "bad_input",
                      where + ": needs a string custom_id or id");
  const json* messages = nullptr;
  if (j.contains("body") && j["body"].is_object() && j["body"].contains("messages"))
    messages = &j["body"]["messages"];
  else if (j.contains("messages"))
    messages = &j["messages"];
  if (messages) {
    if (!messages->is_array() || messages->empty())
      return make_error(ErrorKind::kBadRequest, "bad_input",
                        where + ": messages must be a non-empty array");
    for (const auto& m : *messages) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() ||
          !m.contains("content") || !m["content"].is_string())
        return make_error(ErrorKind::kBadRequest, "bad_input",
                          where + ": each message needs a string role and string content");
      r.messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
  } else if (j.contains("prompt") && j["prompt"].is_string()) {
    r.messages.push_back({"user", j["prompt"].get<std::string>()});
  } else {
    return make_error(ErrorKind::kBadRequest, "bad_input",
                      where + ": needs prompt, messages or body.messages");
  }
  if (j.contains("task") && j["task"].is_string()) r.task = j["task"].get<std::string>();
  return r;
}

Result<std::vector<data::PromptRecord>> read_prompts(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::kBadRequest, "bad_input", path + ": cannot open");
  std::vector<data::PromptRecord> out;
  std::map<std::string, std::size_t> ids;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto r = parse_prompt_line(line, path + ":" + std::to_string(n));
    if (!r) return r.error();
    if (!ids.emplace(r->id, n).second)
      return make_error(ErrorKind::kBadRequest, "bad_input",
                        path + ":" + std::to_string(n) + ": id '" + r->id + "' repeats");
    out.push_back(std::move(*r));
  }
  if (out.empty()) return make_error(ErrorKind::kBadRequest, "bad_input", path + ": no prompts");
  return out;
}

// A gateway config for --policy/--model-dir: the manifest's models (placeholder replicas: nothing
// is called) and one route `batch`.
Result<std::shared_ptr<const config::Config>> policy_config(const BatchAssignOptions& o) {
  auto manifest = policies::load_manifest(o.model_dir, o.policy);
  if (!manifest) return manifest.error();
  json cfg = {{"models", json::array()}, {"routes", json::array()}};
  for (const auto& m : manifest->models) {
    json replica = json::object();
    replica["url"] = "http://127.0.0.1:9";
    json model = json::object();
    model["name"] = m;
    model["replicas"] = json::array();
    model["replicas"].push_back(std::move(replica));
    cfg["models"].push_back(std::move(model));
  }
  cfg["routes"].push_back(
      {{"name", "batch"}, {"policy", {{"type", o.policy}, {"model_dir", o.model_dir}}}});
  return config::parse_config(cfg.dump(), "batch --policy " + o.policy);
}

// One file name per model: its name with characters other than letters, digits, '-', '.' and '_'
// made '_', plus ".jsonl" — and, when two models' names come out the same that way (`m/a` and
// `m_a`), the hash of each one's own name before the extension, so that no file holds two models.
std::vector<std::string> file_names(const std::vector<std::string>& models) {
  std::vector<std::string> base;
  std::map<std::string, int> uses;
  for (std::string m : models) {
    for (char& c : m)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
        c = '_';
    ++uses[m];
    base.push_back(std::move(m));
  }
  for (std::size_t j = 0; j < models.size(); ++j)
    base[j] += (uses[base[j]] > 1 ? "-" + replay::prompt_hash(models[j]) : "") + ".jsonl";
  return base;
}

}  // namespace

int run_batch_assign(const BatchAssignOptions& o) {
  std::shared_ptr<const config::Config> cfg;
  std::string route = o.route;
  if (!o.config.empty()) {
    if (!o.policy.empty() || !o.model_dir.empty())
      return fail(2, "give either --config (with --route) or --policy with --model-dir");
    auto c = config::load_config(o.config);
    if (!c) return fail(2, c.error().message);
    cfg = *c;
    if (route.empty()) {
      if (cfg->routes.empty()) return fail(2, o.config + " has no routes");
      route = cfg->routes.front().name;
    }
    if (!cfg->find_route(route)) return fail(2, "no route '" + route + "' in " + o.config);
  } else {
    if (o.policy.empty() || o.model_dir.empty())
      return fail(2, "--in needs --policy and --model-dir (or --config and --route)");
    auto c = policy_config(o);
    if (!c) return fail(2, c.error().message);
    cfg = *c;
    route = "batch";
  }
  auto runtime = pipeline::build_runtime(cfg);
  if (!runtime) return fail(2, runtime.error().message);
  auto prompts = read_prompts(o.in);
  if (!prompts) return fail(1, prompts.error().message);

  // Every prompt's predictions from the route's policy (λ = 0: the utilities are not used).
  std::vector<std::string> models;
  policies::AssignmentProblem p;
  p.prompts = prompts->size();
  for (std::size_t i = 0; i < prompts->size(); ++i) {
    const auto& rec = (*prompts)[i];
    auto chat = policies::chat_request_for(rec, route);
    if (!chat) return fail(1, "prompt '" + rec.id + "': " + chat.error().message);
    const Signals sig = (*runtime)->signals_for(*chat);
    RouteRequest rr = pipeline::route_request(*chat, 0.0);
    auto d = (*runtime)->decide(route, rr, sig);
    if (!d) return fail(1, "prompt '" + rec.id + "': " + d.error().message);
    if (models.empty()) {
      for (const auto& c : d->candidates) models.push_back(c.model);
      if (models.empty())
        return fail(2, "route '" + route + "''s policy (" + d->policy +
                           ") predicts nothing: use a learned policy (knn, classifier, mf, blend)");
      p.models = models.size();
    }
    if (d->candidates.size() != models.size())
      return fail(1, "prompt '" + rec.id + "': candidates changed");
    for (std::size_t j = 0; j < models.size(); ++j) {
      const auto& c = d->candidates[j];
      if (c.model != models[j] || c.predicted_quality < 0 || c.predicted_cost < 0)
        return fail(2, "route '" + route + "''s policy does not predict quality and cost for '" +
                           c.model + "'");
      // A model the prompt does not fit (context window) is never chosen.
      p.quality.push_back(c.eligible ? c.predicted_quality : -1e6);
      p.cost.push_back(c.predicted_cost);
    }
  }
  p.capacity.assign(models.size(), -1);
  for (const auto& spec : o.capacity) {
    const auto eq = spec.rfind('=');
    if (eq == std::string::npos) return fail(2, "--capacity wants MODEL=N, got '" + spec + "'");
    const std::string name = spec.substr(0, eq);
    auto it = std::find(models.begin(), models.end(), name);
    if (it == models.end()) return fail(2, "--capacity names unknown model '" + name + "'");
    try {
      std::size_t used = 0;
      const long long n = std::stoll(spec.substr(eq + 1), &used);
      if (used != spec.size() - eq - 1 || n < 0) throw std::invalid_argument("");
      p.capacity[static_cast<std::size_t>(it - models.begin())] = n;
    } catch (const std::exception&) {
      return fail(2, "--capacity wants MODEL=N with N >= 0, got '" + spec + "'");
    }
  }
  if (o.budget >= 0) p.budget = o.budget;
  auto solved = policies::solve_assignment(p);
  if (!solved) return fail(1, solved.error().message);
  const auto& r = *solved;

  const double n = static_cast<double>(p.prompts);
  json summary = {{"prompts", p.prompts},
                  {"route", route},
                  {"budget_usd", o.budget >= 0 ? json(o.budget) : json(nullptr)},
                  {"within_budget", r.within_budget},
                  {"predicted_cost_usd", r.cost},
                  {"predicted_quality_mean", r.quality / n},
                  // No assignment meets the budget: there is no optimum to bound (the bound
                  // is then of the budget's multiplier at its cap, a meaningless -1e118).
                  {"upper_bound_mean", r.within_budget ? json(r.upper_bound / n) : json(nullptr)},
                  {"optimality_gap_mean", r.within_budget ? json(r.gap() / n) : json(nullptr)},
                  {"lambda", r.lambda},
                  {"solves", r.solves},
                  {"exchanges", r.exchanges}};
  // Realised figures when every prompt has a recorded outcome for its model.
  double score = 0, cost = 0;
  bool recorded = true;
  std::vector<std::vector<std::size_t>> by_model(models.size());
  for (std::size_t i = 0; i < p.prompts; ++i) {
    const auto j = static_cast<std::size_t>(r.model[i]);
    by_model[j].push_back(i);
    const auto& outs = (*prompts)[i].outcomes;
    auto it = outs.find(models[j]);
    if (it == outs.end()) {
      recorded = false;
      continue;
    }
    score += it->second.score;
    cost += it->second.cost;
  }
  if (recorded) summary["recorded"] = {{"mean_score", score / n}, {"cost_usd", cost}};
  json per_model = json::object();
  if (!o.out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    if (ec || !std::filesystem::is_directory(o.out))
      return fail(1, "--out " + o.out + ": not a directory the batch files can be written to" +
                         (ec ? " (" + ec.message() + ")" : ""));
  }
  const std::vector<std::string> files = file_names(models);
  for (std::size_t j = 0; j < models.size(); ++j) {
    double pc = 0;
    for (auto i : by_model[j]) pc += p.cost[i * p.models + j];
    json entry = {{"prompts", by_model[j].size()}, {"predicted_cost_usd", pc}};
    if (p.capacity[j] >= 0) entry["capacity"] = p.capacity[j];
    if (!o.out.empty() && !by_model[j].empty()) {
      const auto path = (std::filesystem::path(o.out) / files[j]).string();
      std::ofstream f(path, std::ios::trunc);
      if (!f) return fail(1, "cannot write " + path);
      const auto* mc = cfg->find_model(models[j]);
      std::string upstream = models[j];
      if (mc && !mc->replicas.empty() && !mc->replicas.front().upstream_model.empty())
        upstream = mc->replicas.front().upstream_model;
      for (auto i : by_model[j]) {
        const auto& rec = (*prompts)[i];
        json messages = json::array();
        for (const auto& m : rec.messages)
          messages.push_back({{"role", m.role}, {"content", m.content}});
        json line = {{"custom_id", rec.id},
                     {"method", "POST"},
                     {"url", "/v1/chat/completions"},
                     {"body", {{"model", upstream}, {"messages", std::move(messages)}}}};
        f << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
      }
      if (!f) return fail(1, "cannot write " + path);
      entry["file"] = path;
    }
    per_model[models[j]] = std::move(entry);
  }
  summary["models"] = std::move(per_model);
  fmt::print("{}\n", summary.dump(2, ' ', false, json::error_handler_t::replace));
  return 0;
}

}  // namespace switchboard::cli
