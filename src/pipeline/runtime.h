// The gateway's runtime objects built once from a validated Config: a policy per route, replicas
// and a balancer per model. Immutable after build() except for the replicas' atomic load counters
// and the balancers' internal state, which are safe for concurrent use.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/chat_request.h"
#include "config/config.h"
#include "pipeline/metric_slots.h"
#include "pool/health.h"
#include "pool/retry_budget.h"
#include "signals/extractor.h"
#include "switchboard/balancer.h"
#include "switchboard/policy.h"

namespace switchboard::pipeline {

class NativeApi;  // pipeline/native/native_api.h

struct ModelRuntime {
  const config::ModelConfig* config = nullptr;
  std::vector<std::unique_ptr<Replica>> replicas;
  std::vector<Replica*> replica_ptrs;  // all replicas, for the balancer
  // Per replica, indexed by Replica::ordinal: the Authorization header value ("Bearer <key>", read
  // from the environment at start-up; empty = none). Kept here, on the serving side, so balancers
  // never see credentials. Never logged.
  std::vector<std::string> authorization;
  // Per replica: the API it speaks (`api:`, resolved once from pipeline/native/) and the other
  // headers carrying its key in that API (NativeApi::credentials). Never logged.
  std::vector<const NativeApi*> apis;
  std::vector<std::vector<std::pair<std::string, std::string>>> upstream_headers;
  std::unique_ptr<Balancer> balancer;
  pool::OutlierPolicy outlier;                     // from config->pool.outlier
  std::unique_ptr<pool::RetryBudget> retry_budget;  // never null after build_runtime()
  std::unique_ptr<ModelSlots> metric_slots;         // never null after build_runtime()
  // `reasoning: auto` and a replica answered 400 to a chat client's reasoning_effort (or the
  // thinking it became): no reasoning setting is sent to this model any more (pipeline/
  // model_call.h). Learned per runtime: a reload starts afresh.
  // (Behind a pointer: the runtime is moved while it is built.)
  std::unique_ptr<std::atomic<bool>> reasoning_refused = std::make_unique<std::atomic<bool>>(false);
  // The reasoning mode its calls use: the configured one, or kOff once learned as above.
  config::ReasoningMode reasoning() const {
    return config->reasoning == config::ReasoningMode::kAuto &&
                   reasoning_refused->load(std::memory_order_relaxed)
               ? config::ReasoningMode::kOff
               : config->reasoning;
  }
};

struct HttpEmbedding;  // pipeline/embedding_step.h

struct RouteRuntime {
  const config::RouteConfig* config = nullptr;
  std::unique_ptr<Policy> policy;
  SignalNeeds needs;  // policy->needs(), cached
  std::uint32_t disabled_stages = 0;  // the stages its `stages:` switches off (StageRunner bits)
  std::unique_ptr<RouteSlots> metric_slots;  // never null after build_runtime()
  // policy->models() resolved: the models its plans may call; empty = not known (any).
  std::vector<const config::ModelConfig*> models;
};

class StageRunner;         // pipeline/stage_runner.h
class CapacityController;  // pipeline/capacity_controller.h

struct Runtime {
  Runtime();
  ~Runtime();
  // The request path's stages, run for every request (pipeline/stage_runner.h).
  std::unique_ptr<StageRunner> runner;
  std::shared_ptr<const config::Config> config;
  std::map<std::string, ModelRuntime, std::less<>> models;
  std::map<std::string, RouteRuntime, std::less<>> routes;
  std::size_t replica_count = 0;
  // When this configuration was loaded (unix seconds): the `created` of GET /v1/models' entries.
  std::int64_t loaded_at = 0;
  // Loaded with the union of every route's SignalNeeds (only the weights some policy reads).
  std::shared_ptr<const signals::Extractor> extractor;
  SignalNeeds needs;  // that union
  // Non-null when a route needs the embedding and signals.embedding.provider is http: the endpoint
  // the gateway calls after signals_for() (pipeline/embedding_step.h).
  std::shared_ptr<const HttpEmbedding> http_embedding;
  // Capacity prices and budget λ (docs/capacity.md); null when no model has a capacity and no
  // route a budget. Its thread runs only once start_control() was called (the gateway does;
  // offline runs see prices of 0). Reset by a reload: a new runtime starts from prices of 0.
  std::shared_ptr<CapacityController> control;
  void start_control() const;

  const ModelRuntime* find_model(std::string_view name) const;
  const RouteRuntime* find_route(std::string_view name) const;

  // Which model answers a request that named `name`: a configured model is used directly (policy
  // "direct"); a LoRA adapter a model serves goes to that model (policy "direct"; the caller
  // passes the adapter on, see adapter_of()); a route asks its policy. The one place this is decided, shared by the gateway's
  // chat path, POST /v1/route and `switchboard route`. Errors: model_not_found (kNotFound) when
  // `name` is neither; the policy's own error when it has no eligible candidate.
  Result<Decision> decide(std::string_view name, const RouteRequest& request, const Signals& signals) const;
  // `name` when it names a LoRA adapter (and not a model or route), else empty.
  std::string_view adapter_of(std::string_view name) const;

  // The signals of a request that names `request.model`: the always-present ones plus what that
  // route's policy needs (nothing more for a configured model or an unknown name). Thread-safe, no I/O.
  Signals signals_for(const api::ChatRequest& request) const;
  // The same with explicit needs (the evaluator computes the union once per prompt).
  Signals signals_for(const api::ChatRequest& request, const SignalNeeds& needs) const;
};

// What policies and balancers see of a parsed chat request (prefix_blocks is left empty: it is
// computed per model, see pool::prefix_blocks_for). The gateway, POST /v1/route and the evaluator
// all build it here, so they all see the same request.
// `request` must outlive the result (RouteRequest holds views into it).
RouteRequest route_request(const api::ChatRequest& request, std::optional<double> lambda = std::nullopt);
// Only the always-present signals (token estimate, message count); Runtime::signals_for adds the rest.
Signals signals_for(const api::ChatRequest& request);

// The extractor's options from the `signals:` section (the gateway, the evaluator and the trainers
// all build them here, so they use the same embedding provider).
signals::ExtractorOptions extractor_options(const config::SignalsConfig& signals);

// Builds policies (via PolicyRegistry) and balancers (via BalancerRegistry), reads API keys from
// the environment and loads the signal extractor. Errors name the config location: an unknown
// policy type or balancer, a policy's own validation error, an api_key_env variable that is not
// set, or missing signal weights (naming the route that needs them and `make weights`).
Result<std::unique_ptr<Runtime>> build_runtime(std::shared_ptr<const config::Config> config);

}  // namespace switchboard::pipeline
