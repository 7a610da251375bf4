#include "pipeline/plans/multi_call.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "guard/redact.h"
#include "pipeline/client_watch.h"
#include "pipeline/request_metrics.h"

namespace switchboard::pipeline::plans {

using asio::awaitable;

namespace {

// Why a member's call was cancelled: the client left, else the plan's deadline passed.
Error cancelled_error(const RequestContext& ctx, const ModelRuntime& m) {
  if (client_left(ctx))
    return make_error(ErrorKind::kBadRequest, "client_gone",
                      "the client left before " + m.config->name + " answered");
  return make_error(ErrorKind::kUpstreamTimeout, "deadline",
                    "the plan's deadline passed before " + m.config->name + " answered");
}

// Ends at the plan's deadline (if any) or when the client leaves (if watched); never on its own
// otherwise (the race it is in cancels it).
awaitable<void> plan_stop(RequestContext& ctx, std::optional<Clock::time_point> deadline) {
  using namespace asio::experimental::awaitable_operators;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, deadline.value_or(Clock::time_point::max()));
  auto expiry = timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!ctx.client_watch) {
    co_await std::move(expiry);
    co_return;
  }
  co_await (std::move(expiry) || ctx.client_watch->until_gone());
}

// One member's call; catches the cancellation of a plan's deadline or of the client's leaving.
awaitable<void> call_one(RequestContext& ctx, CallState& st, const ModelRuntime& m, bool last,
                         MemberAnswer& out) {
  out.model = &m;
  try {
    ModelCallResult r = co_await call_model(ctx, st, m, last);
    out.sent = r.sent;
    if (r.answer && r.answer->call && r.answer->call->status() == 200 && r.answer->body) {
      auto parsed = api::parse_completion(*r.answer->body);
      if (parsed) {
        out.answer = std::move(*parsed);
        out.attempt = std::move(r.answer);
      } else {
        out.error = parsed.error();
        out.attempt = std::move(r.answer);
      }
    } else if (r.answer) {
      out.error = make_error(ErrorKind::kUpstreamError, r.answer->result(), "upstream status");
      if (r.answer->call)
        out.error->code = "upstream_status_" + std::to_string(r.answer->call->status());
      out.held = std::move(r.answer);
    } else if (r.held) {
      out.error = make_error(ErrorKind::kUpstreamError, r.held->result(), "upstream status");
      out.held = std::move(r.held);
    } else if (r.error && r.error->code == "cancelled") {
      // The plan's deadline or the client's leaving cancelled the call (as an error value, not an
      // exception).
      out.error = cancelled_error(ctx, m);
    } else if (r.error) {
      out.error = std::move(r.error);
    } else if (!r.sent) {
      out.error = make_error(ErrorKind::kUnavailable, "no_healthy_replica",
                             "no healthy replica of " + m.config->name + " takes this request");
    } else {
      out.error =
          make_error(ErrorKind::kUpstreamError, "upstream_unreachable", "no replica answered");
    }
  } catch (const boost::system::system_error& e) {
    // The plan's deadline cancels the calls still running (operation_aborted).
    if (e.code() == asio::error::operation_aborted)
      out.error = cancelled_error(ctx, m);
    else
      out.error = make_error(ErrorKind::kUpstreamError, "upstream_unreachable",
                             m.config->name + ": " + e.what());
  } catch (const std::exception& e) {
    out.error = make_error(ErrorKind::kInternal, "internal_error", m.config->name + ": " + e.what());
  }
}

awaitable<void> call_all(RequestContext& ctx, std::vector<CallState>& states,
                         const std::vector<const ModelRuntime*>& models, bool last,
                         std::vector<MemberAnswer>& out) {
  using Op = decltype(asio::co_spawn(std::declval<asio::any_io_executor>(),
                                     std::declval<awaitable<void>>(), asio::deferred));
  auto executor = co_await asio::this_coro::executor;
  std::vector<Op> ops;
  ops.reserve(models.size());
  for (std::size_t i = 0; i < models.size(); ++i)
    ops.push_back(asio::co_spawn(executor, call_one(ctx, states[i], *models[i], last, out[i]),
                                 asio::deferred));
  auto group = asio::experimental::make_parallel_group(std::move(ops));
  auto done = co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)done;
}

}  // namespace

