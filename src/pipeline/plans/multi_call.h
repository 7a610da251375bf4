// What the multi-call plan runners (cascade_plan.cc, ensemble_plan.cc) share: calling several
// models in parallel with buffered answers, the plan's bounds, the decision record's `calls`, and
// delivering the one final answer.
//
// Calls go through call_model() (replicas, retries, hedging) with the answer read whole and never
// relayed: intermediate answers never reach the client. Every call is appended to
// ctx.rec.calls in the plan's model order (not completion order), and the tier's attempts are
// reordered the same way, so a record is the same online and offline. A call that fails is kept as
// a failed member (result = its error code); a call still running at the plan's deadline is
// cancelled (result "deadline"). Runs on the request's worker; never throws except on the request's
// own cancellation.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/chat_response.h"
#include "pipeline/executor.h"
#include "switchboard/judge.h"

namespace switchboard::pipeline::plans {

// One model's call in a multi-call plan.
struct MemberAnswer {
  const ModelRuntime* model = nullptr;
  std::optional<Attempt> attempt;               // the answering attempt (status 200, body read)
  std::optional<api::CompletionAnswer> answer;  // parsed; set iff the member answered
  std::optional<Attempt> held;                  // a non-200 answer, passed on if nothing answers
  std::optional<Error> error;                   // why there is no answer
  std::size_t call = 0;                         // index in ctx.rec.calls
  // A request went out to a replica (a member skipped for want of a healthy replica that takes
  // the request made no call: it counts toward no bound).
  bool sent = true;
  bool estimated = false;  // its price is (partly) an estimate: no usage, or tries cut short
  bool ok() const { return answer.has_value(); }
};

// The spending of one plan against its bounds.
class Spend {
 public:
  Spend(const PlanBounds& bounds, Clock::time_point start);
  // How many of `models` (to be called together, in this order) the bounds allow now (0: stop);
  // `why` says which bound. `max_cost` bounds what comes after the first call: a plan always makes
  // one (max_cost 0 means "no escalation", as a single call's max_cost never leaves a request
  // unanswered). After it, a model is called only when its forecast cost fits in what is left of
  // max_cost: forecast(). `prompt_tokens`: the calls' prompt when it is not the request's (the
  // synthesis prompt), else -1.
  std::size_t allowed(const std::vector<const ModelRuntime*>& models, const RequestContext& ctx,
                      std::string& why, std::int64_t prompt_tokens = -1) const;
  // What one call of `m` is expected to cost: its list price for the prompt (`prompt_tokens`, or
  // the request's estimate, or the largest prompt an upstream of this plan reported, whichever is
  // larger) and for the completion tokens of the plan's longest answer so far (none before any
  // answer: a plan whose calls failed is not stopped on a worst case). A provider's bill may
  // differ: max_cost can still be passed by a call whose answer runs longer than the forecast.
  double forecast(const ModelRuntime& m, const RequestContext& ctx,
                  std::int64_t prompt_tokens = -1) const;
  void add(const MemberAnswer& m, const RequestContext& ctx);
  // Calls sent (skipped members not counted).
  int calls() const { return calls_; }
  double cost() const { return cost_; }
  // Some call's price was an estimate (MemberAnswer::estimated).
  bool estimated() const { return estimated_; }
  std::optional<Clock::time_point> deadline() const { return deadline_; }

 private:
  PlanBounds bounds_;
  std::optional<Clock::time_point> deadline_;
  int calls_ = 0;
  double cost_ = 0;
  bool estimated_ = false;
  std::int64_t longest_answer_ = -1;  // completion tokens; -1 before any answer
  std::int64_t largest_prompt_ = 0;   // reported prompt tokens
};

// Calls `models` in parallel, each with the buffered body `body` (renamed per model), records each
// call in ctx.rec.calls with `tier`, and adds them to `spend`. `last`: no other tier follows (a
// model without a healthy replica is tried anyway).
// `prompt_tokens`: the estimate of the calls' prompt when it is not the request's (a synthesis
// call's), else -1.
asio::awaitable<std::vector<MemberAnswer>> call_parallel(
    RequestContext& ctx, const std::vector<const ModelRuntime*>& models, const std::string& body,
    int tier, bool last, Spend& spend, std::int64_t prompt_tokens = -1);

// The judge's input for the members that answered (views into `members`).
std::vector<JudgeAnswer> judge_answers(const std::vector<MemberAnswer*>& answered);

// Sends `final` to the client — the whole JSON, or for a streaming request the buffered answer
// re-chunked as chat.completion.chunk events, with the guard's placeholders restored — marks its
// call accepted, and fills the record: model, replica, prompt/completion tokens and cost_usd
// summed over every call (all were billed: rate limits, metering and the token metrics count them;
// the client's body keeps the final call's own usage), and the x-switchboard-calls header.
asio::awaitable<StageResult> deliver_final(RequestContext& ctx, MemberAnswer& final,
                                           const Spend& spend);

// No member answered: passes on the last non-200 answer if there is one, else fails with the last
// error (upstream_unreachable when none).
asio::awaitable<StageResult> deliver_failure(RequestContext& ctx, std::vector<MemberAnswer>& all,
                                             const Spend& spend);

// The cost and tokens of one call: its answer's (billed by the upstream, else the model's price;
// `prompt_tokens` the prompt's estimate when the answer reports no usage), plus the prompt of each
// of its tries from ctx.rec.attempts[attempts_from] on that the gateway cut short (a hedge's loser,
// the plan's deadline, the client leaving: cut_tries_charge). Sets m.estimated when any of it is
// an estimate.
void price_call(const RequestContext& ctx, MemberAnswer& m, store::CallRecord& rec,
                std::size_t attempts_from, std::int64_t prompt_tokens);

}  // namespace switchboard::pipeline::plans
