// One named step of the request path, run by the stage runner (src/pipeline/stage_runner.h) in the
// order auth → parse → limits → guard → cache → signals → implicit_feedback → session → decide →
// execute → record (stages a config does not use are left out).
//
// Contract: run() is called concurrently for different requests (a stage object is shared and
// immutable after construction) and must not block; it reads and fills the request context and
// returns either next() — the request goes on — or ends the request: end() after the stage set
// ctx.reply (a cached answer, a refusal), fail() with an error the front end answers in its API's
// shape. The runner, not the stage, times it and writes {"name","us","outcome"} into the decision
// record. A stage never sees the HTTP server's types: the client is a ResponseWriter.
// Stages register a factory by name (StageRegistrar); a route may switch a stage off in YAML
// (`stages: {NAME: off}`) unless the stage is required().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "switchboard/registry.h"
#include "switchboard/result.h"

namespace switchboard {

namespace pipeline {
struct RequestContext;  // src/pipeline/request_context.h
}

struct StageResult {
  enum class Kind { kNext, kEnd, kFail };
  Kind kind = Kind::kNext;
  std::optional<Error> error;  // kFail
  const char* outcome = "";    // kFail: the record's outcome ("client_error", "no_candidate", ...)

  static StageResult next() { return {}; }
  static StageResult end() { return {Kind::kEnd, std::nullopt, ""}; }
  static StageResult fail(Error e, const char* outcome) {
    return {Kind::kFail, std::move(e), outcome};
  }
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string_view name() const = 0;
  // A required stage cannot be switched off by a route (parse, decide, execute).
  virtual bool required() const { return false; }
  virtual boost::asio::awaitable<StageResult> run(pipeline::RequestContext& ctx) const = 0;
  // True for a SyncStage: the runner calls its run_now() directly.
  virtual bool synchronous() const { return false; }
};

// A stage that never waits (no I/O, nothing to await): run_now() does the work, and the stage
// runner calls it directly — no coroutine frame is allocated, resumed and freed for it on every
// request. run() wraps it for callers that await a Stage.
class SyncStage : public Stage {
 public:
  virtual StageResult run_now(pipeline::RequestContext& ctx) const = 0;
  boost::asio::awaitable<StageResult> run(pipeline::RequestContext& ctx) const final {
    co_return run_now(ctx);
  }
  bool synchronous() const final { return true; }
};

namespace config {
struct Config;  // src/config/config.h
}

// What a stage's factory sees: the whole validated configuration. A stage with settings of its own
// reads its top-level section (Config::sections, e.g. `cache:`) and each route's
// (RouteConfig::sections), checks them and builds its per-route state once.
struct StageContext {
  const config::Config& config;
};

// Stages are built once per runtime, after policies and models. Returns the stage, null when the
// configuration does not use it (the slot is then left out: no span, no cost), or a config error
// whose message starts with the offending "file:line:col".
using StageFactory = std::function<Result<std::unique_ptr<Stage>>(const StageContext&)>;
using StageRegistry = Registry<StageFactory>;
using StageRegistrar = Registrar<StageFactory>;

}  // namespace switchboard
