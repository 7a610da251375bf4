// POST /v1/chat/completions: the request path of one chat completion.
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <variant>

#include "api/chat_request.h"
#include "api/errors.h"
#include "api/sse.h"
#include "pipeline/embedding_step.h"
#include "pipeline/explain.h"
#include "pipeline/gateway.h"
#include "pipeline/routing_headers.h"
#include "pool/health.h"
#include "pool/pool.h"

namespace switchboard::pipeline {

using asio::awaitable;
using http::bhttp::field;
using Clock = std::chrono::steady_clock;

namespace {
constexpr std::size_t kMaxUpstreamBody = 64 * 1024 * 1024;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Keeps a replica's in-flight count (the balancers' load signal) exact on every exit path.
class InFlight {
 public:
  InFlight() = default;
  explicit InFlight(std::atomic<std::int64_t>& n) : n_(&n) { n_->fetch_add(1, std::memory_order_relaxed); }
  InFlight(InFlight&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  InFlight& operator=(InFlight&& o) noexcept {
    if (this != &o) {
      reset();
      n_ = std::exchange(o.n_, nullptr);
    }
    return *this;
  }
  ~InFlight() { reset(); }
  void reset() {
    if (n_) n_->fetch_sub(1, std::memory_order_relaxed);
    n_ = nullptr;
  }

 private:
  std::atomic<std::int64_t>* n_ = nullptr;
};
}  // namespace

struct Gateway::ChatCall {
  explicit ChatCall(http::Exchange& exchange) : ex(exchange) {}
  http::Exchange& ex;
  store::DecisionRecord rec;
  api::ChatRequest req;
  const ModelRuntime* model = nullptr;
  Replica* replica = nullptr;
  std::string_view adapter;  // the LoRA adapter the client named as `model` (a view of req.model)
  std::size_t unavailable = 0;  // replicas of the current model ejected or down at the last pick
  std::string route_label;  // metrics label: only names that are configured (bounded cardinality)

  void set_headers(http::bhttp::fields& h) const {
    h.set("x-switchboard-decision", rec.id);
    if (!rec.model.empty()) h.set("x-switchboard-model", rec.model);
    if (!rec.replica.empty()) h.set("x-switchboard-replica", rec.replica);
  }
};

awaitable<void> Gateway::chat(http::Exchange& ex) {
  ChatCall call(ex);
  call.rec.id = store::new_decision_id();
  call.rec.time_ms = unix_ms();
  metrics_.in_flight.add(1);
  struct Leave {
    metrics::Gauge& g;
    ~Leave() { g.add(-1); }
  } leave{metrics_.in_flight};

  if (ex.read_error()) co_return co_await fail(call, *ex.read_error(), "client_error");
  auto parsed = api::parse_chat_request(ex.request().body());
  if (!parsed) co_return co_await fail(call, parsed.error(), "client_error");
  call.req = std::move(*parsed);
  call.rec.route = call.req.model;
  call.rec.stream = call.req.stream;

  RouteRequest rr = route_request(call.req);
  if (auto bad = apply_routing_headers(ex.request(), rr)) co_return co_await fail(call, *bad, "client_error");
  Signals signals = runtime_->signals_for(call.req);
  std::string embed_note = co_await add_http_embedding(*runtime_, *clients_[ex.worker()], metrics_, call.req, signals);
  auto decided = runtime_->decide(call.req.model, rr, signals);
  if (!decided) {
    if (const RouteRuntime* route = runtime_->find_route(call.req.model)) {
      call.route_label = call.req.model;
      call.rec.policy = route->config->policy_type;
    }
    co_return co_await fail(call, decided.error(),
                            decided.error().kind == ErrorKind::kNotFound ? "client_error" : "no_candidate");
  }
  call.route_label = call.req.model;
  Decision decision = std::move(*decided);
  call.rec.policy = decision.policy;
  call.rec.model = decision.model;
  call.rec.reason = decision.reason + embed_note;
  call.rec.candidates = candidates_json(decision.candidates);
  call.adapter = runtime_->adapter_of(call.req.model);
  // The chosen model first, then the policy's fallbacks in order, each tried once.
  std::vector<const ModelRuntime*> plan;
  plan.push_back(runtime_->find_model(decision.model));
  for (const auto& name : decision.fallbacks) plan.push_back(runtime_->find_model(name));
  for (std::size_t i = 0; i < plan.size(); ++i) {
    if (!plan[i]) {
      const auto& name = i == 0 ? decision.model : decision.fallbacks[i - 1];
      co_return co_await fail(
          call, make_error(ErrorKind::kInternal, "policy_error", "policy chose unknown model '" + name + "'"),
          "internal_error");
    }
  }
  co_await forward(call, plan);
}

// One try of one replica. Owns the replica's in-flight count until it is destroyed (so a stream
// relayed from it keeps counting) and, once answered, the upstream call.
struct Gateway::Attempt {
  const ModelRuntime* model = nullptr;
  Replica* replica = nullptr;
  InFlight in_flight;
  std::unique_ptr<http::UpstreamCall> call;  // the response head arrived
  std::optional<std::string> body;           // non-streaming requests: the whole body
  std::optional<Error> error;                // no (complete) answer
  Clock::time_point sent_at;
  double head_ms = 0;  // sent → response head
  double ms = 0;       // sent → answer (head for streams, whole body otherwise) or failure
  bool cancelled = false;