Spend::Spend(const PlanBounds& bounds, Clock::time_point start) : bounds_(bounds) {
  if (bounds.deadline_ms > 0) deadline_ = start + std::chrono::milliseconds(bounds.deadline_ms);
}

std::size_t Spend::allowed(const std::vector<const ModelRuntime*>& models,
                           const RequestContext& ctx, std::string& why,
                           std::int64_t prompt_tokens) const {
  std::size_t wanted = models.size();
  if (bounds_.max_cost && calls_ > 0 && cost_ >= *bounds_.max_cost) {
    why = "max_cost";
    return 0;
  }
  if (deadline_ && Clock::now() >= *deadline_) {
    why = "deadline";
    return 0;
  }
  if (bounds_.max_calls > 0) {
    const auto left = static_cast<std::size_t>(std::max(0, bounds_.max_calls - calls_));
    if (left < wanted) {
      why = "max_calls";
      wanted = left;
    }
  }
  if (bounds_.max_cost && calls_ > 0) {
    double cost = cost_;
    for (std::size_t i = 0; i < wanted; ++i) {
      cost += forecast(*models[i], ctx, prompt_tokens);
      if (cost > *bounds_.max_cost) {
        why = "max_cost";
        return i;
      }
    }
  }
  return wanted;
}

double Spend::forecast(const ModelRuntime& m, const RequestContext& ctx,
                       std::int64_t prompt_tokens) const {
  const std::int64_t prompt = std::max(
      {prompt_tokens, ctx.req.estimated_prompt_tokens, largest_prompt_, std::int64_t{0}});
  // Before any answer (the calls so far failed) only the prompt is forecast: max_tokens is a
  // worst case, and pricing it would stop a plan that has spent nothing from reaching an answer.
  const std::int64_t completion = std::max<std::int64_t>(longest_answer_, 0);
  return m.config->price.cost(prompt, completion);
}

void Spend::add(const MemberAnswer& m, const RequestContext& ctx) {
  const auto& call = ctx.rec.calls[m.call];
  cost_ += call.cost_usd;
  estimated_ = estimated_ || m.estimated;
  if (!m.sent) return;
  ++calls_;
  if (m.ok()) {
    longest_answer_ = std::max(longest_answer_, call.completion_tokens);
    largest_prompt_ = std::max(largest_prompt_, call.prompt_tokens);
  }
}

void price_call(const RequestContext& ctx, MemberAnswer& m, store::CallRecord& rec,
                std::size_t attempts_from, std::int64_t prompt_tokens) {
  const CutCharge cut = cut_tries_charge(ctx, attempts_from, m.model->config->name, prompt_tokens);
  rec.prompt_tokens = cut.prompt_tokens;
  rec.cost_usd = cut.cost_usd;
  m.estimated = cut.tries > 0;
  // A 200 whose body did not parse was still served (and billed) by the upstream: priced on the
  // body's size, like an answer without usage.
  if (!m.attempt) return;
  // Of the prompt tokens, those read from / written into the provider's prompt cache.
  std::int64_t prompt = 0, completion = 0, cached = 0, written = 0;
  if (m.answer && m.answer->usage) {
    prompt = reported_tokens(m.answer->usage->prompt_tokens);
    completion = reported_tokens(m.answer->usage->completion_tokens);
    cached = m.answer->usage->cached_prompt_tokens;
    written = m.answer->usage->cache_write_prompt_tokens;
  } else {
    prompt = prompt_tokens;
    const std::size_t chars = m.answer ? m.answer->content.size()
                              : m.attempt->body ? m.attempt->body->size()
                                                : 0;
    completion = api::estimate_tokens(chars);
    m.estimated = true;
  }
  rec.prompt_tokens += prompt;
  rec.completion_tokens = completion;
  if (auto billed = m.attempt->call->billed_usd())
    rec.cost_usd += *billed;
  else
    rec.cost_usd += m.model->config->price.cost(prompt, completion, cached, written);
}

