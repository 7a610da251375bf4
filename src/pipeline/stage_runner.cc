#include "pipeline/stage_runner.h"

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

namespace switchboard::pipeline {

namespace {
double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}
const char* outcome_of(StageResult::Kind k) {
  switch (k) {
    case StageResult::Kind::kNext:
      return "next";
    case StageResult::Kind::kEnd:
      return "end";
    case StageResult::Kind::kFail:
      return "error";
  }
  return "";
}
bool is_cancellation(const boost::system::system_error& e) {
  return e.code() == boost::asio::error::operation_aborted;
}
// What an exception in flight says about itself; rethrows cancellation.
std::string describe_current_exception() {
  try {
    throw;
  } catch (const boost::system::system_error& e) {
    if (is_cancellation(e)) throw;
    return e.what();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception of unknown type";
  }
}
}  // namespace

StageRunner::StageRunner(std::vector<std::unique_ptr<Stage>> stages) : stages_(std::move(stages)) {
  std::erase(stages_, nullptr);  // a factory returns null when its stage is not configured
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i]->name() == "record") record_ = i;
    if (stages_[i]->name() == "decide") decide_ = i;
  }
}

Result<std::unique_ptr<StageRunner>> StageRunner::standard(const config::Config& config) {
  std::vector<std::unique_ptr<Stage>> stages;
  for (const char* slot : kStageOrder) {
    const StageFactory* factory = StageRegistry::instance().find(slot);
    if (!factory) continue;  // an empty slot (guard and cache until they are built)
    auto stage = (*factory)(StageContext{config});
    if (!stage) return stage.error();
    if (!*stage) continue;  // not configured (auth and limits without an `auth:` section)
    stages.push_back(std::move(*stage));
  }
  return std::make_unique<StageRunner>(std::move(stages));
}

Result<std::uint32_t> StageRunner::disable_bit(const std::string& name) const {
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i]->name() != name) continue;
    if (stages_[i]->required())
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        "stage '" + name + "' cannot be switched off");
    return std::uint32_t{1} << i;
  }
  // A slot of the standard order that this configuration leaves out (a guard or cache no route
  // uses): there is nothing to switch off.
  for (const char* slot : kRequiredWhenPresent)
    if (name == slot)
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        "stage '" + name + "' cannot be switched off");
  for (const char* slot : kStageOrder)
    if (name == slot) return std::uint32_t{0};
  std::string known;
  for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
  return make_error(ErrorKind::kBadRequest, "bad_config",
                    "no stage '" + name + "' (stages: " + known + ")");
}

std::vector<std::string> StageRunner::names() const {
  std::vector<std::string> out;
  for (const auto& s : stages_) out.emplace_back(s->name());
  return out;
}

asio::awaitable<void> StageRunner::send_error(RequestContext& ctx, const Error& e,
                                              const char* outcome) const {
  auto& rec = ctx.rec;
  rec.status = http_status(e.kind);
  rec.outcome = outcome;
  // The client closed its connection (pipeline/client_watch.h): nginx's 499, and nobody to tell.
  const bool gone = std::string_view(outcome) == "client_gone";
  if (gone) rec.status = 499;
  rec.error_code = e.code;
  rec.error_message = e.message;
  ctx.error = e;
  if (ctx.metrics) ctx.metrics->errors.with({ctx.route_label, rec.model, e.code, rec.api}).inc();
  if (ctx.explain_only || !ctx.client || gone) co_return;
  auto headers = ctx.response_headers();
  // The server's own overload passes in a second; a client that honours retry-after waits that.
  if (e.code == "overloaded") headers.emplace_back("retry-after", "1");
  if (!co_await ctx.client->error(e, headers)) rec.outcome = "client_gone";
}

