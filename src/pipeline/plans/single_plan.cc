// "single": one model, then each fallback in order when it fails before answering (every retry
// spent, no healthy replica). The last 5xx/429 answer is passed on when no model does better.
#include "pipeline/client_watch.h"
#include "pipeline/executor.h"

namespace switchboard::pipeline {
namespace {

// What the calls came to: the attempt to deliver (an answer, or the last 5xx/429 held back), else
// the last error.
struct Calls {
  bool answered = false;  // `deliver` is a good answer (not a 5xx/429 held back)
  std::optional<Attempt> deliver;
  std::optional<Error> error;
  const ModelRuntime* first = nullptr;
};

// The model, then its fallbacks. A coroutine of its own so that its frame (the call state, the
// candidate buffer, each model's result) is freed before the answer is delivered, which may take as
// long as a stream lasts (bench/streams.sh).
// Fills `out` as it goes, so that what was called is known when the client leaves meanwhile.
asio::awaitable<void> call_models(RequestContext& ctx, const Plan& plan, Calls& out) {
  std::vector<const ModelRuntime*> models;
  models.push_back(ctx.runtime->find_model(plan.model));
  for (const auto& f : plan.fallbacks) models.push_back(ctx.runtime->find_model(f));
  out.first = models[0];
  CallState st;
  for (std::size_t i = 0; i < models.size() && !client_left(ctx); ++i) {
    ModelCallResult r = co_await call_model(ctx, st, *models[i], i + 1 == models.size());
    if (r.answer) {
      out.deliver = std::move(r.answer);
      out.answered = true;
      co_return;
    }
    if (r.held) out.deliver = std::move(r.held);
    // A later model's error replaces an earlier one's, save api_mismatch (its replicas take no such
    // request: a 400), which must not hide that an earlier model was sent it and failed.
    if (r.error && !(out.error && r.error->code == "api_mismatch")) out.error = std::move(r.error);
    if (r.stop) break;
  }
}

class SinglePlan final : public PlanRunner {
 public:
  asio::awaitable<StageResult> run(RequestContext& ctx, const Plan& plan) const override {
    const std::size_t attempts_before = ctx.rec.attempts.size();
    auto calls = std::make_unique<Calls>();
    // The tries cut short (a hedge's loser, those the client left) are charged their prompt
    // (cut_tries_charge), whatever the outcome; the answer's own cost is set by deliver().
    const auto charge_cut = [&ctx, attempts_before] {
      add_cut_charge(ctx, cut_tries_charge(ctx, attempts_before, "",
                                           ctx.req.estimated_prompt_tokens));
    };
    // The client leaving cancels the attempt under way (run_attempt) and stops the retries and
    // fallbacks; an answer that came before is delivered (its write then finds the client gone).
    co_await call_models(ctx, plan, *calls);
    if (client_left(ctx) && !calls->answered) {
      calls.reset();  // the cancelled call's connection and in-flight count are released
      StageResult gone = client_gone_result(ctx, attempts_before);
      charge_cut();
      co_return gone;
    }
    if (calls->deliver) {
      StageResult r = co_await deliver(ctx, *calls->deliver, calls->first);
      charge_cut();
      co_return r;
    }
    charge_cut();
    Error error = calls->error ? std::move(*calls->error)
                              : make_error(ErrorKind::kUpstreamError, "upstream_unreachable",
                                           "no replica answered");
    const char* outcome = error.kind == ErrorKind::kUpstreamTimeout ? "upstream_timeout"
                          : error.kind == ErrorKind::kBadRequest   ? "client_error"
                                                                   : "upstream_error";
    co_return StageResult::fail(std::move(error), outcome);
  }
};

const PlanRunnerRegistrar kRegister("single", [] { return std::make_unique<SinglePlan>(); });

}  // namespace
}  // namespace switchboard::pipeline
