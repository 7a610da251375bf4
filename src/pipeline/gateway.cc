#include "pipeline/gateway.h"

#include "pipeline/client_watch.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/string.hpp>
#include <nlohmann/json.hpp>
#include <utility>

#include "api/chat_request.h"
#include "core/wall_clock.h"
#include "access/credentials.h"
#include "api/errors.h"
#include "api/json_util.h"
#include "api/responses_conversation.h"
#include "pipeline/capacity_controller.h"
#include "pipeline/capturing_writer.h"
#include "pipeline/embedding_step.h"
#include "pipeline/exchange_writer.h"
#include "pipeline/explain.h"
#include "pipeline/http_upstream.h"
#include "pipeline/json_responses.h"
#include "pipeline/memory_hold.h"
#include "pipeline/learning/learner.h"
#include "pipeline/learning/shared_repeats.h"
#include "switchboard/learning.h"
#include "pipeline/replica_monitor.h"
#include "pipeline/routing_headers.h"
#include "pipeline/runtime_reload.h"
#include "pipeline/scrape_gauges.h"
#include "pipeline/stage_runner.h"
#include "pipeline/translating_writer.h"
#include "pool/health.h"
#include "store/record_codec.h"
#include "switchboard/ascii.h"

namespace switchboard::pipeline {

using asio::awaitable;

namespace {

// Decision records go to SQLite through the store's queue.
class StoreSink final : public RecordSink {
 public:
  StoreSink(store::DecisionStore& store,
            const std::function<void(const store::DecisionRecord&)>& observer)
      : store_(store), observer_(observer) {}
  void write(store::DecisionRecord&& record) override {
    if (observer_) observer_(record);
    store_.record(std::move(record));
  }

 private:
  store::DecisionStore& store_;
  const std::function<void(const store::DecisionRecord&)>& observer_;
};

// signals.embedding.provider http, through the worker's client (pipeline/embedding_step.h).
class HttpEmbeddingSource final : public EmbeddingSource {
 public:
  HttpEmbeddingSource(http::UpstreamClient& client, metrics::GatewayMetrics& metrics)
      : client_(client), metrics_(metrics) {}
  asio::awaitable<std::string> fill(const Runtime& runtime, const api::ChatRequest& request,
                                    Signals& signals) override {
    return add_http_embedding(runtime, client_, metrics_, request, signals);
  }

