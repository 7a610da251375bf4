// `signals`: the costlier signals the route's policy reads (language, code, embedding, task), from
// the local extractor, then — when the embedding comes from a service — the awaited embedding call
// (RequestContext::embedder). Switched off, policies see only the always-present signals. An
// embedding already in ctx.signals (the cache stage's, same GloVe vectors) is kept, not recomputed.
#include "pipeline/request_context.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

class SignalsStage final : public Stage {
 public:
  std::string_view name() const override { return "signals"; }
  asio::awaitable<StageResult> run(RequestContext& ctx) const override {
    if (!ctx.route || !ctx.route->needs.any()) co_return StageResult::next();
    // The cache stage (before this one) may have computed the GloVe embedding already.
    SignalNeeds needs = ctx.route->needs;
    std::vector<float> embedding = std::move(ctx.signals.embedding);
    if (!embedding.empty()) needs.embedding = false;
    ctx.signals = ctx.runtime->signals_for(ctx.req, needs);
    if (!embedding.empty()) ctx.signals.embedding = std::move(embedding);
    if (ctx.embedder)
      ctx.signals_note = co_await ctx.embedder->fill(*ctx.runtime, ctx.req, ctx.signals);
    co_return StageResult::next();
  }
};

const StageRegistrar kRegister("signals", [](const StageContext&) -> Result<std::unique_ptr<Stage>> {
  return std::unique_ptr<Stage>(std::make_unique<SignalsStage>());
});

}  // namespace
}  // namespace switchboard::pipeline
