// `switchboard eval`: the offline evaluator (eval/evaluator.h), and `switchboard route`: the
// decision a configured route would make for a prompt, explained, without forwarding anything.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>

#include "api/route_input.h"
#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/number_checks.h"
#include "config/config.h"
#include "data/outcomes.h"
#include "eval/evaluator.h"
#include "eval/explain.h"
#include "eval/offline_runner.h"
#include "eval/online.h"
#include "eval/report.h"
#include "eval/sessions.h"
#include "pipeline/embedding_blocking.h"
#include "pipeline/runtime.h"

namespace switchboard::cli {
namespace {

struct EvalCliOptions {
  std::string train, test;
  std::vector<std::string> policies;
  std::string policy_config;
  std::string strong, weak;
  std::string json_out, plot_out, report_out;
  std::string artifacts;  // empty: a temporary directory
  std::uint64_t seed = 1;
  bool quiet = false;
  // --online (eval/online.h)
  bool online = false;
  std::string drift;
  std::optional<std::string> reference;  // --online; "classifier" when not given
  std::optional<double> lambda;          // --online, --sessions; 20 when not given
  std::size_t warmup = 0;
  // --sessions (eval/sessions.h)
  std::size_t sessions = 0;  // turns per session; 0 = not asked
  std::vector<std::string> margins;
};

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) {
    fmt::print(stderr, "switchboard eval: cannot write {}\n", path);
    return false;
  }
  return true;
}

// A one-line bar on stderr, redrawn in place; only on a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void update(std::size_t done, std::size_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (percent == last_) return;
    last_ = percent;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    fmt::print(stderr, "\r  routing [{}{}] {:3d}%  {}/{} decisions", std::string(filled, '#'),
               std::string(kWidth - filled, '.'), percent, done, total);
    if (done == total) fmt::print(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  int last_ = -1;
};

int run_online(const EvalCliOptions& o, const data::Outcomes& train, const data::Outcomes& test,
               ProgressBar& bar) {
  eval::OnlineOptions options;
  options.policies = o.policies;
  options.policy_config = o.policy_config;
  options.reference = o.reference.value_or("classifier");
  options.lambda = o.lambda.value_or(20);
  options.seed = o.seed;
  options.warmup = o.warmup;
  if (!o.report_out.empty() || !o.strong.empty() || !o.weak.empty()) {
    fmt::print(stderr,
               "switchboard eval: --report, --strong and --weak go with the frontier "
               "evaluation, not --online (--json and --plot do)\n");
    return 2;
  }
  options.artifacts_dir = o.artifacts;
  options.progress = [&bar](std::size_t done, std::size_t total) { bar.update(done, total); };
  if (!o.drift.empty()) {
    auto d = eval::parse_drift(o.drift);
    if (!d) {
      fmt::print(stderr, "switchboard eval: {}\n", d.error().message);
      return 2;
    }
    options.drift = *d;
  }
  auto result = eval::evaluate_online(train, test, options);
  if (!result) {
    fmt::print(stderr, "switchboard eval: {}\n", result.error().message);
    return 1;
  }
  if (!o.quiet) fmt::print("{}", eval::online_to_table(*result));
  bool ok = true;
  if (!o.json_out.empty())
    ok &= write_file(o.json_out, json_text(eval::online_to_json(*result)) + "\n");
  if (!o.plot_out.empty()) ok &= write_file(o.plot_out, eval::online_to_svg(*result));
  return ok ? 0 : 1;
}

int run_sessions(const EvalCliOptions& o, const data::Outcomes& train, const data::Outcomes& test,
                 ProgressBar& bar) {
  eval::SessionReplayOptions options;
  if (o.policies.size() > 1) {
    fmt::print(stderr, "switchboard eval: --sessions evaluates one --policy at a time\n");
    return 2;
  }
  if (!o.policies.empty()) options.policy = o.policies[0];
  options.policy_config = o.policy_config;
  if (!o.plot_out.empty() || !o.report_out.empty() || o.reference || !o.drift.empty() ||
      o.warmup > 0 || !o.strong.empty() || !o.weak.empty()) {
    fmt::print(stderr,
               "switchboard eval: --plot, --report, --reference, --drift, --warmup, "
               "--strong and --weak do not go with --sessions (its outputs: the table and "
               "--json)\n");
    return 2;
  }
  options.turns = o.sessions;
  if (!o.margins.empty()) options.margins = o.margins;
  options.lambda = o.lambda.value_or(20);
  options.seed = o.seed;
  options.artifacts_dir = o.artifacts;
  options.progress = [&bar](std::size_t done, std::size_t total) { bar.update(done, total); };
  auto result = eval::evaluate_sessions(train, test, options);
  if (!result) {
    fmt::print(stderr, "switchboard eval: {}\n", result.error().message);
    return 1;
  }
  if (!o.quiet) fmt::print("{}", eval::sessions_to_table(*result));
  if (!o.json_out.empty() &&
      !write_file(o.json_out, json_text(eval::sessions_to_json(*result)) + "\n"))
    return 1;
  return 0;
}

