// The stage runner: runs a request through the stages in order, times each one and writes the
// spans into the decision record (`stages: [{"name","us","outcome"}]`).
//
// Order: the stages given at construction (the gateway's: auth → parse → limits → guard → cache →
// signals → decide → execute → record; slots with no registered implementation, or whose factory
// returned null because the config does not use the stage, are left out). A stage
// switched off for the request's route (RequestContext::disabled_stages, set by parse) is skipped
// and recorded with outcome "off". When a stage ends the request (end() or fail()), the runner
// sends the reply or the error to the client, records the outcome, and goes straight to the
// `record` stage. An exception (of any type) escaping a stage becomes a 500 internal_error
// answered to the client (if nothing was sent yet) and recorded; one escaping the client's writer
// or the record stage is recorded as internal_error too (the HTTP server then answers 500 if
// nothing was sent); the runner itself never throws except on cancellation. Before `record`, it
// runs RequestContext::after_answer (the cache stores a miss's answer there). After the record went
// to the sink, RequestContext::recorded is set. In explain-only mode (POST /v1/route) it stops
// after `decide` and answers nothing. Finally the record goes to RequestContext::sink.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/request_context.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {

// The gateway's order of stage slots.
// `auth` runs before `parse` (a request without a valid key is refused 401 before its body is
// read, like OpenAI's API); `limits` after it (it needs the named route or model and the prompt's
// token estimate), before anything costly (docs/keys.md).
// `implicit_feedback` (docs/online.md) runs before `cache`: a repeat is scored even when the cache
// could answer it, and the cache then answers it afresh (RequestContext::repeat). `session`
// (docs/sessions.md) runs before `cache` too, so that a turn the cache answers still counts in
// its session (and keeps it alive), and amends the decision of a turn that reaches `decide`
// (RequestContext::after_decide).
inline constexpr const char* kStageOrder[] = {"auth",    "parse",   "limits", "guard",
                                              "implicit_feedback",  "session", "cache",
                                              "signals", "decide",  "execute", "record"};
// Slots left out of a configuration (auth and limits without an `auth:` section) whose stage is
// required when it runs: a route cannot switch them off either (it was accepted without `auth:`,
// and adding the section later made the whole config, or a reload, fail).
inline constexpr const char* kRequiredWhenPresent[] = {"auth", "limits"};

class StageRunner {
 public:
  // Stages run in the given order (null entries are dropped); at most 32.
  explicit StageRunner(std::vector<std::unique_ptr<Stage>> stages);
  // The registered implementation of each slot of kStageOrder, in that order (empty slots skipped),
  // each built from `config` (a stage's factory error is returned as is).
  static Result<std::unique_ptr<StageRunner>> standard(const config::Config& config);

  asio::awaitable<void> run(RequestContext& ctx) const;

  // The bit of RequestContext::disabled_stages for the stage `name`: 0 for a slot of kStageOrder
  // this runner left out (not configured); an error when `name` is no stage or is required.
  Result<std::uint32_t> disable_bit(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  asio::awaitable<void> send_error(RequestContext& ctx, const Error& e, const char* outcome) const;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::size_t record_ = SIZE_MAX;  // index of the `record` stage, SIZE_MAX if none
  std::size_t decide_ = SIZE_MAX;
};

// Marks the record of a request that failed with an exception: outcome and code internal_error,
// status 500 unless a status was already sent.
void mark_internal_error(RequestContext& ctx, const std::string& message);

}  // namespace switchboard::pipeline
