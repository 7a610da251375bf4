// `record`: completes the decision record (latency) and the request metrics; the runner then hands
// the record to RequestContext::sink (SQLite when serving). Runs even when an earlier stage ended
// the request; a route may switch it off (no record, no request metrics).
#include "pipeline/request_context.h"
#include "pipeline/request_metrics.h"
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
    count_request(ctx);
    co_return StageResult::next();
  }
};

const StageRegistrar kRegister("record", [](const StageContext&) -> Result<std::unique_ptr<Stage>> {
  return std::unique_ptr<Stage>(std::make_unique<RecordStage>());
});

}  // namespace
}  // namespace switchboard::pipeline
