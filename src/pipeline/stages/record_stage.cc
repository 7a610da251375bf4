// `record`: completes the decision record (latency) and the request metrics; the runner then hands
// the record to RequestContext::sink (SQLite when serving). Runs even when an earlier stage ended
// the request; a route may switch it off (no record, no request metrics).
#include "pipeline/request_context.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

class RecordStage final : public Stage {
 public:
  std::string_view name() const override { return "record"; }
  asio::awaitable<StageResult> run(RequestContext& ctx) const override {
    auto& rec = ctx.rec;
    rec.latency_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - ctx.received_at).count();
    if (auto* m = ctx.metrics) {
      m->requests.with({ctx.route_label, rec.model, rec.replica, std::to_string(rec.status)}).inc();
      m->latency.with({ctx.route_label, rec.model, rec.replica}).observe(rec.latency_ms / 1000);
      if (ctx.model && (rec.prompt_tokens || rec.completion_tokens)) {
        m->tokens.with({rec.model, "prompt"}).inc(static_cast<double>(rec.prompt_tokens));
        m->tokens.with({rec.model, "completion"}).inc(static_cast<double>(rec.completion_tokens));
        m->cost.with({rec.model}).inc(rec.cost_usd);
      }
    }
    co_return StageResult::next();
  }
};

const StageRegistrar kRegister("record", [](const StageContext&) -> Result<std::unique_ptr<Stage>> {
  return std::unique_ptr<Stage>(std::make_unique<RecordStage>());
});

}  // namespace
}  // namespace switchboard::pipeline
