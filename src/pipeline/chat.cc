// POST /v1/chat/completions: the request path of one chat completion.
#include <chrono>

#include "api/chat_request.h"
#include "api/errors.h"
#include "api/sse.h"
#include "pipeline/explain.h"
#include "pipeline/gateway.h"
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
  explicit InFlight(std::atomic<std::int64_t>& n) : n_(n) { n_.fetch_add(1, std::memory_order_relaxed); }
  ~InFlight() { n_.fetch_sub(1, std::memory_order_relaxed); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<std::int64_t>& n_;
};
}  // namespace

struct Gateway::ChatCall {
  explicit ChatCall(http::Exchange& exchange) : ex(exchange) {}
  http::Exchange& ex;
  store::DecisionRecord rec;
  api::ChatRequest req;
  const ModelRuntime* model = nullptr;
  Replica* replica = nullptr;
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
  Signals signals = runtime_->signals_for(call.req);
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
  call.rec.reason = decision.reason;
  call.rec.candidates = candidates_json(decision.candidates);
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

awaitable<void> Gateway::forward(ChatCall& call, const std::vector<const ModelRuntime*>& plan) {
  RouteRequest rr = route_request(call.req);
  std::vector<std::uint64_t> blocks;  // the prompt's prefix block hashes; outlives each pick
  std::string& body = call.ex.request().body();
  std::optional<InFlight> in_flight;
  std::unique_ptr<http::UpstreamCall> started_call;
  std::optional<Error> last_error;
  Clock::time_point sent_at;
  for (std::size_t i = 0; i < plan.size() && !started_call; ++i) {
    call.model = plan[i];
    blocks = pool::prefix_blocks_for(*call.model->balancer, call.req.prompt_text);  // empty unless used
    rr.prefix_blocks = blocks;
    call.replica = &call.model->balancer->pick(call.model->replica_ptrs, rr);
    call.rec.model = call.model->config->name;
    call.rec.replica = call.replica->config->id;
    const auto& rc = *call.replica->config;
    in_flight.emplace(call.replica->in_flight);

    http::Request up{http::bhttp::verb::post, rc.endpoint.base_path + "/v1/chat/completions", 11};
    up.set(field::content_type, "application/json");
    up.set(field::accept, call.req.stream ? "text/event-stream" : "application/json");
    const bool last = i + 1 == plan.size();
    // The upstream must see the name it knows: the replica's rename, else the chosen model's name
    // (the client may have named a route such as "auto").
    const std::string& upstream_name = rc.upstream_model.empty() ? call.model->config->name : rc.upstream_model;
    if (upstream_name != call.req.model) {
      up.body() = api::rewrite_model(body, upstream_name);
    } else {
      up.body() = last ? std::move(body) : body;  // the only attempt never copies the body
    }
    http::UpstreamTarget target{&rc.endpoint, call.replica->authorization, call.replica->index};
    sent_at = Clock::now();
    auto started = co_await clients_[call.ex.worker()]->start(target, std::move(up), sent_at + call.model->config->timeout);
    call.rec.upstream_ms = ms_since(sent_at);
    call.rec.attempts.push_back({{"replica", rc.id},
                                 {"model", call.model->config->name},
                                 {"result", started ? "ok" : started.error().code},
                                 {"ms", call.rec.upstream_ms}});
    if (started) {
      started_call = std::move(*started);
    } else {
      last_error = started.error();
      in_flight.reset();
    }
  }
  if (!started_call) {
    co_return co_await fail(call, *last_error,
                            last_error->kind == ErrorKind::kUpstreamTimeout ? "upstream_timeout" : "upstream_error");
  }
  if (call.rec.attempts.size() > 1) call.rec.reason += "; fell back to " + call.rec.model;
  const auto& mc = *call.model->config;
  const auto& rc = *call.replica->config;
  metrics_.upstream_latency.with({mc.name, rc.id}).observe(call.rec.upstream_ms / 1000);
  auto& upstream = *started_call;
  bool upstream_sse = upstream.content_type().starts_with("text/event-stream");
  if (call.req.stream && upstream.status() == 200 && upstream_sse) co_return co_await relay_stream(call, upstream);

  auto whole = co_await upstream.read_all(kMaxUpstreamBody, sent_at + mc.timeout);
  if (!whole) {
    co_return co_await fail(call, whole.error(),
                            whole.error().kind == ErrorKind::kUpstreamTimeout ? "upstream_timeout" : "upstream_error");
  }
  http::Response res{static_cast<http::bhttp::status>(upstream.status()), 11};
  const auto& content_type = upstream.content_type();
  res.set(field::content_type, content_type.empty() ? "application/json" : content_type);
  call.set_headers(res);
  call.rec.status = static_cast<int>(upstream.status());
  if (upstream.status() == 200) {
    call.rec.outcome = "ok";
    if (auto usage = api::parse_usage(*whole)) {
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
    call.rec.error_message = whole->substr(0, 512);
  }
  res.body() = std::move(*whole);
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
