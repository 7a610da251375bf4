#include "pipeline/runtime.h"

#include <ctime>
#include <new>

#include "config/secret_env.h"

#include "pipeline/native/native_api.h"

#include <cstdlib>

#include "access/settings.h"
#include "pipeline/capacity_controller.h"
#include "pipeline/embedding_step.h"
#include "pipeline/stage_runner.h"
#include "pool/pool.h"

namespace switchboard::pipeline {

namespace {
std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}
std::string needs_text(const SignalNeeds& n) {
  std::string out;
  auto add = [&](bool b, const char* name) {
    if (b) out += (out.empty() ? "" : ", ") + std::string(name);
  };
  add(n.language, "language");
  add(n.code, "code");
  add(n.embedding, "embedding");
  add(n.task, "task");
  return out;
}

// The extractor with what the routes need; a failure names the first route that needs the missing part.
Result<std::shared_ptr<const signals::Extractor>> load_extractor(const config::Config& config, const Runtime& rt) {
  const auto& sc = config.signals;
  auto ex = signals::Extractor::load(extractor_options(sc), rt.needs);
  if (ex) return ex;
  std::string who;
  for (const auto& [name, route] : rt.routes) {
    if (route.needs.any()) {
      who = route.config->where + ": route '" + name + "' (" + route.config->policy_type + ") reads signals " +
            needs_text(route.needs) + ": ";
      break;
    }
  }
  return make_error(ex.error().kind, ex.error().code, who + ex.error().message);
}

}  // namespace

Runtime::Runtime() = default;
Runtime::~Runtime() = default;

const ModelRuntime* Runtime::find_model(std::string_view name) const {
  auto it = models.find(name);
  return it == models.end() ? nullptr : &it->second;
}

const RouteRuntime* Runtime::find_route(std::string_view name) const {
  auto it = routes.find(name);
  return it == routes.end() ? nullptr : &it->second;
}

RouteRequest route_request(const api::ChatRequest& request, std::optional<double> lambda) {
  RouteRequest rr;
  rr.route = request.model;
  rr.prompt_text = request.prompt_text;
  rr.stream = request.stream;
  rr.lambda = lambda;
  rr.prompt_tokens = request.estimated_prompt_tokens;
  rr.max_output_tokens = request.max_tokens.value_or(0);
  return rr;
}

Signals signals_for(const api::ChatRequest& request) {
  Signals s;
  s.prompt_tokens = request.estimated_prompt_tokens;
  s.message_count = request.message_count;
  return s;
}

Signals Runtime::signals_for(const api::ChatRequest& request) const {
  const RouteRuntime* route = find_route(request.model);
  return route ? signals_for(request, route->needs) : pipeline::signals_for(request);
}

Signals Runtime::signals_for(const api::ChatRequest& request, const SignalNeeds& wanted) const {
  Signals s = pipeline::signals_for(request);
  if (wanted.any() && extractor) extractor->extract(request.prompt_text, wanted, s);
  return s;
}

signals::ExtractorOptions extractor_options(const config::SignalsConfig& sc) {
  signals::ExtractorOptions o;
  o.weights_dir = sc.weights_dir;
  o.task_model = sc.task_model;
  o.embedding_provider = sc.embedding.provider;
  o.embedding_url = sc.embedding.url;
  o.embedding_model = sc.embedding.model;
  o.embedding_api_key_env = sc.embedding.api_key_env;
  o.embedding_timeout = sc.embedding.timeout;
  return o;
}