awaitable<std::vector<MemberAnswer>> call_parallel(RequestContext& ctx,
                                                   const std::vector<const ModelRuntime*>& models,
                                                   const std::string& body, int tier, bool last,
                                                   Spend& spend, std::int64_t prompt_tokens) {
  if (prompt_tokens < 0) prompt_tokens = ctx.req.estimated_prompt_tokens;
  using namespace asio::experimental::awaitable_operators;
  std::vector<MemberAnswer> out(models.size());
  // One state per call, alive until every call of the tier ended (the balancers' view of the
  // request points into them).
  std::vector<CallState> states(models.size());
  for (auto& st : states) st.buffered = body;
  const std::size_t attempts_before = ctx.rec.attempts.size();
  const auto tier_start = Clock::now();
  if (spend.deadline() || ctx.client_watch) {
    auto all = call_all(ctx, states, models, last, out);
    auto race = std::move(all) || plan_stop(ctx, spend.deadline());
    auto won = co_await std::move(race);
    (void)won;
  } else {
    co_await call_all(ctx, states, models, last, out);
  }
  ctx.route_request.prefix_blocks = {};
  label_client_gone(ctx, attempts_before);  // the watch cancelled this tier's calls still running
  // The calls' attempts were recorded as they ended: put them in the plan's model order (each
  // model's own tries keep their order), so that a record does not depend on timing.
  auto rank = [&models](const store::AttemptRecord& a) {
    for (std::size_t i = 0; i < models.size(); ++i)
      if (models[i]->config->name == a.model) return i;
    return models.size();
  };
  // Sorted through their indices, so that each answer's Attempt::record follows its attempt (a
  // refused answer marks its own attempt: deliver.cc note_refused_answer).
  auto& attempts = ctx.rec.attempts;
  std::vector<std::size_t> order(attempts.size() - attempts_before);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = attempts_before + i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return rank(attempts[a]) < rank(attempts[b]);
  });
  std::vector<store::AttemptRecord> sorted;
  sorted.reserve(order.size());
  std::vector<std::size_t> moved_to(attempts.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    moved_to[order[k]] = attempts_before + k;
    sorted.push_back(std::move(attempts[order[k]]));
  }
  std::move(sorted.begin(), sorted.end(), attempts.begin() + static_cast<std::ptrdiff_t>(attempts_before));
  for (auto& m : out)
    for (auto* a : {m.attempt ? &*m.attempt : nullptr, m.held ? &*m.held : nullptr})
      if (a && a->record && *a->record >= attempts_before && *a->record < attempts.size())
        a->record = moved_to[*a->record];
  for (auto& m : out) {
    store::CallRecord rec;
    rec.model = m.model->config->name;
    rec.tier = tier;
    const Attempt* a = m.attempt ? &*m.attempt : m.held ? &*m.held : nullptr;
    if (a) {
      rec.replica = a->replica->config->id;
      rec.ms = a->ms;
      // Every call whose response head came is timed, as a single call is (deliver.cc), whether
      // or not its answer is the one taken.
      if (a->call)
        upstream_latency_series(ctx, *m.model, *a->replica).observe(a->head_ms / 1000);
    } else {
      // A call that failed (a bad answer, a cut body, the deadline): the replica of its last try
      // and the time it took — the tier's, for a try cut short without a time of its own (the
      // call said "" and 0 ms).
      for (std::size_t i = ctx.rec.attempts.size(); i-- > attempts_before;) {
        const auto& t = ctx.rec.attempts[i];
        if (t.model != rec.model || t.replica.empty()) continue;
        rec.replica = t.replica;
        rec.ms = t.ms && *t.ms > 0 ? *t.ms
                      : std::chrono::duration<double, std::milli>(Clock::now() - tier_start).count();
        break;
      }
    }
    rec.result = m.ok() ? "ok" : m.error ? m.error->code : "upstream_unreachable";
    price_call(ctx, m, rec, attempts_before, prompt_tokens);
    m.call = ctx.rec.calls.size();
    ctx.rec.calls.push_back(std::move(rec));
    spend.add(m, ctx);
  }
  co_return out;
}

std::vector<JudgeAnswer> judge_answers(const std::vector<MemberAnswer*>& answered) {
  std::vector<JudgeAnswer> out;
  out.reserve(answered.size());
  for (const auto* m : answered)
    out.push_back({m->model->config->name, m->answer->content, m->answer->tool_calls,
                   m->answer->logprobs, m->answer->finish_reason});
  return out;
}

