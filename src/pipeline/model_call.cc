#include "pipeline/model_call.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <charconv>
#include <variant>

#include "api/chat_request.h"
#include "api/json_util.h"
#include "pipeline/client_watch.h"
#include "pool/health.h"

namespace switchboard::pipeline {

using asio::awaitable;

void count_replica_failure(RequestContext& ctx, const Attempt& a, std::string_view result) {
  if (std::int64_t ms = pool::record_failure(*a.replica, a.model->outlier, pool::steady_ms(),
                                             a.model->replica_ptrs)) {
    ctx.metrics->ejections.with({a.model->config->name, a.replica->config->id}).inc();
    spdlog::warn("replica {} of {} ejected for {} ms after {} failures in a row (last: {})",
                 a.replica->config->id, a.model->config->name, ms,
                 a.replica->health.consecutive_failures.load(std::memory_order_relaxed), result);
  }
}

namespace {
constexpr std::size_t kMaxUpstreamBody = 64 * 1024 * 1024;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Shared by the two branches of a hedged attempt (both run on the request's worker thread).
struct HedgeRace {
  bool decided = false;         // a branch has returned the race's result
  bool primary_running = true;  // the first attempt has not finished
  bool hedge_running = false;   // the hedge was sent and has not finished
};

// While `watching` holds what this sets, the client leaving (pipeline/client_watch.h) stops the
// attempt where it is: the request under way through `canceller` (when given: connect, write,
// head), the body's read through the attempt's call. Arms the watch; a client already gone stops
// it at once.
void stop_when_client_leaves(std::optional<ClientWatch::Listening>& watching,
                             RequestContext& ctx, Attempt& a, CallCanceller* canceller) {
  ClientWatch* watch = ctx.client_watch;
  if (!watch) return;
  watch->arm();
  auto stop = [canceller, &a] {
    if (canceller) canceller->cancel();
    if (a.call) a.call->cancel();
    return true;
  };
  if (watch->gone()) stop();
  watching.emplace(*watch, stop);
}

// The body attempt `a` (its model, replica API and upstream name set) sends with `reasoning`:
// its API's (NativeApi::body), and for a request continuing the assistant's last turn, to a chat
// replica of a model with `prefill: continue`, asking the server to continue that turn.
std::string_view body_to_send(const RequestContext& ctx, CallState& st, const Attempt& a,
                              config::ReasoningMode reasoning) {
  const std::string_view body = a.api->body(ctx, st, a.upstream_name, reasoning);
  if (!ctx.continue_last_turn || !a.model->config->continue_prefill || a.api->name() != "chat")
    return body;
  return st.continuing(body);
}

// One attempt on replica `r` of `m`, whose API takes the request (the callers check refusal()
// first): sends the request, waits for the head (and, unless it is an event stream, the body).
// Fills `a` (a fresh Attempt) in place: returned by value, the Attempt would sit in this frame
// twice (the local and the promise's result) and push it over asio's 1020-byte recycling limit.
awaitable<void> run_attempt(RequestContext& ctx, CallState& st, const ModelRuntime& m,
                            Replica& r, Attempt& a,
                            std::optional<config::ReasoningMode> reasoning = std::nullopt) {
  a.model = &m;
  a.replica = &r;
  a.in_flight = InFlight(r.in_flight);
  const auto& rc = *r.config;
  // The upstream must see the name it knows: the adapter's (vLLM serves LoRA adapters under their
  // own names), else the replica's rename, else the chosen model's name (the client may have named
  // a route such as "auto").
  std::string_view upstream_name = !ctx.adapter.empty() ? std::string_view(ctx.req.model)
                                   : !rc.upstream_model.empty()
                                       ? std::string_view(rc.upstream_model)
                                       : std::string_view(m.config->name);
  a.sent_at = Clock::now();
  const auto deadline = a.sent_at + m.config->timeout;
  a.api = &m.apis[r.ordinal]->serving(ctx, st);  // its refusal() was checked by the caller
  const std::string_view path = a.api->path(ctx);
  a.reasoning = reasoning.value_or(m.reasoning());
  a.upstream_name = upstream_name;
  const std::string_view body = body_to_send(ctx, st, a, a.reasoning);
  a.sent_body = body;
  // The client leaving (pipeline/client_watch.h) stops this attempt where it is: the request
  // under way (connect, write, head) through the canceller, the body's read through the call.
  CallCanceller canceller;
  ModelCall call{m.config->name,
                 &r,
                 path,
                 body,
                 m.authorization[r.ordinal],
                 st.streams(ctx),
                 deadline,
                 m.upstream_headers[r.ordinal],
                 &canceller,
                 &a.sent};
  call.connect_timeout = m.config->connect_timeout;
  call.resent = &a.resent;
  if (rc.pass_anthropic_beta && a.api->passes_client_headers())
    call.client_headers = ctx.passed_headers;
  std::optional<ClientWatch::Listening> watching;
  stop_when_client_leaves(watching, ctx, a, &canceller);
  auto started = co_await ctx.upstream->start(call);
  a.head_ms = ms_since(a.sent_at);
  if (!started) {
    a.error = started.error();
  } else if (const unsigned status = (*started)->status(); status > 200 && status < 300) {
    // Every model API answers 200 (or an error): a 201, 204 or 206 is no answer to relay (a 204
    // has no body at all) — the replica is broken, as with a body that is not JSON.
    a.error = make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                         rc.label + " answered " +
                             std::to_string(status) + " where a model's answer is 200");
  } else if (status == 401 || status == 407) {
    // The replica (or a proxy in front of it) refused the gateway's own credentials — the
    // operator's key, not the client's: passed on, it told the client its key was wrong and could
    // carry the operator's key prefix ("Incorrect API key provided: sk-abc***"). A broken replica
    // for this gateway: retried elsewhere, counted against its health; the client gets 502.
    // (403 is passed on: providers and filters in front of models use it for refusals of the
    // request's content — "your input was flagged" — which the client must see.)
    a.error = make_error(ErrorKind::kUpstreamError, "upstream_auth",
                         rc.label + " refused the gateway's " +
                             "credentials (HTTP " + std::to_string(status) +
                             "): check the model's api_key_env");
  } else {
    a.call = a.api->adapt(ctx, *m.config, std::move(*started));
    if (canceller.cancelled()) a.call->cancel();  // came as the head did: the body is not read
    // A whole answer is read here, also when a stream was asked for and the upstream answered
    // whole (an error, or a server that does not stream): its body decides the attempt's result.
    if (!st.streams(ctx) || !a.call->content_type().starts_with("text/event-stream")) {
      auto whole = co_await a.call->read_all(kMaxUpstreamBody, deadline);
      api::AnswerCheck check;
      if (whole && a.call->status() == 200) check = a.api->check_answer(ctx, *whole);
      std::string& problem = check.problem;
      // A server that ignores `stream` (a proxy, an old or minimal server): its whole answer is
      // re-chunked for the client, or — where this API cannot — it is no answer to the request.
      if (whole && problem.empty() && a.call->status() == 200 && st.streams(ctx)) {
        a.restreamed = a.api->whole_as_stream(ctx, *whole);
        if (!a.restreamed) problem = "a whole answer to a streaming request";
        // Its events take several times the answer's bytes (each piece a chunk of its own): held
        // to the bound a relayed stream has.
        else if (a.restreamed->size() > m.config->max_stream_bytes)
          problem = "a whole answer to a streaming request whose events exceed max_stream_bytes (" +
                    std::to_string(m.config->max_stream_bytes) + ")";
        if (!problem.empty()) a.restreamed.reset();
      }
      if (!problem.empty()) {
        // An HTML error page from a proxy in front of the model, a plain-text message, JSON of
        // another shape: this replica is broken (a failure: retried elsewhere, counted against
        // its health), not answering.
        a.error = make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                             rc.label + " answered 200 with " +
                                 problem);
        a.call.reset();
      } else if (whole) {
        a.body = std::move(*whole);
        a.usage_read = check.usage_read;
        a.usage = std::move(check.usage);
      } else {
        a.error = whole.error();
        a.call.reset();
      }
    }
  }
  // A call the caller cancelled (a plan's deadline) is no replica failure: not counted against
  // its health (note_attempt), not retried elsewhere (call_model).
  if (a.error && a.error->code == "cancelled") a.cancelled = true;
  a.ms = ms_since(a.sent_at);
  if (a.call) {
    if (auto recorded = a.call->recorded_latency_ms()) a.head_ms = a.ms = *recorded;
  }
}

// Appends the attempt to the decision record and reports its outcome to the replica's health.
// A 429 whose Retry-After gives seconds: the replica asked for a pause, so it is left out of picks
// for that long (at most the model's max_ejection_ms; ReplicaHealth::paused_until_ms), without
// counting as a failure or a success (a replica answering 429 with Retry-After: 30 kept its share of first attempts: its fast
// refusals made it look idle to the load-aware balancers).
void pause_for_retry_after(const Attempt& a) {
  const std::string_view v = a.call->retry_after();
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || end != v.data() + v.size() || seconds <= 0) return;  // (an HTTP date)
  const std::int64_t cap = std::max<std::int64_t>(a.model->outlier.max_ejection_ms, 1000);
  const std::int64_t until = pool::steady_ms() + std::min(std::min(seconds, cap / 1000 + 1) * 1000, cap);
  auto& paused = a.replica->health.paused_until_ms;
  std::int64_t current = paused.load(std::memory_order_relaxed);
  while (current < until &&
         !paused.compare_exchange_weak(current, until, std::memory_order_relaxed)) {
  }
}

