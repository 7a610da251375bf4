// `switchboard batch`: sends recorded prompts through a gateway configuration offline — the same
// stages and executor as `serve`, on an upstream that answers from the recorded outcomes — and
// prints each request's decision record as a JSON line. What `serve` would have decided, answered
// and charged for each prompt, without a single model call (and what online/offline tests compare).
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/batch_assign.h"
#include "cli/command.h"
#include "cli/number_checks.h"
#include "config/config.h"
#include "data/outcomes.h"
#include "eval/offline_runner.h"
#include "pipeline/runtime.h"
#include "policies/route_input.h"
#include "replay/recorded_upstream.h"

namespace switchboard::cli {
namespace {

struct BatchOptions {
  std::string config, data, route, objective;
  std::optional<double> lambda;
  std::size_t limit = 0, every = 1;
  bool stream = false;
};

int run_batch(const BatchOptions& o) {
  auto config = config::load_config(o.config);
  if (!config) {
    fmt::print(stderr, "switchboard batch: {}\n", config.error().message);
    return 2;
  }
  auto runtime = pipeline::build_runtime(*config);
  if (!runtime) {
    fmt::print(stderr, "switchboard batch: {}\n", runtime.error().message);
    return 2;
  }
  auto data = data::read_outcomes_jsonl(o.data);
  if (!data) {
    fmt::print(stderr, "switchboard batch: {}\n", data.error().message);
    return 1;
  }
  // Each configured model's price: the recorded upstream makes usage that reproduces the recorded
  // cost at that price, as a replay backend started with the same prices does.
  std::map<std::string, replay::Prices, std::less<>> prices;
  for (const auto& m : (*config)->models)
    prices[m.name] = {m.price.input_per_mtok, m.price.output_per_mtok};
  replay::RecordedUpstream upstream(*data, std::move(prices));
  eval::OfflineRunner runner(**runtime, upstream);
  const std::string lambda_text = o.lambda ? fmt::format("{:.17g}", *o.lambda) : "";
  pipeline::RequestHeaders headers;
  if (o.lambda) headers.items.emplace_back("x-switchboard-lambda", lambda_text);
  if (!o.objective.empty()) headers.items.emplace_back("x-switchboard-objective", o.objective);
  std::size_t sent = 0;
  for (std::size_t i = 0; i < data->records.size(); i += std::max<std::size_t>(o.every, 1)) {
    if (o.limit && sent == o.limit) break;
    const auto& rec = data->records[i];
    auto body = policies::chat_body_for(rec, o.route);
    if (!body) {
      fmt::print(stderr, "switchboard batch: prompt '{}': {}\n", rec.id, body.error().message);
      return 1;
    }
    if (o.stream) {
      auto j = nlohmann::json::parse(*body);
      j["stream"] = true;
      *body = j.dump();
    }
    auto r = runner.run(*body, headers);
    if (auto e = runner.embedding_error()) {
      fmt::print(stderr, "switchboard batch: {}\n", e->message);
      return 1;
    }
    nlohmann::json line = {{"id", rec.id}, {"status", r.status}, {"decision", r.record.to_json()}};
    fmt::print("{}\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    ++sent;
  }
  return 0;
}

const CommandRegistrar kBatch(
    "batch",
    "Send recorded prompts through a gateway config offline (recorded answers) and print the "
    "decision records; or, with --in, assign a file of prompts to models under a budget and "
    "capacities and write one OpenAI Batch-API file per model",
    [](CLI::App& app) {
      auto o = std::make_shared<BatchOptions>();
      auto a = std::make_shared<BatchAssignOptions>();
      app.add_option("--config", o->config,
                     "Gateway configuration (YAML), as `serve` takes it (required without --in)");
      app.add_option("--data", o->data,
                     "Recorded outcomes (JSONL): the prompts, and the answers that serve them "
                     "(required without --in)");
      app.add_option("--route", o->route, "Route (or model) the requests name as `model`");
      app.add_option("--in", a->in,
                     "Assign mode: prompts (JSONL: recorded outcomes, or custom_id/id with "
                     "prompt/messages/body.messages)");
      app.add_option("--budget", a->budget, "Assign mode: total budget in USD (default: none)")
          ->check(finite_number(false));
      app.add_option("--policy", a->policy, "Assign mode: learned policy type (knn, classifier, mf, blend)");
      app.add_option("--model-dir", a->model_dir, "Assign mode: its trained model directory");
      app.add_option("--capacity", a->capacity, "Assign mode: MODEL=N, at most N prompts (repeatable)");
      app.add_option("--out", a->out, "Assign mode: directory for the per-model Batch-API files");
      app.add_option("--lambda", o->lambda, "Sent as x-switchboard-lambda");
      app.add_option("--objective", o->objective, "Sent as x-switchboard-objective");
      app.add_option("--limit", o->limit, "At most this many prompts (0 = all)")->check(whole_number());
      app.add_option("--every", o->every, "Every Nth prompt of the file")
          ->capture_default_str()
          ->check(whole_number());
      app.add_flag("--stream", o->stream, "Ask for streamed answers");
      return [o, a] {
        if (!a->in.empty()) {
          a->config = o->config;
          a->route = o->route;
          return run_batch_assign(*a);
        }
        if (o->config.empty() || o->data.empty() || o->route.empty()) {
          fmt::print(stderr, "switchboard batch: needs --config, --data and --route (or --in)\n");
          return 2;
        }
        return run_batch(*o);
      };
    });

}  // namespace
}  // namespace switchboard::cli