 private:
  http::UpstreamClient& client_;
  metrics::GatewayMetrics& metrics_;
};

}  // namespace

struct Gateway::Worker {
  std::unique_ptr<HttpUpstream> upstream;
  std::unique_ptr<HttpEmbeddingSource> embedder;
  std::shared_ptr<Runtime> runtime;  // the runtime as of `generation`
  std::uint64_t generation = 0;
  std::unique_ptr<ClientWatchList> watches;  // requests' client watches not started yet
};

Gateway::Gateway(std::unique_ptr<Runtime> runtime, std::unique_ptr<store::DecisionStore> store)
    : runtime_(std::move(runtime)),
      next_index_(runtime_->replica_count),
      store_(std::move(store)),
      tls_(http::make_client_tls_context()),
      sink_(std::make_unique<StoreSink>(*store_, observer_)) {
  for (const auto& path : FrontEndRegistry::instance().names())
    fronts_.emplace(path, (*FrontEndRegistry::instance().find(path))());
  metrics_.before_render = [this] {
    refresh_scrape_gauges(*this->runtime(), *store_, repeats_.get(), metrics_);
    if (const auto* server = server_) refresh_front_door_gauges(*server, metrics_);
  };
  runtime_->start_control();
}

Gateway::~Gateway() {
  if (learner_) learner_->stop();
  std::lock_guard lock(runtime_mu_);
  if (monitors_stop_) monitors_stop_->store(true);
}

std::shared_ptr<Runtime> Gateway::runtime() const {
  std::lock_guard lock(runtime_mu_);
  return runtime_;
}

Upstream& Gateway::upstream_of(Worker& w) { return *w.upstream; }

const std::shared_ptr<Runtime>& Gateway::runtime_for(Worker& w) {
  const auto g = generation_.load(std::memory_order_acquire);
  if (!w.runtime || w.generation != g) {
    std::lock_guard lock(runtime_mu_);
    w.runtime = runtime_;
    w.generation = generation_.load(std::memory_order_relaxed);
  }
  return w.runtime;
}

void Gateway::start_monitors() {  // runtime_mu_ held
  if (monitors_stop_) monitors_stop_->store(true, std::memory_order_release);
  monitors_stop_ = std::make_shared<std::atomic<bool>>(false);
  // Health checks and load scrapes of every replica run on the first worker's io_context.
  if (server_) start_replica_monitors(server_->context(0), *tls_, runtime_, monitors_stop_);
}

std::size_t Gateway::replace_runtime(std::unique_ptr<Runtime> fresh) {
  std::size_t carried = 0;
  auto swap = [&] {
    std::lock_guard lock(runtime_mu_);
    carried = carry_over_replicas(*runtime_, *fresh, next_index_);
    carry_over_prices(*runtime_, *fresh);
    runtime_ = std::shared_ptr<Runtime>(std::move(fresh));
    runtime_->start_control();
    generation_.fetch_add(1, std::memory_order_release);
    start_monitors();
  };
  // The learned state moves to the new policies, and the swap happens before the learner applies
  // anything more (lock order: the learner's, then runtime_mu_).
  if (learner_) {
    const auto old = runtime();
    learner_->carry_over(*old, *fresh, swap);
  } else {
    swap();
  }
  // Each worker drops the old runtime now, on its own thread, not at its next request: an idle
  // worker kept it (its stages, their Redis links and threads, its metrics hooks) for as long as
  // no request reached it — for ever on a quiet gateway. Handlers posted after detach() never run
  // (the server's io_contexts have stopped by then).
  if (server_)
    for (unsigned i = 0; i < workers_.size(); ++i)
      asio::post(server_->context(i), [this, i] {
        if (i < workers_.size()) runtime_for(*workers_[i]);
      });
  return carried;
}

void Gateway::attach(http::Server& server) {
  server_ = &server;
  workers_.clear();
  for (unsigned i = 0; i < server.threads(); ++i) {
    auto w = std::make_unique<Worker>();
    auto client = std::make_shared<http::UpstreamClient>(
        server.context(i), *tls_, 256, runtime()->config->server.upstream_idle_timeout);
    w->embedder = std::make_unique<HttpEmbeddingSource>(*client, metrics_);
    w->upstream = std::make_unique<HttpUpstream>(std::move(client));
    w->watches = std::make_unique<ClientWatchList>(server.context(i).get_executor());
    workers_.push_back(std::move(w));
  }
  lookups_ = std::make_unique<asio::thread_pool>(2);
  start_learning();
  std::lock_guard lock(runtime_mu_);
  start_monitors();
}

void Gateway::detach() {
  repeats_.reset();  // no more deliveries to the lookup pool
  // Lookups still running finish (their answers go to the stopped workers and are dropped).
  if (lookups_) lookups_->join();
  lookups_.reset();
  // Applies what is queued and saves the learned state.
  if (learner_) learner_->stop();
  workers_.clear();
  std::lock_guard lock(runtime_mu_);
  if (monitors_stop_) monitors_stop_->store(true);
  server_ = nullptr;
}

awaitable<void> Gateway::handle(http::Exchange& ex) {
  auto& req = ex.request();
  std::string_view target = req.target();
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  using http::bhttp::verb;
  // HEAD is answered as GET (the server then sends the head alone: http::Exchange::respond).
  const auto method = req.method() == verb::head ? verb::get : req.method();
  // A request the server could not read whole (too large, over the body budget, broken chunked
  // framing) is refused here, unless its endpoint records it (the API front ends) or answers it
  // in its own shape (token counting, route explanation, feedback).
  if (ex.read_error() && !front_for(target) && !token_count_api(target) &&
      target != "/v1/route" && target != "/v1/feedback")
    co_return (void) co_await ex.respond(error_response(*ex.read_error()));

  if (const FrontEnd* fe = front_for(target)) {
    if (method == verb::post) co_return co_await front(ex, *fe);
  } else if (const TokenCountApi* counting = token_count_api(target)) {
    if (method == verb::post) co_return co_await count_tokens(ex, *counting);
  } else if (target == "/v1/route") {
    if (method == verb::post) co_return co_await explain_route(ex);
  } else if (target == "/v1/feedback") {
    if (method == verb::post) co_return co_await feedback(ex);
  } else if (target == "/v1/models" || target.starts_with("/v1/models/")) {
    if (method == verb::get)
      co_return co_await models(ex, target.substr(std::min(target.size(), std::size_t{11})));
  } else if (target == "/v1/capacity") {
    if (method == verb::get) {
      // Capacity prices, budget λ and their history (docs/capacity.md): the routes' budgets and
      // spend are the operator's, for key holders only where keys are required, and of a key
      // only the routes it may name.
      auto who = caller(ex);
      if (!who) co_return (void) co_await ex.respond(error_response(who.error()));
      std::function<bool(std::string_view)> visible;
      if (who->key)
        visible = [key = who->key](std::string_view route) { return key->key.may_name(route, true); };
      const auto rt = runtime();
      nlohmann::json j = rt->control ? rt->control->to_json(visible)
                                     : nlohmann::json{{"models", nlohmann::json::array()},
                                                      {"routes", nlohmann::json::array()},
                                                      {"history", nlohmann::json::array()},
                                                      {"gateways", 1},
                                                      {"shared", false}};
      http::Response r = json_response(200, j.dump());
      co_return (void) co_await ex.respond(std::move(r));
    }
  } else if (target.starts_with("/v1/responses/")) {
    if (method == verb::get || method == verb::delete_)
      co_return co_await stored_response_endpoint(
          ex, target.substr(std::string_view("/v1/responses/").size()));
  } else if (target.starts_with("/v1/decisions/") && public_decisions_) {
    if (method == verb::get)
      co_return co_await decision(ex, target.substr(std::string_view("/v1/decisions/").size()));
  } else if (target == "/healthz") {
    if (method == verb::get) co_return (void) co_await ex.respond(health_response());
  } else if (target == "/readyz") {
    if (method == verb::get) {
      bool draining = server_ && server_->draining();
      // Not a ?: of two temporaries inside co_await: GCC 12 destroys the branch never constructed
      // too (a bad free on every /readyz, found by the ASan build).
      http::Response r = draining ? json_response(503, R"({"status":"draining"})")
                                  : json_response(200, R"({"status":"ready"})");
      co_return (void) co_await ex.respond(std::move(r));
    }
  } else if (target == "/metrics" && public_metrics_) {
    if (method == verb::get) {
      http::Response r{http::bhttp::status::ok, 11};
      r.set(http::bhttp::field::content_type, "text/plain; version=0.0.4");
      // Per-key series only where the operator asked (without keys there are none; after a
      // reload removed `auth:`, those of the former keys remain).
      r.body() = metrics_.render(public_metrics_keys_);
      co_return (void) co_await ex.respond(std::move(r));
    }
  } else {
    co_return (void) co_await ex.respond(error_response(make_error(
        ErrorKind::kNotFound, "not_found",
        "no such endpoint: " + std::string(req.method_string()) + " " + std::string(target))));
  }
  if (ex.read_error()) co_return (void) co_await ex.respond(error_response(*ex.read_error()));
  const Error not_allowed =
      make_error(ErrorKind::kMethodNotAllowed, "method_not_allowed",
                 std::string(req.method_string()) + " is not allowed on " + std::string(target));
  // With the methods the path takes (RFC 9110 15.5.6), in the endpoint's own API shape (GET
  // /v1/messages answers as Anthropic's API would).
  const FrontEnd* fe = front_for(target);
  const char* allow = fe || token_count_api(target) || target == "/v1/route" ||
                              target == "/v1/feedback"
                          ? "POST"
                      : target.starts_with("/v1/responses/") ? "GET, HEAD, DELETE"
                                                              : "GET, HEAD";
  const std::unique_ptr<api::AnswerTranslator> translator =
      fe ? fe->translate("").translator : nullptr;
  const TokenCountApi* counting = token_count_api(target);
  http::Response r = translator ? json_response(http_status(not_allowed.kind),
                                                translator->error_body(not_allowed))
                     : counting ? token_count_error(*counting, not_allowed)
                                : error_response(not_allowed);
  r.set(http::bhttp::field::allow, allow);
  co_return (void) co_await ex.respond(std::move(r));
}

http::Response Gateway::health_response() {
  // 200 while the process serves, also when degraded: restarting would not mend a full disk or a
  // foreign lock, and the gateway goes on answering (records queue, bounded, then are dropped).
  const auto h = store_->health();
  nlohmann::json store{{"status", h.failing ? "failing" : "ok"},
                       {"queued", h.queued},
                       {"dropped", h.dropped}};
  if (h.failing) {
    store["failing_for_s"] = static_cast<double>(unix_ms() - h.failing_since_ms) / 1000.0;
    store["failed_tries"] = h.failed_tries;
    store["error"] = h.error;
  }
  const nlohmann::json body{{"status", h.failing ? "degraded" : "ok"},
                            {"decision_store", std::move(store)}};
  return json_response(200, body.dump());
}

void Gateway::prepare(RequestContext& ctx, http::Exchange& ex, Worker& w, const Runtime& runtime) {
  // The id first: a request that fails from here on is still recorded under it.
  ctx.rec.id = store::new_decision_id();
  ctx.rec.time_ms = unix_ms();
  ctx.body = ex.request().body();
  // The headers the stages read, in one pass over the request's fields (one repeated with
  // different values is refused by the parse stage): the routing headers; the API key for the auth stage
  // (docs/keys.md; never logged or recorded), `x-api-key` as Anthropic's clients send it; the
  // conversation a request belongs to, for the session stage (docs/sessions.md).
  static constexpr std::string_view kStageHeaders[] = {
      kRoutingHeaders[0], kRoutingHeaders[1], kRoutingHeaders[2], "authorization", "x-api-key",
      "x-session-id"};
  static_assert(std::size(kRoutingHeaders) == 3, "list every routing header in kStageHeaders");
  for (const auto& field : ex.request()) {
    const auto name = field.name_string();
    if (ascii_iequals(name, "anthropic-beta")) {  // for Anthropic replicas, passed through
      ctx.passed_headers.emplace_back("anthropic-beta", field.value());
      continue;
    }
    for (std::string_view wanted : kStageHeaders) {
      if (!ascii_iequals(name, wanted)) continue;
      ctx.headers.add(wanted, field.value());
      break;
    }
  }
  ctx.client_address = [&ex] { return ex.client_address(); };  // the exchange outlives the stages
  ctx.hold_memory = [&ex](std::size_t bytes) { return ex.hold_memory(bytes); };
  ctx.read_error = ex.read_error();
  ctx.received_at = ex.received_at();
  ctx.runtime = &runtime;
  ctx.upstream = w.upstream.get();
  ctx.embedder = runtime.http_embedding ? w.embedder.get() : nullptr;
  ctx.metrics = &metrics_;
  ctx.sink = sink_.get();
  ctx.contexts = contexts_.get();
  ctx.implicit = feedback_ && lookups_ ? this : nullptr;
}

const FrontEnd* Gateway::front_for(std::string_view path) const {
  auto it = fronts_.find(path);
  return it == fronts_.end() ? nullptr : it->second.get();
}

awaitable<void> Gateway::front(http::Exchange& ex, const FrontEnd& fe) {
  metrics_.in_flight.add(1);
  struct Leave {
    metrics::Gauge& g;
    ~Leave() { g.add(-1); }
  } leave{metrics_.in_flight};
  // Held to the end of the request: a reload meanwhile does not free what it uses.
  const std::shared_ptr<Runtime> runtime = runtime_for(*workers_[ex.worker()]);
  RequestContext ctx;
  ExchangeWriter writer(ex);
  FrontRequest translated;
  std::optional<TranslatingWriter> translating, native;
  // Stored conversations (docs/apis.md): the body continued from one (and its id), and the capture
  // of this one.
  std::string continued, continued_from;
  std::string referenced;  // the body with its item references resolved
  std::unique_ptr<api::ConversationCapture> capture;
  std::optional<CapturingWriter> capturing;
  // The stored response this request answered, until its record is queued (pending_ids.h).
  std::string kept;
  struct Forget {
    PendingIds& answered;
    const std::string& id;
    ~Forget() {
      if (!id.empty()) answered.remove(id);
    }
  } forget{answered_, kept};
  // This request's decision id, until its record is queued: feedback for it waits for the record.
  std::string decision;
  Forget unrecorded{unrecorded_, decision};
  // The client's connection, watched from the first model call on (pipeline/client_watch.h).
  ClientWatch watch([&ex](ClientWatch& w) { ex.watch_peer([&w] { w.mark_gone(); }); },
                    workers_[ex.worker()]->watches.get());
  struct StopWatching {
    http::Exchange& ex;
    ~StopWatching() { ex.stop_watching(); }
  } stop_watching{ex};
  std::exception_ptr crash;
  try {
    prepare(ctx, ex, *workers_[ex.worker()], *runtime);
    if (runtime->config->server.cancel_on_client_close) ctx.client_watch = &watch;
    decision = ctx.rec.id;
    unrecorded_.add(decision, presented_key_tag(access::presented_secret(
                                  ctx.headers.find("authorization"), ctx.headers.find("x-api-key"))));
    ctx.unrecorded = &unrecorded_;
    ctx.kind = fe.kind();
    ctx.upstream_path = fe.upstream_path();
    ctx.rec.api = fe.name();
    ResponseWriter* out = &writer;
    // A translation holds a node per value of the body, and its chat body another: held against
    // the body budget with the body (14.9 MB of one-character messages took 228 MB translated)
    // before anything reads the body (the conversation's parse, its capture).
    const bool translated_here = fe.kind() == RequestKind::kChat && fe.name() != "chat";
    const std::size_t body_values = translated_here && !ctx.read_error ? api::json_values(ctx.body) : 0;
    if (translated_here && !ctx.read_error)
      ctx.read_error = ex.hold_memory(body_values * kTranslatedBytesPerValue);
    if (!ctx.read_error) {
      if (const config::ApiSettings* settings = runtime->config->find_api(fe.name());
          settings && settings->store) {
        const api::ConversationRequest asked = fe.conversation(ctx.body);
        // A conversation stored with an API key continues with that key only. A caller the auth
        // stage will refuse (no key or an unknown one where keys are required) is not looked up.
        auto caller = asked.previous_id.empty()
                          ? Result<std::optional<store::Owner>>(std::nullopt)
                          : caller_key(ex);
        if (!asked.previous_id.empty() && caller) {
          const store::Owner owner = caller->value_or(store::Owner{});
          std::optional<store::StoredResponse> previous =
              co_await stored_response(asked.previous_id, owner);
          if (!previous) {
            ctx.read_error =
                make_error(ErrorKind::kNotFound, "previous_response_not_found",
                           "Previous response with id '" + asked.previous_id + "' not found.");
          } else if (previous->ambiguous) {
            ctx.read_error = api::ambiguous_response_id(asked.previous_id);
          } else if (auto body = fe.continue_from(ctx.body, previous->items); !body) {
            ctx.read_error = body.error();
          } else {
            continued = std::move(*body);
            ctx.body = continued;
            continued_from = asked.previous_id;
            // The stored conversation joined to the body: its bytes and its values are held too.
            const std::size_t values = api::json_values(ctx.body);
            ctx.read_error = ex.hold_memory(
                continued.size() +
                (values > body_values ? values - body_values : 0) * kTranslatedBytesPerValue);
          }
        }
        // Item references to stored responses' items, replaced by the items (before the capture:
        // the conversation kept holds the items themselves).
        if (!ctx.read_error) {
          if (auto refs = fe.references(ctx.body)) {
            auto resolved = co_await resolve_references(ex, *refs);
            if (!resolved) {
              ctx.read_error = resolved.error();
            } else if (*resolved) {
              const std::size_t values = api::json_values(**resolved);
              const std::size_t before = ctx.body.size();
              referenced = std::move(**resolved);
              ctx.body = referenced;
              ctx.read_error = ex.hold_memory(
                  (referenced.size() > before ? referenced.size() - before : 0) +
                  (values > body_values ? values - body_values : 0) * kTranslatedBytesPerValue);
            }
          }
        }
        if (asked.store && !ctx.read_error) {
          capture = fe.capture(ctx.body);
          if (capture)
            out = &capturing.emplace(writer, *capture, ctx.rec,
                                     static_cast<std::size_t>(settings->max_stored_bytes),
                                     [this, &kept](const std::string& id) {
                                       kept = id;
                                       answered_.add(id);
                                     });
        }
      }
    }
    // The client's body as the API speaks it (continued from a stored conversation, if it was).
    const std::string_view client_body = ctx.body;
    ctx.client = out;
    // A body that could not be read is translated as an empty one, for the API's error shape.
    translated = fe.translate(ctx.read_error ? std::string_view() : ctx.body);
    if (!ctx.read_error) {
      if (translated.body) ctx.body = *translated.body;
      ctx.reasoning_effort = translated.reasoning_effort;
      ctx.continue_last_turn = translated.continues_last_turn;
      if (translated.error) ctx.read_error = std::move(translated.error);  // parse fails with it
    }
    if (!translated.translator) writer.wrap_upstream_errors();  // its API is OpenAI's
    if (translated.translator) {
      // What the answer says of the conversation: stored when asked and on (kept unless it turns
      // out larger than max_stored_bytes), and the response it continued.
      translated.translator->set_conversation(capture != nullptr, continued_from);
      ctx.client = &translating.emplace(*out, *translated.translator, /*pass_answers=*/false,
                                        &ctx.req.estimated_prompt_tokens);
    }
    if (!fe.native_api().empty() && translated.translator && !ctx.read_error) {
      ctx.native_api = fe.native_api();
      ctx.native_body = translated.native_body ? std::string_view(*translated.native_body)
                                               : client_body;
      ctx.native_only = translated.native_only;
      ctx.native_client = &native.emplace(*out, *translated.translator, /*pass_answers=*/true);
    }
    co_await runtime->runner->run(ctx);
  } catch (...) {
    crash = std::current_exception();
  }
  if (!crash) co_return;
  // The runner contains its own failures, so this is the last net: a model call always leaves a
  // record. The server answers 500 when nothing was sent.
  if (!ctx.recorded && !ctx.rec.id.empty()) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(crash);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    mark_internal_error(ctx, "internal error: " + what);
    if (!ex.responded()) ctx.rec.status = 500;
    ctx.rec.latency_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - ctx.received_at).count();
    try {
      sink_->write(std::move(ctx.rec));
    } catch (...) {
    }
  }
  std::rethrow_exception(crash);
}