Result<Decision> Runtime::decide(std::string_view name, const RouteRequest& request,
                                 const Signals& signals) const {
  if (const ModelRuntime* m = find_model(name)) {
    Decision d;
    d.plan = Plan::single(m->config->name);
    d.policy = "direct";
    d.reason = "the request named a configured model";
    return d;
  }
  if (const RouteRuntime* route = find_route(name)) return route->policy->choose(request, signals);
  if (const config::ModelConfig* base = config->find_adapter_model(name)) {
    Decision d;
    d.plan = Plan::single(base->name);
    d.policy = "direct";
    d.reason = "the request named LoRA adapter '" + std::string(name) + "' of model " + base->name;
    return d;
  }
  return make_error(ErrorKind::kNotFound, "model_not_found",
                    "The model '" + std::string(name) +
                        "' does not exist; GET /v1/models lists the models and routes");
}

void Runtime::start_control() const {
  if (!control) return;
  // With `state: {redis: URL}` capacities and budgets hold for the fleet (capacity_fleet.h).
  if (auto settings = access::parse_access_settings(*config); settings && settings->redis)
    control->share(redis_capacity_fleet(*settings->redis, control->model_names(),
                                        control->route_names(), config->control.interval));
  control->start();
}

std::string_view Runtime::adapter_of(std::string_view name) const {
  if (find_model(name) || find_route(name)) return {};
  return config->find_adapter_model(name) ? name : std::string_view{};
}

