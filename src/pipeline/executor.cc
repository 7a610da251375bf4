#include "pipeline/executor.h"

namespace switchboard::pipeline {

Executor::Executor() {
  for (const auto& kind : PlanRunnerRegistry::instance().names())
    runners_.emplace(kind, (*PlanRunnerRegistry::instance().find(kind))());
}

namespace {
asio::awaitable<StageResult> failed(Error error, const char* outcome) {
  co_return StageResult::fail(std::move(error), outcome);
}
}  // namespace

// Not a coroutine: it hands back the plan runner's own awaitable, so that no frame of the executor
// stays allocated for the rest of the request (as long as a stream lasts: bench/streams.sh).
asio::awaitable<StageResult> Executor::run(RequestContext& ctx) const {
  const Plan& plan = ctx.decision->plan;
  auto it = runners_.find(plan.kind);
  if (it == runners_.end())
    return failed(make_error(ErrorKind::kInternal, "policy_error",
                             "policy returned a plan of unknown kind '" + plan.kind + "'"),
                  "internal_error");
  for (const auto& name : plan.models()) {
    if (!ctx.runtime->find_model(name))
      return failed(make_error(ErrorKind::kInternal, "policy_error",
                               "policy chose unknown model '" + name + "'"),
                    "internal_error");
  }
  return it->second->run(ctx, plan);
}

}  // namespace switchboard::pipeline
