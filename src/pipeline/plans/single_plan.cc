// "single": one model, then each fallback in order when it fails before answering (every retry
// spent, no healthy replica). The last 5xx/429 answer is passed on when no model does better.
#include "pipeline/executor.h"

namespace switchboard::pipeline {
namespace {

class SinglePlan final : public PlanRunner {
 public:
  asio::awaitable<StageResult> run(RequestContext& ctx, const Plan& plan) const override {
    std::vector<const ModelRuntime*> models;
    models.push_back(ctx.runtime->find_model(plan.model));
    for (const auto& f : plan.fallbacks) models.push_back(ctx.runtime->find_model(f));
    CallState st;
    std::optional<Attempt> held;
    std::optional<Error> last_error;
    for (std::size_t i = 0; i < models.size(); ++i) {
      ModelCallResult r = co_await call_model(ctx, st, *models[i], i + 1 == models.size());
      if (r.answer) co_return co_await deliver(ctx, *r.answer, models[0]);
      if (r.held) held = std::move(r.held);
      if (r.error) last_error = std::move(r.error);
      if (r.stop) break;
    }
    if (held) co_return co_await deliver(ctx, *held, models[0]);
    if (!last_error)
      last_error =
          make_error(ErrorKind::kUpstreamError, "upstream_unreachable", "no replica answered");
    const char* outcome =
        last_error->kind == ErrorKind::kUpstreamTimeout ? "upstream_timeout" : "upstream_error";
    co_return StageResult::fail(std::move(*last_error), outcome);
  }
};

const PlanRunnerRegistrar kRegister("single", [] { return std::make_unique<SinglePlan>(); });

}  // namespace
}  // namespace switchboard::pipeline