void note_attempt(RequestContext& ctx, Attempt& a, bool hedge, std::size_t unavailable) {
  // Each copy sent again after a stale pooled connection, before the attempt it became (no
  // failure of the replica's: it closed an idle connection).
  for (int i = 0; i < a.resent; ++i)
    ctx.rec.attempts.push_back({a.model->config->name, a.replica->config->id, "stale_connection",
                                std::nullopt, hedge, 0, false});
  a.record = ctx.rec.attempts.size();
  ctx.rec.attempts.push_back({a.model->config->name, a.replica->config->id, a.result(), a.ms, hedge,
                              unavailable, a.sent});  // unavailable: skipped as ejected or down
  if (a.cancelled || a.api_mismatch) return;  // says nothing about the replica
  if (!a.replica_failed()) {
    // A stream is judged when it ends (deliver.cc relay_stream): one that breaks off is a failure.
    if (a.call && !a.body && a.call->status() == 200 &&
        a.call->content_type().starts_with("text/event-stream"))
      return;
    if (a.call && a.call->status() == 429) {  // busy: neither a fault nor a sign of health
      pause_for_retry_after(a);
      return;
    }
    pool::record_success(*a.replica, pool::steady_ms(a.sent_at));
    return;
  }
  count_replica_failure(ctx, a, a.result());
}