namespace {

Result<std::unique_ptr<Runtime>> build_runtime_unguarded(
    std::shared_ptr<const config::Config> config) {
  auto rt = std::make_unique<Runtime>();
  rt->config = config;
  rt->loaded_at = static_cast<std::int64_t>(std::time(nullptr));
  for (const auto& m : config->models) {
    ModelRuntime mr;
    mr.config = &m;
    for (const auto& rc : m.replicas) {
      auto r = std::make_unique<Replica>();
      r->config = &rc;
      r->model = m.name;
      r->index = rt->replica_count++;
      pool::init_replica(*r, rc, static_cast<std::uint32_t>(mr.replicas.size()));
      // At r->ordinal: the replica's API and its key as that API takes it.
      const NativeApi* api = find_native_api(rc.api);
      if (!api)
        return make_error(ErrorKind::kBadRequest, "bad_config",
                          config->source + ": model '" + m.name + "' replica '" + rc.id +
                              "': no upstream API named '" + rc.api + "'");
      std::string key;
      if (!rc.api_key_env.empty()) {
        const std::string where = config->source + ": model '" + m.name + "' replica '" + rc.id + "'";
        auto env = config::secret_from_env(rc.api_key_env, where);
        if (!env) return env.error();
        if (env->empty())
          return make_error(ErrorKind::kBadRequest, "bad_config",
                            where + " reads its API key from $" + rc.api_key_env + ", which is not set");
        key = std::move(*env);
      }
      UpstreamCredentials credentials = api->credentials(key);
      mr.apis.push_back(api);
      mr.authorization.push_back(std::move(credentials.authorization));
      mr.upstream_headers.push_back(std::move(credentials.headers));
      mr.replica_ptrs.push_back(r.get());
      mr.replicas.push_back(std::move(r));
    }
    auto balancer = pool::make_balancer(m.balancer, m.balancer_options, mr.replica_ptrs, m.balancer_where,
                                        config->source);
    if (!balancer) return balancer.error();
    mr.balancer = std::move(*balancer);
    const auto& pc = m.pool;
    mr.outlier = {pc.outlier.consecutive_failures, pc.outlier.base_ejection.count(),
                  pc.outlier.max_ejection.count(), pc.outlier.max_ejection_percent};
    mr.retry_budget = std::make_unique<pool::RetryBudget>(pc.retry.budget_percent, pc.retry.min_retries);
    rt->models.emplace(m.name, std::move(mr));
  }
  for (auto& [name, model] : rt->models)
    model.metric_slots = std::make_unique<ModelSlots>(model.replicas.size());
  const auto& policies = PolicyRegistry::instance();
  for (const auto& route : config->routes) {
    const PolicyFactory* factory = policies.find(route.policy_type);
    if (!factory)
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        route.where + ": unknown policy type '" + route.policy_type +
                            "' (known: " + join(policies.names()) + ")");
    PolicyContext ctx{route.policy, *config, route.where};
    Result<std::unique_ptr<Policy>> policy = make_error(ErrorKind::kInternal, "", "");
    try {
      policy = (*factory)(ctx);
    } catch (const YAML::Exception& e) {  // a factory read a key with the wrong shape
      return make_error(ErrorKind::kBadRequest, "bad_config", route.where + ": " + e.msg);
    } catch (const std::exception& e) {  // a file it read (a model directory) had one
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        route.where + ": cannot build the policy: " + e.what());
    }
    if (!policy) return policy.error();
    // A budget works through the policy's λ (docs/capacity.md): on a route whose policy never
    // weighs cost it would be accepted, shown in /metrics, and change nothing.
    if (route.budget.usd_per_hour > 0 && !(*policy)->weighs_cost())
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        route.where + ": route '" + route.name + "' has a budget, but its '" +
                            route.policy_type +
                            "' policy never weighs cost, so the budget could not move its "
                            "traffic; use a policy with a cost-quality trade-off (knn, "
                            "classifier, mf, blend, bandit, elo, or a cascade or ensemble "
                            "started or recruited by one)");
    SignalNeeds needs = (*policy)->needs();
    for (const auto& name : route.signals) {  // the route's own `signals:` list
      needs.language |= name == "language";
      needs.code |= name == "code";
      needs.embedding |= name == "embedding";
      needs.task |= name == "task";
    }
    rt->needs |= needs;
    // The configured models its plans may call; empty when the policy does not say or names one
    // that is not a configured model (an adapter).
    std::vector<const config::ModelConfig*> models;
    for (const auto& name : (*policy)->models()) {
      const config::ModelConfig* m = config->find_model(name);
      if (!m) {
        models.clear();
        break;
      }
      models.push_back(m);
    }
    rt->routes.emplace(route.name, RouteRuntime{&route, std::move(*policy), needs, 0,
                                                std::make_unique<RouteSlots>(rt->replica_count),
                                                std::move(models)});
  }
  if (auto control = std::make_shared<CapacityController>(*config); !control->empty())
    rt->control = std::move(control);
  auto runner = StageRunner::standard(*config);
  if (!runner) return runner.error();
  rt->runner = std::move(*runner);
  for (auto& [name, route] : rt->routes) {
    for (const auto& sw : route.config->stages) {
      auto bit = rt->runner->disable_bit(sw.name);
      if (!bit && !(sw.on && bit.error().message.find("cannot be switched off") != std::string::npos))
        return make_error(ErrorKind::kBadRequest, "bad_config", sw.where + ": route '" + name + "': " + bit.error().message);
      if (!sw.on) route.disabled_stages |= *bit;
    }
  }
  auto extractor = load_extractor(*config, *rt);
  if (!extractor) return extractor.error();
  rt->extractor = std::move(*extractor);
  if (rt->needs.embedding && config->signals.embedding.provider == "http") {
    auto he = make_http_embedding(config->signals);
    if (!he) return he.error();
    rt->http_embedding = std::move(*he);
  }
  return rt;
}

}  // namespace

Result<std::unique_ptr<Runtime>> build_runtime(std::shared_ptr<const config::Config> config) {
  // A file a stage or policy reads (a model directory, an examples file) may hold what its reader
  // did not expect: the start-up or reload is refused with the reason, never a crash of a running
  // gateway (a SIGHUP reload used to terminate the process).
  try {
    return build_runtime_unguarded(std::move(config));
  } catch (const std::bad_alloc&) {
    // Not the files' fault: the machine ran out of memory (a model too large for it, say).
    return make_error(ErrorKind::kInternal, "out_of_memory",
                      "cannot build the runtime: out of memory while loading it");
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      std::string("cannot build the runtime: ") + e.what());
  }
}

}  // namespace switchboard::pipeline
