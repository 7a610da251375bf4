// `decide`: which plan answers — a configured model or LoRA adapter directly, or the route's
// policy (Runtime::decide), then RequestContext::after_decide (sessions). Required.
#include "pipeline/capacity_controller.h"
#include "pipeline/explain.h"
#include "pipeline/request_context.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

class DecideStage final : public SyncStage {
 public:
  std::string_view name() const override { return "decide"; }
  bool required() const override { return true; }
  StageResult run_now(RequestContext& ctx) const override {
    CapacityController* control = ctx.runtime->control.get();
    if (control) ctx.route_request.prices = control;
    auto decided = ctx.runtime->decide(ctx.req.model, ctx.route_request, ctx.signals);
    if (!decided) {
      if (ctx.route) {
        ctx.route_label = ctx.req.model;
        ctx.rec.policy = ctx.route->config->policy_type;
      }
      const char* outcome =
          decided.error().kind == ErrorKind::kNotFound ? "client_error" : "no_candidate";
      return StageResult::fail(decided.error(), outcome);
    }
    ctx.route_label = ctx.req.model;
    ctx.rec.policy = decided->policy;
    ctx.rec.reason = decided->reason + ctx.signals_note;
    ctx.adapter = ctx.runtime->adapter_of(ctx.req.model);
    ctx.decision = std::move(*decided);
    for (auto& amend : ctx.after_decide) amend(ctx);
    // The candidates move to the record once the amendments (sessions) have read them; an
    // explain-only run answers them from the decision (pipeline/explain.cc).
    if (!ctx.explain_only) ctx.rec.candidates = std::move(ctx.decision->candidates);
    ctx.rec.model = ctx.decision->plan.model;
    if (!ctx.explain_only)
      for (auto& hook : ctx.on_plan) hook(ctx);
    if (control && !ctx.explain_only) {
      // Capacity load and route spend (docs/capacity.md): counted when routed, settled once
      // answered (a single call: on the plan's model — and when a fallback model answered, a
      // request and the tokens on that one too, else its capacity was never enforced; a
      // multi-call plan: every call, on its own model).
      control->on_start(ctx.rec.model);
      ctx.after_answer.push_back([control, model = ctx.rec.model](RequestContext& c) {
        const std::int64_t tokens = c.rec.prompt_tokens + c.rec.completion_tokens;
        if (c.rec.calls.empty() && c.rec.model != model && !c.rec.model.empty())
          return control->on_finish_calls(model, c.route_label, {{c.rec.model, tokens}},
                                          c.rec.cost_usd);
        if (c.rec.calls.empty())
          return control->on_finish(model, c.route_label, tokens, c.rec.cost_usd);
        std::vector<CapacityController::CallLoad> calls;
        calls.reserve(c.rec.calls.size());
        for (const auto& call : c.rec.calls)
          calls.push_back({call.model, call.prompt_tokens + call.completion_tokens});
        control->on_finish_calls(model, c.route_label, calls, c.rec.cost_usd);
      });
    }
    return StageResult::next();
  }
};

const StageRegistrar kRegister("decide", [](const StageContext&) -> Result<std::unique_ptr<Stage>> {
  return std::unique_ptr<Stage>(std::make_unique<DecideStage>());
});

}  // namespace
}  // namespace switchboard::pipeline