// run_attempt() on `first`, plus — when no answer came within the model's hedge.after_ms — a second
// one on another healthy replica (if the retry budget allows); the first good answer wins and the
// other attempt is cancelled. Appends the hedge's replica to st.tried.
awaitable<Attempt> hedged_attempt(RequestContext& ctx, CallState& st, const ModelRuntime& m,
                                  Replica& first, std::size_t unavailable) {
  using namespace asio::experimental::awaitable_operators;
  HedgeRace race;
  auto executor = co_await asio::this_coro::executor;
  // Waits until the other branch ends the race (and cancels this one).
  auto park = [executor]() -> awaitable<void> {
    asio::steady_timer forever(executor, asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
  };
  auto cancelled = [&](Replica& r) {
    Attempt a;
    a.model = &m;
    a.replica = &r;
    a.api = &m.apis[r.ordinal]->serving(ctx, st);
    a.cancelled = true;
    return a;
  };
  // An attempt cut short while it ran (the race's cancellation): its send time and how long it
  // ran are kept (the record said 0 ms for a call that waited until a plan's deadline).
  auto cut_short = [&](Attempt& ran, Replica& r) {
    Attempt a = cancelled(r);
    a.sent = ran.sent;
    a.sent_at = ran.sent_at;
    if (ran.sent_at != Clock::time_point{}) a.ms = ms_since(ran.sent_at);
    return a;
  };
  auto primary = [&]() -> awaitable<Attempt> {
    Attempt a;
    try {
      co_await run_attempt(ctx, st, m, first, a);
    } catch (const std::exception&) {
      a = cut_short(a, first);
    }
    race.primary_running = false;
    if (race.decided) a.cancelled = true;
    note_attempt(ctx, a, false, unavailable);
    if (a.cancelled) co_return a;
    // A failure waits for a hedge in progress; otherwise it ends the race (and the retry loop goes
    // on).
    if (a.retryable() && race.hedge_running) {
      co_await park();
      a.cancelled = true;
      co_return a;
    }
    race.decided = true;
    co_return a;
  };
  auto hedge = [&]() -> awaitable<Attempt> {
    asio::steady_timer timer(executor, m.config->pool.hedge.after);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || race.decided) co_return cancelled(first);
    pool::CandidateBuffer buffer;
    auto c = pool::healthy_candidates(m.replica_ptrs, st.tried, pool::steady_ms(), buffer);
    // Only replicas that take the request's API can hedge (nothing is spent on the others).
    std::vector<Replica*> takers;
    for (Replica* r : c.replicas)
      if (m.apis[r->ordinal]->serving(ctx, st).refusal(ctx, st, *r).empty()) takers.push_back(r);
    ctx.route_request.prefix_blocks = st.blocks;  // this model's (see call_model)
    ctx.route_request.retry = true;
    Replica* second = takers.empty() ? nullptr : &m.balancer->pick(takers, ctx.route_request);
    pool::RetryBudget::Token token;
    if (second) token = m.retry_budget->try_acquire(pool::active_requests(m.replica_ptrs));
    if (!second || !token) {
      if (second) {
        ctx.rec.attempts.push_back({m.config->name, "", "budget_exhausted", std::nullopt, true, 0});
        ctx.metrics->budget_exhausted.with({m.config->name}).inc();
      }
      co_await park();  // no hedge: the primary decides
      co_return cancelled(first);
    }
    st.tried.push_back(second);
    ctx.metrics->hedges.with({m.config->name}).inc();
    race.hedge_running = true;
    Attempt a;
    try {
      co_await run_attempt(ctx, st, m, *second, a);
    } catch (const std::exception&) {
      a = cut_short(a, *second);
    }
    race.hedge_running = false;
    if (race.decided) a.cancelled = true;
    note_attempt(ctx, a, true, 0);
    if (a.cancelled) co_return a;
    if (a.retryable() && race.primary_running) {
      co_await park();
      a.cancelled = true;
      co_return a;
    }
    race.decided = true;
    co_return a;
  };
  auto won = co_await (primary() || hedge());
  Attempt a = std::visit([](Attempt& w) { return std::move(w); }, won);
  // The branches turn their own cancellation into a cancelled attempt; when the cancellation came
  // from outside (a plan's deadline, the client gone), the call ends here as an unhedged one
  // would, instead of the retry loop taking a token and trying another replica. A good answer that
  // came in before it is kept.
  asio::cancellation_state outer = co_await asio::this_coro::cancellation_state;
  if (a.retryable() && outer.cancelled() != asio::cancellation_type::none)
    throw boost::system::system_error(asio::error::operation_aborted);
  co_return a;
}

