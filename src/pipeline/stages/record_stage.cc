// `record`: completes the decision record (latency) and the request metrics; the runner then hands
// the record to RequestContext::sink (SQLite when serving). Runs even when an earlier stage ended
// the request; a route may switch it off (no record, no request metrics). For a route whose policy
// learns (switchboard/learning.h), an answered request's context (signals, prompt, model, cost) is
// kept for POST /v1/feedback (pipeline/learning/context_cache.h): in memory, and — unless
// `feedback.context_cache.persist` is off — encoded in the record for the decision store.
#include "pipeline/learning/context_codec.h"
#include "pipeline/request_context.h"
#include "pipeline/request_metrics.h"
#include "switchboard/learning.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

class RecordStage final : public SyncStage {
 public:
  std::string_view name() const override { return "record"; }
  StageResult run_now(RequestContext& ctx) const override {
    auto& rec = ctx.rec;
    rec.latency_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - ctx.received_at).count();
    count_request(ctx);
    if (ctx.contexts && ctx.route && ctx.decision && rec.outcome == "ok" &&
        dynamic_cast<const LearningPolicy*>(ctx.route->policy.get())) {
      learning::DecisionContext c;
      c.route = rec.route;
      c.model = rec.model;
      c.signals = ctx.signals;
      c.prompt_text = std::string(ctx.route_request.prompt_text);
      c.prompt_tokens = ctx.route_request.prompt_tokens ? ctx.route_request.prompt_tokens
                                                       : ctx.signals.prompt_tokens;
      c.cost = rec.cost_usd;
      c.lambda = ctx.route_request.lambda;
      c.time_ms = rec.time_ms;
      const auto& limits = ctx.contexts->limits();
      if (limits.persist) rec.learning_context = learning::encode_context(c, limits.max_prompt_bytes);
      ctx.contexts->put(rec.id, std::move(c));
    }
    return StageResult::next();
  }
};

const StageRegistrar kRegister("record", [](const StageContext&) -> Result<std::unique_ptr<Stage>> {
  return std::unique_ptr<Stage>(std::make_unique<RecordStage>());
});

}  // namespace
}  // namespace switchboard::pipeline