  // Worth another replica: no answer, a 5xx, or 429 (that replica is busy).
  bool retryable() const {
    return cancelled || error || (call && (call->status() >= 500 || call->status() == 429));
  }
  // Counts against the replica's health: no answer or a 5xx (a 429 is a load signal, not a fault).
  bool replica_failed() const { return error || (call && call->status() >= 500); }
  std::string result() const {
    if (cancelled) return "cancelled";
    if (error) return error->code;
    if (call->status() >= 500 || call->status() == 429) return "upstream_status_" + std::to_string(call->status());
    return "ok";
  }
};

// Shared by the two branches of a hedged attempt (both run on the request's worker thread).
struct Gateway::HedgeRace {
  bool decided = false;         // a branch has returned the race's result
  bool primary_running = true;  // the first attempt has not finished
  bool hedge_running = false;   // the hedge was sent and has not finished
};

awaitable<Gateway::Attempt> Gateway::run_attempt(ChatCall& call, const ModelRuntime& m, Replica& r) {
  Attempt a;
  a.model = &m;
  a.replica = &r;
  a.in_flight = InFlight(r.in_flight);
  const auto& rc = *r.config;
  http::Request up{http::bhttp::verb::post, rc.endpoint.base_path + "/v1/chat/completions", 11};
  up.set(field::content_type, "application/json");
  up.set(field::accept, call.req.stream ? "text/event-stream" : "application/json");
  // The upstream must see the name it knows: the adapter's (vLLM serves LoRA adapters under their
  // own names), else the replica's rename, else the chosen model's name (the client may have named
  // a route such as "auto").
  const std::string& upstream_name = !call.adapter.empty()    ? call.req.model
                                     : !rc.upstream_model.empty() ? rc.upstream_model
                                                                  : m.config->name;
  const std::string& body = call.ex.request().body();
  up.body() = upstream_name != call.req.model ? api::rewrite_model(body, upstream_name) : body;
  http::UpstreamTarget target{&rc.endpoint, m.authorization[r.ordinal], r.index};
  a.sent_at = Clock::now();
  const auto deadline = a.sent_at + m.config->timeout;
  auto started = co_await clients_[call.ex.worker()]->start(target, std::move(up), deadline);
  a.head_ms = ms_since(a.sent_at);
  if (!started) {
    a.error = started.error();
  } else {
    a.call = std::move(*started);
    if (!call.req.stream) {
      auto whole = co_await a.call->read_all(kMaxUpstreamBody, deadline);
      if (whole) {
        a.body = std::move(*whole);
      } else {
        a.error = whole.error();
        a.call.reset();
      }
    }
  }
  a.ms = ms_since(a.sent_at);
  co_return a;
}

void Gateway::note_attempt(ChatCall& call, Attempt& a, bool hedge) {
  nlohmann::json j = {{"model", a.model->config->name}, {"replica", a.replica->config->id},
                      {"result", a.result()}, {"ms", a.ms}};
  if (hedge) j["hedge"] = true;
  if (call.unavailable) j["unavailable"] = call.unavailable;  // skipped as ejected or down
  call.rec.attempts.push_back(std::move(j));
  if (a.cancelled) return;  // says nothing about the replica
  if (!a.replica_failed()) {
    pool::record_success(*a.replica);
    return;
  }
  if (std::int64_t ms = pool::record_failure(*a.replica, a.model->outlier, pool::steady_ms())) {
    metrics_.ejections.with({a.model->config->name, a.replica->config->id}).inc();
    spdlog::warn("replica {} of {} ejected for {} ms after {} failures in a row (last: {})",
                 a.replica->config->id, a.model->config->name, ms,
                 a.replica->health.consecutive_failures.load(std::memory_order_relaxed), a.result());
  }
}

awaitable<Gateway::Attempt> Gateway::hedged_attempt(ChatCall& call, const ModelRuntime& m, Replica& first,
                                                     std::vector<const Replica*>& tried, const RouteRequest& rr) {
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
    a.cancelled = true;
    return a;
  };
  auto primary = [&]() -> awaitable<Attempt> {
    Attempt a;
    try {
      a = co_await run_attempt(call, m, first);
    } catch (const std::exception&) {
      a = cancelled(first);
    }
    race.primary_running = false;
    if (race.decided) a.cancelled = true;
    note_attempt(call, a, false);
    if (a.cancelled) co_return a;
    // A failure waits for a hedge in progress; otherwise it ends the race (and the retry loop goes on).
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
    auto c = pool::healthy_candidates(m.replica_ptrs, tried, pool::steady_ms(), buffer);
    pool::RetryBudget::Token token;
    if (!c.replicas.empty()) token = m.retry_budget->try_acquire(pool::active_requests(m.replica_ptrs));
    if (c.replicas.empty() || !token) {
      if (!c.replicas.empty()) {
        call.rec.attempts.push_back({{"model", m.config->name}, {"result", "budget_exhausted"}, {"hedge", true}});
        metrics_.budget_exhausted.with({m.config->name}).inc();
      }
      co_await park();  // no hedge: the primary decides
      co_return cancelled(first);
    }
    Replica& second = m.balancer->pick(c.replicas, rr);
    tried.push_back(&second);
    metrics_.hedges.with({m.config->name}).inc();
    race.hedge_running = true;
    Attempt a;
    try {
      a = co_await run_attempt(call, m, second);
    } catch (const std::exception&) {
      a = cancelled(second);
    }
    race.hedge_running = false;
    if (race.decided) a.cancelled = true;
    note_attempt(call, a, true);
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
  co_return std::visit([](Attempt& a) { return std::move(a); }, won);
}

awaitable<void> Gateway::forward(ChatCall& call, const std::vector<const ModelRuntime*>& plan) {
  RouteRequest rr = route_request(call.req);
  rr.adapter = call.adapter;
  std::vector<std::uint64_t> blocks;  // the prompt's prefix block hashes; outlive each pick
  std::vector<const Replica*> tried;  // replicas of the current model this request tried
  pool::CandidateBuffer buffer;
  std::optional<Attempt> winner;  // the answer passed on to the client
  std::optional<Attempt> held;    // the last 5xx/429 answer, passed on if nothing better comes
  std::optional<Error> last_error;
  bool first = true;
  bool stop = false;
  for (std::size_t i = 0; i < plan.size() && !winner && !stop; ++i) {
    const ModelRuntime& m = *plan[i];
    const auto& pc = m.config->pool;
    blocks = pool::prefix_blocks_for(*m.balancer, call.req.prompt_text);  // empty unless used
    rr.prefix_blocks = blocks;
    tried.clear();
    for (std::int32_t n = 0; n < pc.retry.max_attempts && !winner && !stop; ++n) {
      auto c = pool::healthy_candidates(m.replica_ptrs, tried, pool::steady_ms(), buffer);
      std::span<Replica* const> candidates = c.replicas;
      if (candidates.empty()) {
        if (!tried.empty()) break;  // every available replica of this model was tried
        if (i + 1 < plan.size()) {  // none is available: on to the next model
          call.rec.attempts.push_back({{"model", m.config->name}, {"result", "no_healthy_replica"},
                                       {"unavailable", c.unavailable}});
          call.rec.reason += "; no healthy replica of " + m.config->name;
          break;
        }
        // The last model has no healthy replica either: better a replica that may have recovered
        // than no answer.
        candidates = m.replica_ptrs;
        call.rec.reason += "; every replica of " + m.config->name + " is ejected or down, tried anyway";
      }
      pool::RetryBudget::Token token;  // held while this retry waits for its answer
      if (!first) {
        token = m.retry_budget->try_acquire(pool::active_requests(m.replica_ptrs));
        if (!token) {
          call.rec.attempts.push_back({{"model", m.config->name}, {"result", "budget_exhausted"}});
          metrics_.budget_exhausted.with({m.config->name}).inc();
          stop = true;
          break;
        }
        metrics_.retries.with({m.config->name}).inc();
      }
      first = false;
      call.unavailable = c.unavailable;
      Replica& r = m.balancer->pick(candidates, rr);
      tried.push_back(&r);
      Attempt a;
      if (pc.hedge.enabled && !call.req.stream && m.replica_ptrs.size() > 1) {
        a = co_await hedged_attempt(call, m, r, tried, rr);
      } else {
        a = co_await run_attempt(call, m, r);
        note_attempt(call, a, false);
      }
      call.rec.model = m.config->name;
      call.rec.replica = a.replica->config->id;
      if (!a.retryable()) {
        winner = std::move(a);
      } else if (a.call) {
        held = std::move(a);
      } else if (a.error) {
        last_error = a.error;
      }
    }
  }
  if (!winner && held) winner = std::move(held);
  if (!winner) {
    if (!last_error) last_error = make_error(ErrorKind::kUpstreamError, "upstream_unreachable", "no replica answered");
    co_return co_await fail(call, *last_error,
                            last_error->kind == ErrorKind::kUpstreamTimeout ? "upstream_timeout" : "upstream_error");
  }
  call.model = winner->model;
  call.replica = winner->replica;
  call.rec.model = call.model->config->name;
  call.rec.replica = call.replica->config->id;
  call.rec.upstream_ms = winner->head_ms;
  if (call.model != plan[0]) call.rec.reason += "; fell back to " + call.rec.model;
  const auto& mc = *call.model->config;
  const auto& rc = *call.replica->config;
  metrics_.upstream_latency.with({mc.name, rc.id}).observe(call.rec.upstream_ms / 1000);
  auto& upstream = *winner->call;
  bool upstream_sse = upstream.content_type().starts_with("text/event-stream");
  if (call.req.stream && upstream.status() == 200 && upstream_sse) co_return co_await relay_stream(call, upstream);

  if (!winner->body) {
    auto whole = co_await upstream.read_all(kMaxUpstreamBody, winner->sent_at + mc.timeout);
    if (!whole) {
      co_return co_await fail(call, whole.error(),
                              whole.error().kind == ErrorKind::kUpstreamTimeout ? "upstream_timeout" : "upstream_error");
    }
    winner->body = std::move(*whole);
  }
  std::string& whole = *winner->body;
  http::Response res{static_cast<http::bhttp::status>(upstream.status()), 11};
  const auto& content_type = upstream.content_type();
  res.set(field::content_type, content_type.empty() ? "application/json" : content_type);
  call.set_headers(res);
  call.rec.status = static_cast<int>(upstream.status());
  if (upstream.status() == 200) {
    call.rec.outcome = "ok";
    if (auto usage = api::parse_usage(whole)) {
      call.rec.prompt_tokens = usage->prompt_tokens;
      call.rec.completion_tokens = usage->completion_tokens;
      call.rec.tokens_source = "upstream";
    } else {
      call.rec.prompt_tokens = call.req.estimated_prompt_tokens;
      call.rec.tokens_source = "estimated";
    }
  } else {
    // The upstream's own error is passed through unchanged; the record keeps its status.
    call.rec.outcome = upstream.status() >= 500 ? "upstream_error" : "client_error";
    call.rec.error_code = "upstream_status_" + std::to_string(upstream.status());
    call.rec.error_message = whole.substr(0, 512);
  }
  res.body() = std::move(whole);
  if (!co_await call.ex.respond(std::move(res))) call.rec.outcome = "client_gone";
  finish(call);
}

awaitable<void> Gateway::relay_stream(ChatCall& call, http::UpstreamCall& upstream) {
  const auto& mc = *call.model->config;
  http::ResponseHead head{http::bhttp::status::ok, 11};
  head.set(field::content_type, "text/event-stream");
  head.set(field::cache_control, "no-cache");
  call.set_headers(head);
  call.rec.status = 200;
  api::StreamMeter meter;
  api::SseParser sse([&meter](std::string_view data) { meter.on_event(data); });
  bool client_ok = co_await call.ex.start_stream(std::move(head));
  std::optional<Error> broken;
  while (client_ok) {
    auto piece = co_await upstream.read_some(Clock::now() + mc.stream_idle_timeout);
    if (!piece) {
      broken = piece.error();
      break;
    }
    if (piece->empty()) break;  // the upstream finished its body
    sse.feed(*piece);
    client_ok = co_await call.ex.write_chunk(*piece);
  }
  sse.finish();
  if (broken) {
    Error e = make_error(broken->kind, "upstream_stream_broken",
                         "the upstream stream ended abnormally after it had started: " + broken->message);
    call.rec.outcome = "stream_broken";
    call.rec.error_code = e.code;
    call.rec.error_message = e.message;
    metrics_.errors.with({call.route_label, call.rec.model, e.code}).inc();
    if (client_ok) {
      co_await call.ex.write_chunk(api::error_sse_event(e));
      co_await call.ex.write_chunk("data: [DONE]\n\n");
    }
  } else if (!client_ok) {
    call.rec.outcome = "client_gone";
  } else {
    call.rec.outcome = meter.saw_error() ? "upstream_error" : "ok";
  }
  if (client_ok) client_ok = co_await call.ex.finish_stream();
  if (!client_ok && call.rec.outcome == "ok") call.rec.outcome = "client_gone";
  if (meter.reported_usage()) {
    call.rec.prompt_tokens = meter.reported_usage()->prompt_tokens;
    call.rec.completion_tokens = meter.reported_usage()->completion_tokens;
    call.rec.tokens_source = "upstream";
  } else {
    call.rec.prompt_tokens = call.req.estimated_prompt_tokens;
    call.rec.completion_tokens = meter.content_chunks();
    call.rec.tokens_source = "counted";
  }
  finish(call);
}

awaitable<void> Gateway::fail(ChatCall& call, const Error& error, const char* outcome) {
  call.rec.status = http_status(error.kind);
  call.rec.outcome = outcome;
  call.rec.error_code = error.code;
  call.rec.error_message = error.message;
  metrics_.errors.with({call.route_label, call.rec.model, error.code}).inc();
  http::Response res{static_cast<http::bhttp::status>(call.rec.status), 11};
  res.set(field::content_type, "application/json");
  call.set_headers(res);
  res.body() = api::error_json(error);
  co_await call.ex.respond(std::move(res));
  finish(call);
}

void Gateway::finish(ChatCall& call) {
  auto& rec = call.rec;
  rec.latency_ms = ms_since(call.ex.received_at());
  if (call.model) rec.cost_usd = call.model->config->price.cost(rec.prompt_tokens, rec.completion_tokens);
  metrics_.requests.with({call.route_label, rec.model, rec.replica, std::to_string(rec.status)}).inc();
  metrics_.latency.with({call.route_label, rec.model, rec.replica}).observe(rec.latency_ms / 1000);
  if (call.model && (rec.prompt_tokens || rec.completion_tokens)) {
    metrics_.tokens.with({rec.model, "prompt"}).inc(static_cast<double>(rec.prompt_tokens));
    metrics_.tokens.with({rec.model, "completion"}).inc(static_cast<double>(rec.completion_tokens));
    metrics_.cost.with({rec.model}).inc(rec.cost_usd);
  }
  store_->record(std::move(rec));
}

}  // namespace switchboard::pipeline