// Whether `a` can be a refusal of the reasoning setting at all (checked before
// refuses_reasoning(), so that an answer that is not one costs no coroutine frame).
bool may_refuse_reasoning(const ModelRuntime& m, const Attempt& a) {
  return a.call && a.call->status() == 400 && m.config->reasoning == config::ReasoningMode::kAuto &&
         a.reasoning == config::ReasoningMode::kAuto;
}

// Whether `a` is a 400 refusing the reasoning setting a chat client sent (reasoning_effort, or the
// thinking it became for an Anthropic replica) to a model with `reasoning: auto`, whose body
// without it differs from what was sent: the error's message names reasoning_effort,
// reasoning.effort or thinking (or its param is reasoning_effort), and not a value or a budget
// (a model that reasons but not at that effort). Reads a streamed request's error body into
// a.body (deliver() takes it from there); a body that cannot be read makes the attempt a failure.

awaitable<bool> refuses_reasoning(RequestContext& ctx, CallState& st, const ModelRuntime& m,
                                  Attempt& a) {
  if (!may_refuse_reasoning(m, a)) co_return false;
  // Nothing to leave out: a pass-through, or a translation that asked no thinking.
  if (body_to_send(ctx, st, a, config::ReasoningMode::kOff) == a.sent_body)
    co_return false;
  if (!a.body) {
    // The client leaving stops this read too (as it stops the attempt's own, run_attempt).
    std::optional<ClientWatch::Listening> watching;
    stop_when_client_leaves(watching, ctx, a, nullptr);
    auto whole = co_await a.call->read_all(kMaxUpstreamBody, a.sent_at + m.config->timeout);
    watching.reset();
    if (!whole) {  // no answer after all: a failure, recorded as one
      a.error = whole.error();
      a.call.reset();
      if (a.record) ctx.rec.attempts[*a.record].result = a.result();
      co_return false;
    }
    a.body = std::move(*whole);
  }
  const auto j = api::parse_json(*a.body);
  const auto e = j.is_object() ? j.find("error") : j.end();
  if (e == j.end() || !e->is_object()) co_return false;
  const auto m_it = e->find("message");
  std::string message = m_it != e->end() && m_it->is_string() ? m_it->get<std::string>() : "";
  std::transform(message.begin(), message.end(), message.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool param = e->contains("param") && (*e)["param"] == "reasoning_effort";
  const bool named = param || message.find("reasoning_effort") != std::string::npos ||
                     message.find("reasoning.effort") != std::string::npos ||
                     message.find("thinking") != std::string::npos;
  co_return named && message.find("value") == std::string::npos &&
      message.find("budget") == std::string::npos;
}

}  // namespace