asio::awaitable<void> StageRunner::run(RequestContext& ctx) const {
  ctx.rec.stages.reserve(stages_.size());
  auto start =
      Clock::now();  // each stage starts when the previous one ended: one clock read per stage
  std::size_t i = 0;
  bool ended = false;
  for (; i < stages_.size() && !ended; ++i) {
    if (i == record_) break;
    if (ctx.explain_only && i > decide_) break;
    const Stage& stage = *stages_[i];
    if (ctx.disabled_stages & (std::uint32_t{1} << i)) {
      ctx.rec.stages.push_back({std::string(stage.name()), 0, "off"});
      continue;
    }
    StageResult result;
    std::optional<std::string> crash;
    try {
      if (stage.synchronous())
        result = static_cast<const SyncStage&>(stage).run_now(ctx);  // no coroutine frame
      else
        result = co_await stage.run(ctx);
    } catch (...) {
      crash = describe_current_exception();
    }
    if (crash) {
      spdlog::error("stage {} failed on request {}: {}", stage.name(), ctx.rec.id, *crash);
      result =
          StageResult::fail(make_error(ErrorKind::kInternal, "internal_error",
                                       "stage " + std::string(stage.name()) + " failed: " + *crash),
                            "internal_error");
    }
    const auto end = Clock::now();
    ctx.rec.stages.push_back(
        {std::string(stage.name()), us_between(start, end), outcome_of(result.kind)});
    start = end;
    // Answering the client may fail too (an exception from the writer): the request is then
    // recorded as an internal error and the server answers 500 if nothing was sent.
    std::optional<std::string> answer_crash;
    try {
      switch (result.kind) {
        case StageResult::Kind::kNext:
          break;
        case StageResult::Kind::kFail:
          if (crash && ctx.client && ctx.rec.status != 0) {
            // The stage had already answered (or started a stream): nothing more can be sent.
            ctx.rec.outcome = "internal_error";
            ctx.rec.error_code = result.error->code;
            ctx.rec.error_message = result.error->message;
          } else {
            co_await send_error(ctx, *result.error, result.outcome);
          }
          ended = true;
          break;
        case StageResult::Kind::kEnd:
          if (ctx.reply && !ctx.explain_only && ctx.client) {
            ctx.rec.status = ctx.reply->status;
            if (ctx.rec.outcome.empty()) ctx.rec.outcome = "ok";
            auto headers = ctx.response_headers();
            if (!co_await ctx.client->respond(ctx.reply->status, ctx.reply->content_type, headers,
                                              std::move(ctx.reply->body)))
              ctx.rec.outcome = "client_gone";
          }
          ended = true;
          break;
      }
    } catch (...) {
      answer_crash = describe_current_exception();
    }
    if (answer_crash) {
      spdlog::error("answering request {} failed: {}", ctx.rec.id, *answer_crash);
      mark_internal_error(ctx, "answering the client failed: " + *answer_crash);
      ended = true;
    }
  }
  if (ctx.explain_only) co_return;
  for (auto& after : ctx.after_answer) {
    try {
      after(ctx);
    } catch (...) {
      spdlog::error("after-answer hook failed on request {}: {}", ctx.rec.id,
                    describe_current_exception());
    }
  }
  if (record_ == SIZE_MAX) co_return;
  const Stage& record = *stages_[record_];
  if (ctx.disabled_stages & (std::uint32_t{1} << record_)) co_return;  // the route keeps no records
  start = Clock::now();  // the reply (if any) was sent in between
  std::optional<std::string> record_crash;
  try {
    if (record.synchronous())
      static_cast<const SyncStage&>(record).run_now(ctx);
    else
      co_await record.run(ctx);
  } catch (...) {
    record_crash = describe_current_exception();
  }
  if (record_crash)
    spdlog::error("stage record failed on request {}: {}", ctx.rec.id, *record_crash);
  ctx.rec.stages.push_back(
      {"record", us_between(start, Clock::now()), record_crash ? "error" : "next"});
  if (!ctx.sink) co_return;
  try {
    ctx.sink->write(std::move(ctx.rec));
    ctx.recorded = true;
  } catch (...) {
    spdlog::error("recording request {} failed: {}", ctx.rec.id, describe_current_exception());
  }
}

void mark_internal_error(RequestContext& ctx, const std::string& message) {
  auto& rec = ctx.rec;
  // A status already sent stays (the client got it); otherwise the server answers 500.
  if (rec.status == 0) rec.status = 500;
  rec.outcome = "internal_error";
  rec.error_code = "internal_error";
  rec.error_message = message;
}

}  // namespace switchboard::pipeline