int run_eval(const EvalCliOptions& o) {
  const bool tty = isatty(STDERR_FILENO);
  if (tty) fmt::print(stderr, "  loading {} and {}\n", o.train, o.test);
  auto train = data::read_outcomes_jsonl(o.train);
  if (!train) {
    fmt::print(stderr, "switchboard eval: {}\n", train.error().message);
    return 1;
  }
  auto test = data::read_outcomes_jsonl(o.test);
  if (!test) {
    fmt::print(stderr, "switchboard eval: {}\n", test.error().message);
    return 1;
  }
  ProgressBar bar(tty);
  if (o.online && o.sessions > 0) {
    fmt::print(stderr, "switchboard eval: --online and --sessions are separate replays\n");
    return 2;
  }
  if (o.sessions > 0) return run_sessions(o, *train, *test, bar);
  if (!o.margins.empty()) {
    fmt::print(stderr, "switchboard eval: --margins goes with --sessions\n");
    return 2;
  }
  if (o.online) return run_online(o, *train, *test, bar);
  if (!o.drift.empty() || o.warmup > 0 || o.reference) {
    fmt::print(stderr, "switchboard eval: --drift, --warmup and --reference go with --online\n");
    return 2;
  }
  if (o.lambda) {  // the frontier sweeps λ itself
    fmt::print(stderr,
               "switchboard eval: --lambda goes with --online or --sessions (the frontier "
               "evaluation sweeps λ)\n");
    return 2;
  }
  eval::EvalOptions options;
  options.policies = o.policies;
  options.policy_config = o.policy_config;
  if (!o.strong.empty()) options.strong = o.strong;
  if (!o.weak.empty()) options.weak = o.weak;
  options.artifacts_dir = o.artifacts;
  options.seed = o.seed;
  options.progress = [&bar](std::size_t done, std::size_t total) { bar.update(done, total); };
  auto result = eval::evaluate(*train, *test, options);
  if (!result) {
    fmt::print(stderr, "switchboard eval: {}\n", result.error().message);
    return 1;
  }
  result->train_path = o.train;
  result->test_path = o.test;
  if (!o.quiet) fmt::print("{}", eval::to_table(*result));
  bool ok = true;
  if (!o.json_out.empty()) ok &= write_file(o.json_out, json_text(eval::to_json(*result)) + "\n");
  if (!o.plot_out.empty()) ok &= write_file(o.plot_out, eval::to_svg(*result));
  if (!o.report_out.empty()) ok &= write_file(o.report_out, eval::to_markdown(*result));
  return ok ? 0 : 1;
}

const CommandRegistrar kEval(
    "eval", "Measure routing policies' quality-cost frontier on recorded outcomes",
    [](CLI::App& app) {
      auto o = std::make_shared<EvalCliOptions>();
      app.add_option("--train", o->train, "Recorded outcomes to train on (JSONL)")->required();
      app.add_option("--test", o->test, "Recorded outcomes to evaluate on (JSONL)")->required();
      app.add_option("--policy", o->policies,
                     "Policies to evaluate: labels from --policy-config, or policy types")
          ->delimiter(',');
      app.add_option("--policy-config", o->policy_config,
                     "YAML: a mapping of label to policy spec, or a gateway config (its routes)");
      app.add_option("--strong", o->strong, "Strong model, for APGR and CPT");
      app.add_option("--weak", o->weak, "Weak model, for APGR and CPT");
      app.add_option("--json", o->json_out, "Write every point and metric as JSON");
      app.add_option("--plot", o->plot_out, "Write an SVG plot of the frontiers");
      app.add_option("--report", o->report_out, "Write a Markdown report");
      app.add_option(
          "--artifacts", o->artifacts,
          "Keep the trained policies' files in this directory (default: a temporary one, removed)");
      app.add_option("--seed", o->seed, "Seed for anything random")
          ->capture_default_str()
          ->check(whole_number());
      app.add_flag("--quiet", o->quiet, "Do not print the table");
      app.add_flag("--online", o->online,
                   "Replay TEST as a stream, feeding each decision its recorded outcome (learning "
                   "policies: bandit, elo)");
      app.add_option("--drift", o->drift,
                     "--online: MODEL:AFTER:FACTOR multiplies MODEL's recorded scores by FACTOR "
                     "after AFTER TEST prompts");
      app.add_option("--reference", o->reference,
                     "--online: the offline policy to compare with (default: classifier)");
      app.add_option(
             "--lambda", o->lambda,
             "--online, --sessions: λ (quality points per USD) of every policy (default: 20)")
          ->check(finite_number(false));
      app.add_option("--sessions", o->sessions,
                     "Replay TEST as conversations of this many turns (per task, seeded) with and "
                     "without session stickiness; reports model switches per session "
                     "(docs/sessions.md)")
          ->check(whole_number());
      app.add_option("--margins", o->margins,
                     "--sessions: switch margins to compare (off, a number, always)")
          ->delimiter(',');
      app.add_option("--warmup", o->warmup,
                     "--online: TRAIN prompts streamed as feedback before TEST")
          ->capture_default_str()
          ->check(whole_number());
      return [o] { return run_eval(*o); };
    });

