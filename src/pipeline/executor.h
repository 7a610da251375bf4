// The executor: runs a decision's plan (include/switchboard/plan.h) — the `execute` stage.
//
// A plan names its runner by kind; each runner is a file in src/pipeline/plans/ registered by name
// (PlanRunnerRegistrar), so cascades and ensembles are new files, not edits here. Runners call
// models through pipeline/model_call.h (replicas, retries, hedging) and RequestContext::upstream
// (HTTP pool when serving, recorded outcomes offline), and answer the client through deliver():
// the streaming relay or the whole answer, usage metering and cost.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/model_call.h"
#include "pipeline/request_context.h"
#include "switchboard/registry.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {

class PlanRunner {
 public:
  virtual ~PlanRunner() = default;
  // Runs `plan` for the request and answers the client; returns next() once an answer (or the
  // upstream's own error) was sent, fail() when there is none to send.
  virtual asio::awaitable<StageResult> run(RequestContext& ctx, const Plan& plan) const = 0;
};
using PlanRunnerFactory = std::function<std::unique_ptr<PlanRunner>()>;
using PlanRunnerRegistry = Registry<PlanRunnerFactory>;
using PlanRunnerRegistrar = Registrar<PlanRunnerFactory>;

class Executor {
 public:
  Executor();  // one runner of every registered kind
  // Errors: an unknown plan kind or a model the runtime does not have (500 policy_error).
  asio::awaitable<StageResult> run(RequestContext& ctx) const;

 private:
  std::map<std::string, std::unique_ptr<PlanRunner>, std::less<>> runners_;
};

// A token count an upstream reported, as the record, limits and budgets take it: within
// [0, 2^40]. A broken or hostile upstream's negative count would refund a key's budget, and a huge
// one overflow the budget's micro-dollars.
inline std::int64_t reported_tokens(std::int64_t n) {
  constexpr std::int64_t kMost = std::int64_t{1} << 40;
  return n < 0 ? 0 : n > kMost ? kMost : n;
}

// Sends `answer` to the client — a stream relayed event by event as it arrives, or the whole body
// — and fills the record: status, outcome, usage (reported, counted or estimated), cost (billed
// by the upstream, else the model's price), upstream_ms. `first_choice` is the model the plan
// preferred (a fallback is noted in the reason). Returns next(), or fail() when the rest of a
// non-streamed body could not be read.
asio::awaitable<StageResult> deliver(RequestContext& ctx, Attempt& answer,
                                     const ModelRuntime* first_choice);

// After `answer` was written through `client`: when the client API's shape could not carry it
// (ResponseWriter::refused_answer(): not a chat completion after all), the record says what the
// client got (its status, upstream_error, the error), the attempt's result is that error and the
// replica's health counts a failure; when a stream's translation ended it with its own error
// (ResponseWriter::stream_failure()), likewise as stream_broken (upstream_stream_broken). The cost
// stays: the upstream produced the answer. True when refused or failed.
bool note_refused_answer(RequestContext& ctx, const ResponseWriter& client, Attempt& answer);

// A buffered answer's stream `events` (whole SSE events) to a streaming client in one chunk, the
// guard's redacted values restored as in a relayed stream. False when the client is gone.
asio::awaitable<bool> send_buffered_stream(
    RequestContext& ctx, ResponseWriter& client,
    const std::vector<std::pair<std::string_view, std::string_view>>& headers,
    std::string events);

}  // namespace switchboard::pipeline