CutCharge cut_tries_charge(const RequestContext& ctx, std::size_t from, std::string_view model,
                           std::int64_t prompt_tokens) {
  CutCharge c;
  // The common case, one try that answered: nothing was cut.
  if (ctx.rec.attempts.size() == from + 1 && ctx.rec.attempts[from].result == "ok") return c;
  for (std::size_t i = from; i < ctx.rec.attempts.size(); ++i) {
    const auto& a = ctx.rec.attempts[i];
    if (a.replica.empty() || (!model.empty() && a.model != model)) continue;
    // Cut short by the gateway, or timed out once the replica had the request (it may have run
    // it to the end: a provider bills what it generated, whoever waited).
    if (a.result != "cancelled" && a.result != "client_gone" &&
        !(a.sent && a.result == "upstream_timeout"))
      continue;
    const ModelRuntime* m = ctx.runtime ? ctx.runtime->find_model(a.model) : nullptr;
    if (!m) continue;
    ++c.tries;
    c.prompt_tokens += prompt_tokens;
    c.cost_usd += m->config->price.cost(prompt_tokens, 0);
  }
  return c;
}

void add_cut_charge(RequestContext& ctx, const CutCharge& c) {
  if (c.tries == 0) return;
  ctx.rec.prompt_tokens += c.prompt_tokens;
  ctx.rec.cost_usd += c.cost_usd;
  ctx.rec.tokens_source = "estimated";
}

bool looks_like_json_object(std::string_view body) {
  // Plain loops: find_first_not_of(" \t\r\n") calls memchr once per character it looks at.
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  std::size_t first = 0, last = body.size();
  while (first < last && blank(body[first])) ++first;
  while (last > first && blank(body[last - 1])) --last;
  return first < last && body[first] == '{' && body[last - 1] == '}';
}

std::string Attempt::result() const {
  if (cancelled) return "cancelled";
  if (error) return error->code;
  if (call->status() >= 500 || call->status() == 429)
    return "upstream_status_" + std::to_string(call->status());
  return "ok";
}

bool reasoning_changes(const RequestContext& ctx, std::string_view base,
                       config::ReasoningMode reasoning) {
  if (reasoning == config::ReasoningMode::kOn) return !ctx.reasoning_effort.empty();
  return reasoning == config::ReasoningMode::kOff && api::has_reasoning_effort(base);
}

std::optional<std::string> reasoning_body(const RequestContext& ctx, std::string_view base,
                                          config::ReasoningMode reasoning) {
  if (!reasoning_changes(ctx, base, reasoning)) return std::nullopt;
  return reasoning == config::ReasoningMode::kOn
             ? api::with_reasoning_effort(base, ctx.reasoning_effort)
             : api::without_reasoning_effort(base);
}

std::string_view CallState::continuing(std::string_view body) {
  // Keyed by the bytes' address: the bodies handed out stay where they are (ctx.body, `buffered`
  // or an entry of this list), and a key starting with \x04 names no model.
  const std::string key = "\x04" + std::to_string(reinterpret_cast<std::uintptr_t>(body.data()));
  for (const auto& [n, b] : rewritten)
    if (n == key) return b;
  std::string out = api::with_first_member(body, "add_generation_prompt", "false");
  return rewritten.emplace_front(key, api::with_first_member(out, "continue_final_message", "true"))
      .second;
}