namespace {

// Every call was billed: limits, metering and the token metrics count them all.
void record_spend(RequestContext& ctx, const Spend& spend) {
  auto& rec = ctx.rec;
  rec.prompt_tokens = 0;
  rec.completion_tokens = 0;
  for (const auto& c : rec.calls) {
    rec.prompt_tokens += c.prompt_tokens;
    rec.completion_tokens += c.completion_tokens;
  }
  rec.cost_usd = spend.cost();
  if (!rec.calls.empty()) rec.tokens_source = spend.estimated() ? "estimated" : "upstream";
  ctx.calls_header = std::to_string(spend.calls());
}

// The attempts the watch cancelled were relabelled by call_parallel.
StageResult client_gone(RequestContext& ctx, const Spend& spend) {
  record_spend(ctx, spend);
  return client_gone_result(ctx, ctx.rec.attempts.size());
}

}  // namespace

awaitable<StageResult> deliver_final(RequestContext& ctx, MemberAnswer& final, const Spend& spend) {
  if (client_left(ctx)) co_return client_gone(ctx, spend);
  auto& rec = ctx.rec;
  Attempt& a = *final.attempt;
  rec.calls[final.call].accepted = true;
  ctx.model = final.model;
  rec.model = final.model->config->name;
  rec.replica = a.replica->config->id;
  rec.upstream_ms = a.head_ms;  // (its upstream latency was observed with its call's)
  rec.status = 200;
  rec.outcome = "ok";
  record_spend(ctx, spend);
  auto headers = ctx.response_headers();
  bool client_ok = true;
  // The guard's redacted values go back into the answer (guard/redact.h), as on a single call.
  if (!ctx.req.stream) {
    std::string body = api::without_unrequested_logprobs(ctx.body, std::move(*a.body));
    if (!ctx.restore.empty()) body = guard::restore_answer_json(body, ctx.restore, ctx.req.json_output);
    client_ok = co_await ctx.client->respond(200, "application/json", headers, std::move(body));
    if (note_refused_answer(ctx, *ctx.client, a)) co_return StageResult::next();
  } else {
    // The answer was buffered: the client's first token waits for every call of the plan.
    // Re-chunked from the whole body, so that tool calls, refusals and every choice survive.
    // Logprobs only when the client asked for them (a `logprobs` judge asks for its own).
    std::string events =
        a.body ? api::completion_body_as_sse(api::without_unrequested_logprobs(ctx.body, *a.body),
                                             ctx.req.include_usage)
                     .value_or(std::string())
               : std::string();
    if (events.empty()) events = api::completion_as_sse(*final.answer, ctx.req.include_usage);
    client_ok = co_await send_buffered_stream(ctx, *ctx.client, headers, std::move(events));
    if (note_refused_answer(ctx, *ctx.client, a)) co_return StageResult::next();
  }
  if (!client_ok) rec.outcome = "client_gone";
  co_return StageResult::next();
}

awaitable<StageResult> deliver_failure(RequestContext& ctx, std::vector<MemberAnswer>& all,
                                       const Spend& spend) {
  if (client_left(ctx)) co_return client_gone(ctx, spend);
  ctx.calls_header = std::to_string(spend.calls());
  MemberAnswer* held = nullptr;
  std::optional<Error> last_error;
  for (auto& m : all) {
    if (m.held) held = &m;
    if (m.error) last_error = m.error;
  }
  if (held) {
    StageResult r = co_await deliver(ctx, *held->held, held->model);
    record_spend(ctx, spend);  // every call of the plan, not the held answer's alone
    co_return r;
  }
  // The record names the last call made (in plan order), not whichever parallel call happened to
  // finish last: the same record online and offline.
  if (!all.empty()) {
    const MemberAnswer& last = all.back();
    const Attempt* a = last.attempt ? &*last.attempt : last.held ? &*last.held : nullptr;
    ctx.rec.model = last.model->config->name;
    ctx.rec.replica = a ? a->replica->config->id : std::string();
  }
  if (!last_error)
    last_error = make_error(ErrorKind::kUpstreamError, "upstream_unreachable", "no model answered");
  if (last_error->code == "deadline") last_error->kind = ErrorKind::kUpstreamTimeout;
  record_spend(ctx, spend);
  const char* outcome =
      last_error->kind == ErrorKind::kUpstreamTimeout ? "upstream_timeout" : "upstream_error";
  co_return StageResult::fail(std::move(*last_error), outcome);
}

}  // namespace switchboard::pipeline::plans