awaitable<std::optional<store::StoredResponse>> Gateway::stored_response(
    const std::string& response_id, const store::Owner& caller) {
  // Answered but not yet recorded (pending_ids.h): wait for the record, up to 2 s — also when an
  // older response under the same id was found (an upstream that reuses ids: the new record makes
  // the id ambiguous, and the older conversation must not be continued meanwhile).
  for (int i = 0; answered_.contains(response_id) && i < 400; ++i) {
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer wait(executor, std::chrono::milliseconds(5));
    co_await wait.async_wait(asio::use_awaitable);
  }
  co_return co_await find_stored_response(response_id, caller);
}

awaitable<std::optional<store::StoredResponse>> Gateway::find_stored_response(
    const std::string& response_id, const store::Owner& caller) {
  if (!lookups_) co_return store_->find_response(response_id, caller);  // tests: nothing to block
  // SQLite may block: never on this worker's event loop (as decision() does). The lambda captures
  // only pointers (GCC 12 may copy a closure in a co_await expression bitwise).
  std::optional<store::StoredResponse> found = co_await asio::co_spawn(
      *lookups_,
      [store = store_.get(), id = &response_id,
       caller = &caller]() -> awaitable<std::optional<store::StoredResponse>> {
        co_return store->find_response(*id, *caller);
      },
      asio::use_awaitable);
  co_return found;
}