struct RouteCliOptions {
  std::string config;
  std::string route;
  std::string prompt;
  std::optional<double> lambda;
  bool json = false;
};

// The gateway's own stages up to decide, offline (POST /v1/route without a server): parse, guard,
// cache lookup-free signals and decide run exactly as they would for this prompt.
int run_route(const RouteCliOptions& o) {
  auto config = config::load_config(o.config);
  if (!config) {
    fmt::print(stderr, "switchboard route: {}\n", config.error().message);
    return 2;
  }
  auto runtime = pipeline::build_runtime(*config);
  if (!runtime) {
    fmt::print(stderr, "switchboard route: {}\n", runtime.error().message);
    return 2;
  }
  const auto& cfg = **config;
  if (cfg.routes.empty()) {
    fmt::print(stderr, "switchboard route: {} defines no routes\n", o.config);
    return 2;
  }
  const std::string route_name = o.route.empty() ? cfg.routes.front().name : o.route;
  const std::string body = nlohmann::json{{"model", route_name},
                                          {"messages", {{{"role", "user"}, {"content", o.prompt}}}}}
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string lambda = o.lambda ? fmt::format("{}", *o.lambda) : "";
  pipeline::RequestHeaders headers;
  if (o.lambda) headers.items.emplace_back("x-switchboard-lambda", lambda);
  eval::OfflineRunner runner(**runtime);
  const eval::OfflineResult r = runner.explain(body, headers);
  if (const auto& e = runner.embedding_error()) {
    fmt::print(stderr, "switchboard route: {}\n", e->message);
    return 1;
  }
  if (!r.explanation) {
    const Error e =
        r.error ? *r.error
                : make_error(ErrorKind::kInternal, "internal_error", "no decision was made");
    if (e.kind == ErrorKind::kNotFound) {
      std::string names;
      for (const auto& route : cfg.routes) names += (names.empty() ? "" : ", ") + route.name;
      fmt::print(stderr, "switchboard route: no route or model '{}' in {} (routes: {})\n",
                 route_name, o.config, names);
      return 2;
    }
    fmt::print(stderr, "switchboard route: no decision: {}\n", e.message);
    return 1;
  }
  if (o.json)
    fmt::print("{}\n", json_text(*r.explanation));
  else {
    Decision decision = *r.decision;
    decision.reason = r.explanation->value("reason", decision.reason);
    fmt::print("{}", eval::explain_decision_text(decision, route_name, o.lambda, r.signals));
  }
  return 0;
}

const CommandRegistrar kRoute(
    "route", "Show which model a configured route would choose for a prompt (nothing is sent)",
    [](CLI::App& app) {
      auto o = std::make_shared<RouteCliOptions>();
      app.add_option("--config", o->config, "Gateway configuration (YAML)")->required();
      app.add_option("--route", o->route, "Route (or model) to ask; default: the first route");
      app.add_option("--lambda", o->lambda,
                     "Willingness to pay, quality points per USD (overrides the policy's)");
      app.add_flag("--json", o->json, "Print the explanation as JSON");
      app.add_option("prompt", o->prompt, "The prompt text (one user message)")->required();
      return [o] { return run_route(*o); };
    });

}  // namespace
}  // namespace switchboard::cli
