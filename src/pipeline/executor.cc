#include "pipeline/executor.h"

namespace switchboard::pipeline {

Executor::Executor() {
  for (const auto& kind : PlanRunnerRegistry::instance().names())
    runners_.emplace(kind, (*PlanRunnerRegistry::instance().find(kind))());
}

asio::awaitable<StageResult> Executor::run(RequestContext& ctx) const {
  const Plan& plan = ctx.decision->plan;
  auto it = runners_.find(plan.kind);
  if (it == runners_.end())
    co_return StageResult::fail(
        make_error(ErrorKind::kInternal, "policy_error",
                   "policy returned a plan of unknown kind '" + plan.kind + "'"),
        "internal_error");
  for (const auto& name : plan.models()) {
    if (!ctx.runtime->find_model(name))
      co_return StageResult::fail(make_error(ErrorKind::kInternal, "policy_error",
                                             "policy chose unknown model '" + name + "'"),
                                  "internal_error");
  }
  co_return co_await it->second->run(ctx, plan);
}

}  // namespace switchboard::pipeline