awaitable<void> Gateway::explain_route(http::Exchange& ex) {
  const std::shared_ptr<Runtime> runtime = runtime_for(*workers_[ex.worker()]);
  RequestContext ctx;
  prepare(ctx, ex, *workers_[ex.worker()], *runtime);
  ctx.explain_only = true;
  ctx.metrics = nullptr;  // an explanation is not a request: no request metrics
  co_await runtime->runner->run(ctx);
  if (!ctx.decision) {
    Error e = ctx.error
                  ? *ctx.error
                  : make_error(ErrorKind::kInternal, "internal_error", "no decision was made");
    co_return (void) co_await ex.respond(error_response(e));
  }
  const nlohmann::json body = route_explanation(ctx);
  co_await ex.respond(
      json_response(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

awaitable<void> Gateway::decision(http::Exchange& ex, std::string_view id) {
  std::string key(id);
  // With `auth:`, a caller presenting a key reads only the decisions made with it (another key's
  // is 404, as an unknown one); `auth.required` refuses a caller without a key (401), else it
  // reads the decisions made without a key only. With an
  // `admin:` section the records are on the admin listener, for every key (docs/keys.md).
  auto caller = caller_key(ex);
  if (!caller) {
    http::Response r = error_response(caller.error());
    co_return (void) co_await ex.respond(std::move(r));
  }
  const store::Owner* owner = *caller ? &**caller : nullptr;
  // A request still being answered (a stream) has no record yet: wait for it, a while.
  co_await wait_recorded(key, std::chrono::seconds(10), ex, owner);
  std::optional<std::string> body;
  auto render = [owner](const store::DecisionRecord& r) -> std::optional<std::string> {
    if (owner && !owner->owns(r.key_name, r.time_ms)) return std::nullopt;
    return r.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  // An id this gateway never issues ("dec_" + 11 hex digits of its time + ...) would be looked
  // for in every stored batch: no lookup at all.
  const bool well_formed = store::id_time_ms(key) >= 0;
  if (!well_formed) {
    body = std::nullopt;
  } else if (auto pending = store_->find_pending(key)) {
    body = render(*pending);  // still queued: an in-memory lookup
  } else if (lookups_) {
    // SQLite may block (file locks, a cold page cache): never on this worker's event loop. The
    // coroutine resumes on the worker with the answer. The lambda captures only pointers (this
    // frame outlives the lookup): GCC 12 may copy a closure in a co_await expression bitwise.
    body = co_await asio::co_spawn(
        *lookups_,
        [store = store_.get(), key = &key, render = &render]() -> awaitable<std::optional<std::string>> {
          auto r = store->find_stored(*key);
          if (!r) co_return std::nullopt;
          co_return (*render)(*r);
        },
        asio::use_awaitable);
  } else if (auto stored = store_->find_stored(key)) {
    body = render(*stored);  // not attached to a server (tests): nothing to block
  }
  if (!body) {
    co_await ex.respond(error_response(make_error(ErrorKind::kNotFound, "decision_not_found",
                                                  "no decision with id '" + key + "'")));
    co_return;
  }
  co_await ex.respond(json_response(200, std::move(*body)));
}

}  // namespace switchboard::pipeline
