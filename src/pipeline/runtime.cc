#include "pipeline/runtime.h"

#include <cstdlib>

namespace switchboard::pipeline {

namespace {
std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}
}  // namespace

const ModelRuntime* Runtime::find_model(std::string_view name) const {
  auto it = models.find(name);
  return it == models.end() ? nullptr : &it->second;
}

const RouteRuntime* Runtime::find_route(std::string_view name) const {
  auto it = routes.find(name);
  return it == routes.end() ? nullptr : &it->second;
}

Result<Decision> Runtime::decide(std::string_view name, const RouteRequest& request,
                                 const Signals& signals) const {
  if (const ModelRuntime* m = find_model(name)) {
    Decision d;
    d.model = m->config->name;
    d.policy = "direct";
    d.reason = "the request named a configured model";
    return d;
  }
  if (const RouteRuntime* route = find_route(name)) return route->policy->choose(request, signals);
  return make_error(ErrorKind::kNotFound, "model_not_found",
                    "The model '" + std::string(name) +
                        "' does not exist; GET /v1/models lists the models and routes");
}

Result<std::unique_ptr<Runtime>> build_runtime(std::shared_ptr<const config::Config> config) {
  auto rt = std::make_unique<Runtime>();
  rt->config = config;
  const auto& balancers = BalancerRegistry::instance();
  for (const auto& m : config->models) {
    ModelRuntime mr;
    mr.config = &m;
    const BalancerFactory* make_balancer = balancers.find(m.balancer);
    if (!make_balancer)
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        config->source + ": model '" + m.name + "' names unknown balancer '" + m.balancer +
                            "' (known: " + join(balancers.names()) + ")");
    mr.balancer = (*make_balancer)();
    for (const auto& rc : m.replicas) {
      auto r = std::make_unique<Replica>();
      r->config = &rc;
      r->model = m.name;
      r->index = rt->replica_count++;
      if (!rc.api_key_env.empty()) {
        const char* key = std::getenv(rc.api_key_env.c_str());
        if (!key || !*key)
          return make_error(ErrorKind::kBadRequest, "bad_config",
                            config->source + ": model '" + m.name + "' replica '" + rc.id +
                                "' reads its API key from $" + rc.api_key_env + ", which is not set");
        r->authorization = std::string("Bearer ") + key;
      }
      mr.replica_ptrs.push_back(r.get());
      mr.replicas.push_back(std::move(r));
    }
    rt->models.emplace(m.name, std::move(mr));
  }
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
    }
    if (!policy) return policy.error();
    rt->routes.emplace(route.name, RouteRuntime{&route, std::move(*policy)});
  }
  return rt;
}

}  // namespace switchboard::pipeline