std::string_view CallState::body_for(const RequestContext& ctx, std::string_view name,
                                     config::ReasoningMode reasoning) {
  const std::string_view base = buffered ? std::string_view(*buffered) : ctx.body;
  const bool changes = reasoning_changes(ctx, base, reasoning);
  if (!changes && !buffered && name == ctx.req.model) return ctx.body;
  if (!changes) {  // the common case: under the name, found without building a key
    for (const auto& [n, body] : rewritten)
      if (n == name) return body;
    return rewritten.emplace_front(std::string(name), api::rewrite_model(base, name)).second;
  }
  // Marked with the setting (another model may share the upstream name with another setting).
  const std::string key = std::string(name) + "\x03" + std::to_string(static_cast<int>(reasoning));
  for (const auto& [n, body] : rewritten)
    if (n == key) return body;
  return rewritten.emplace_front(key, api::rewrite_model(*reasoning_body(ctx, base, reasoning), name))
      .second;
}

awaitable<ModelCallResult> call_model(RequestContext& ctx, CallState& st, const ModelRuntime& m,
                                      bool last) {
  ModelCallResult out;
  const auto& pc = m.config->pool;
  // The balancer's view of the request, with this model's prefix blocks (empty unless it uses
  // them).
  st.blocks = pool::prefix_blocks_for(*m.balancer, ctx.req.prompt_text);
  ctx.route_request.prefix_blocks = st.blocks;
  ctx.route_request.adapter = ctx.adapter;
  st.tried.clear();
  bool sent = false;                     // an attempt went out (a refused replica is not one)
  std::vector<Replica*> not_tried;       // the last model's replicas tried anyway
  bool tried_anyway = false;
  for (std::int32_t n = 0; n < pc.retry.max_attempts && !out.answer && !out.stop; ++n) {
    if (client_left(ctx)) {  // nobody to answer: no other replica is tried
      out.stop = true;
      break;
    }
    auto c = pool::healthy_candidates(m.replica_ptrs, st.tried, pool::steady_ms(), st.buffer);
    std::span<Replica* const> candidates = c.replicas;
    if (candidates.empty()) {
      if (!last) {  // none (left) is available: on to the next model
        if (sent) break;  // every available replica of this model was tried
        if (st.tried.empty()) {
          ctx.rec.attempts.push_back(
              {m.config->name, "", "no_healthy_replica", std::nullopt, false, c.unavailable});
          ctx.rec.reason += "; no healthy replica of " + m.config->name;
        } else {  // the healthy ones speak another API (their refusals are recorded)
          ctx.rec.reason += "; no healthy replica of " + m.config->name + " takes this request";
        }
        break;
      }
      // The last model has no healthy replica either (or none that takes this request): better
      // a replica that may have recovered than no answer.
      not_tried.clear();
      for (Replica* r : m.replica_ptrs)
        if (std::find(st.tried.begin(), st.tried.end(), r) == st.tried.end()) not_tried.push_back(r);
      if (not_tried.empty()) break;
      candidates = not_tried;
      if (!tried_anyway)
        ctx.rec.reason += sent ? "; the other replicas of " + m.config->name +
                                     " are ejected or down, tried anyway"
                               : "; every replica of " + m.config->name +
                                     " that takes this request is ejected or down, tried anyway";
      tried_anyway = true;
    }
    // This model's blocks again: a plan's parallel calls share the request's view, and another
    // model's call may have set its own while this one awaited an attempt.
    ctx.route_request.prefix_blocks = st.blocks;
    ctx.route_request.retry = !st.tried.empty();
    Replica& r = m.balancer->pick(candidates, ctx.route_request);
    st.tried.push_back(&r);
    // A replica that speaks another API than this request can use is skipped before anything is
    // spent on it: no attempt, no retry budget, no hedge (recorded as api_mismatch), so a model
    // whose replicas speak different APIs reaches the one that takes the request.
    if (std::string why = m.apis[r.ordinal]->serving(ctx, st).refusal(ctx, st, r); !why.empty()) {
      Attempt refused;
      refused.model = &m;
      refused.replica = &r;
      refused.api_mismatch = true;
      refused.error = make_error(ErrorKind::kUpstreamError, "api_mismatch", why);
      note_attempt(ctx, refused, false, c.unavailable);
      if (!out.error) out.error = refused.error;
      --n;
      continue;
    }
    pool::RetryBudget::Token token;  // held while this retry waits for its answer
    if (!st.first) {
      token = m.retry_budget->try_acquire(pool::active_requests(m.replica_ptrs));
      if (!token) {
        ctx.rec.attempts.push_back(
            {m.config->name, "", "budget_exhausted", std::nullopt, false, 0});
        ctx.metrics->budget_exhausted.with({m.config->name}).inc();
        out.stop = true;
        break;
      }
      ctx.metrics->retries.with({m.config->name}).inc();
    }
    st.first = false;
    sent = true;
    const std::int64_t ejected_before = r.health.ejected_until_ms.load(std::memory_order_relaxed);
    Attempt a;
    if (pc.hedge.enabled && !st.streams(ctx) && m.replica_ptrs.size() > 1) {
      a = co_await hedged_attempt(ctx, st, m, r, c.unavailable);
    } else {
      try {
        co_await run_attempt(ctx, st, m, r, a);
      } catch (const boost::system::system_error& e) {
        // Cancelled while in a step that does not turn cancellation into a result (resolving the
        // upstream's name): the call is still recorded, as a cancelled one.
        if (e.code() != asio::error::operation_aborted) throw;
        a.model = &m;
        a.replica = &r;
        a.api = &m.apis[r.ordinal]->serving(ctx, st);
        a.cancelled = true;
        if (a.sent_at != Clock::time_point{}) a.ms = ms_since(a.sent_at);  // how long it ran
        note_attempt(ctx, a, false, c.unavailable);
        throw;
      }
      note_attempt(ctx, a, false, c.unavailable);
    }
    // A replica tried while ejected that answered 200 is back: the answer was its probe
    // (pool/health.h). Unless another request ejected it again meanwhile.
    if (tried_anyway && !a.cancelled && a.call && a.call->status() == 200 && a.replica == &r) {
      std::int64_t seen = ejected_before;
      r.health.ejected_until_ms.compare_exchange_strong(seen, 0, std::memory_order_relaxed);
    }
    if (a.cancelled && a.error) {  // the caller gave up on this call: nothing more is sent
      ctx.rec.model = m.config->name;
      ctx.rec.replica = a.replica->config->id;
      out.error = a.error;
      out.stop = true;
      break;
    }
    if (may_refuse_reasoning(m, a) && co_await refuses_reasoning(ctx, st, m, a)) {
      // This request goes again to the same replica without it (a fix of the request, not a retry
      // of a failure: no retry budget). Learned for the model once that call succeeds.
      Replica& same = *a.replica;
      if (a.record) ctx.rec.attempts[*a.record].result = "reasoning_refused";
      ctx.rec.reason += "; " + m.config->name + " refused the reasoning setting: sent without it";
      if (ctx.metrics) ctx.metrics->reasoning_refused.with({m.config->name}).inc();
      a = Attempt();  // the refused call's connection and in-flight count are released first
      co_await run_attempt(ctx, st, m, same, a, config::ReasoningMode::kOff);
      note_attempt(ctx, a, false, c.unavailable);
      if (a.call && a.call->status() / 100 == 2 && !m.reasoning_refused->exchange(true))
        spdlog::warn("model {} refused a reasoning setting (400 from replica {}): none is sent to "
                     "it from now on (`reasoning: off` in its config says so up front)",
                     m.config->name, same.config->id);
    }
    ctx.rec.model = m.config->name;
    ctx.rec.replica = a.replica->config->id;
    if (!a.retryable()) {
      out.answer = std::move(a);
    } else if (a.call) {
      out.held = std::move(a);
    } else if (a.error) {
      out.error = a.error;
    }
  }
  out.sent = sent;
  // No replica of the model takes what the request asks for (every one refused it before anything
  // was sent): the request's part, not a replica, is at fault — 400, which clients do not retry
  // (a 502 had the SDKs send it twice more).
  if (!sent && out.error && out.error->code == "api_mismatch")
    out.error->kind = ErrorKind::kBadRequest;
  co_return out;
}

}  // namespace switchboard::pipeline
