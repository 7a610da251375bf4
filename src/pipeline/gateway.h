// The gateway: the HTTP handler that serves the OpenAI API and the operational endpoints.
//
//   POST /v1/chat/completions   the stages (pipeline/stage_runner.h): parse → guard → cache →
//                               signals → decide → execute (pipeline/executor.h: replica choice,
//                               retries, fallback, hedging, streaming relay) → record
//   POST /v1/responses, /v1/messages, /v1/completions, /v1/embeddings
//                               the same stages behind the API front ends registered by path
//                               (pipeline/front_end.h, pipeline/fronts/; docs/apis.md)
//   POST /v1/route              the same stages up to decide: the decision a chat request would
//                               get, explained, with the stages' times; nothing is forwarded
//   POST /v1/feedback           a score or a pairwise preference on past decisions (gateway_feedback.cc,
//                               docs/online.md): validated, stored beside the decision, counted, and
//                               handed to the route's learning policy off the request path
//                               (pipeline/learning/learner.h)
//   GET  /v1/models             configured models and routes
//   GET  /v1/decisions/{id}     a decision record (SQLite is read on a small thread pool, never on
//                               a worker's event loop)
//   GET  /healthz /readyz       liveness; readiness (503 while draining)
//   GET  /metrics               Prometheus
//
// Hot reload (docs/admin.md): the runtime is held by shared_ptr. Each request takes the runtime
// current when it starts and holds it to its end, so in-flight requests finish on the old config
// while new ones use the new; replace_runtime() swaps it without stopping anything. Each worker
// caches the current runtime and re-reads it (under a mutex) only when the generation changed, so
// the request path pays one relaxed atomic load and a reference count.
//
// Every chat request, failed or not, gets a decision id (header x-switchboard-decision), a decision
// record and metrics — also when an exception escapes the request path (then recorded as
// internal_error; the server answers 500 if nothing was sent). Errors are answered in OpenAI's
// shape with the status from http_status().
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/feedback.h"
#include "http/server.h"
#include "http/upstream.h"
#include "metrics/metrics.h"
#include "pipeline/pending_ids.h"
#include "pipeline/front_end.h"
#include "pipeline/request_context.h"
#include "pipeline/runtime.h"
#include "store/decision_store.h"
#include "store/feedback_store.h"

namespace switchboard::access {
struct LiveKey;  // access/key.h
}  // namespace switchboard::access

namespace switchboard::pipeline {

namespace asio = boost::asio;

// A token-counting endpoint's API (gateway_count_tokens.cc): the one served at `path`, or null.
struct TokenCountApi;
const TokenCountApi* token_count_api(std::string_view path);
// `e` as the token-counting endpoint of `api` answers errors (its API's shape).
http::Response token_count_error(const TokenCountApi& api, const Error& e);
namespace learning {
class Learner;
class ContextCache;
class SharedRepeats;
}  // namespace learning

class Gateway final : private ImplicitFeedbackSink {
 public:
  Gateway(std::unique_ptr<Runtime> runtime, std::unique_ptr<store::DecisionStore> store);
  ~Gateway();

  // Creates one upstream client per server worker. Must be called before the server runs.
  void attach(http::Server& server);
  // Drops the upstream clients (and their pooled connections). Must be called after the server
  // stopped running and before it is destroyed.
  void detach();
  asio::awaitable<void> handle(http::Exchange& exchange);
  // The server's handler (gateway_serve.cc): handle(), except that requests to an API front end go
  // straight to front(), so that no dispatcher coroutine frame stays allocated for as long as a
  // stream lasts.
  asio::awaitable<void> serve(http::Exchange& exchange);

  store::DecisionStore& decisions() { return *store_; }
  metrics::GatewayMetrics& metrics() { return metrics_; }

  // The runtime new requests get now. Thread-safe.
  std::shared_ptr<Runtime> runtime() const;
  // Swaps in `fresh` for new requests (pipeline/runtime_reload.h: unchanged replicas keep their
  // health and pooled connections); requests already running finish on the old runtime, which is
  // freed when the last of them (and of its replica monitors) is done. Restarts the replica
  // monitors when attached. Thread-safe. Returns how many replicas carried their state over.
  std::size_t replace_runtime(std::unique_ptr<Runtime> fresh);
  // Whether the public listener serves GET /metrics and GET /v1/decisions/{id} (both by default;
  // off when an admin listener serves them, config/admin_config.h). `metrics_keys`: its /metrics
  // includes the per-key series (switchboard_key_*) — only when the operator asked for the public
  // /metrics next to an admin listener (admin.public_metrics); by default tenants calling the
  // public listener do not read each other's names, teams and spend.
  // Set before serving.
  void set_public_endpoints(bool metrics, bool decisions, bool metrics_keys = false) {
    public_metrics_ = metrics;
    public_decisions_ = decisions;
    public_metrics_keys_ = metrics_keys;
  }
  // Called with every finished decision record (on the worker that finished it, before the record
  // is queued for SQLite); must be thread-safe and quick. Set before serving.
  void set_record_observer(std::function<void(const store::DecisionRecord&)> observer) {
    observer_ = std::move(observer);
  }
  // POST /v1/feedback's whole work on a body (docs/online.md): parse, look the decisions up, store
  // the feedback, hand it to the learner; the answer in OpenAI's shape. Blocking (SQLite): call it
  // from a thread pool, never an event loop. Thread-safe; 503 before attach() or after detach().
  // `owner`: whose every decision must be (store/owner.h; a decision of another key, or of a
  // revoked key of the same name, is 404, as if unknown); null: any (the admin listener, or no
  // key in use).
  http::Response feedback_blocking(std::string_view body, const store::Owner* owner = nullptr);
  // Implicit feedback (docs/online.md, pipeline/stages/implicit_feedback_stage.cc): `score` for
  // `decision_id`, stored with kind and source `implicit` unless the decision already has feedback,
  // then learned like POST /v1/feedback's. Blocking (SQLite). Returns what happened: "queued",
  // "no_context", "dropped", "duplicate", "not_found" or "unavailable".
  std::string implicit_feedback_blocking(const std::string& decision_id, double score);

 private:
  // Who asks the gateway's own POST /v1/feedback or GET /v1/decisions/{id}, checked as the auth
  // stage checks a request (docs/keys.md): nullopt when the config has no `auth:` section (no
  // ownership check then); the key's name and creation when it presents a live key
  // (store/owner.h); the anonymous owner (key-less decisions only) when it presents none or an
  // unknown one and `auth.required` is false; else 401 invalid_api_key.
  Result<std::optional<store::Owner>> caller_key(http::Exchange& ex);
  // The same, with the live key itself when one was presented (null otherwise), for its
  // permissions.
  struct Caller {
    std::optional<store::Owner> owner;
    std::shared_ptr<const access::LiveKey> key;
  };
  Result<Caller> caller(http::Exchange& ex);
  // POST /v1/messages/count_tokens and /v1/responses/input_tokens (gateway_count_tokens.cc,
  // docs/apis.md).
  asio::awaitable<void> count_tokens(http::Exchange& exchange, const TokenCountApi& api);
  // GET /healthz: {"status": "ok" | "degraded", "decision_store": {...}} (docs/reliability.md).
  http::Response health_response();
  struct Worker;  // per worker thread: its upstream and embedding source, its cached runtime
  // The worker's cached runtime, refreshed when replace_runtime() ran since.
  const std::shared_ptr<Runtime>& runtime_for(Worker& worker);
  // The worker's upstream client.
  Upstream& upstream_of(Worker& worker);
  void start_monitors();
  // Builds the request context of a request to a front end (before its translation).
  void prepare(RequestContext& ctx, http::Exchange& exchange, Worker& worker, const Runtime& runtime);
  // The registered front end serving POST `path`, or null.
  const FrontEnd* front_for(std::string_view path) const;
  // A stored conversation (DecisionStore::find_response), looked up off the worker; one answered
  // but not yet recorded is waited for (up to 2 s). `caller`: the requesting API key (the
  // anonymous owner without one): a conversation stored with a key is found for that key only.
  asio::awaitable<std::optional<store::StoredResponse>> stored_response(
      const std::string& response_id, const store::Owner& caller);
  asio::awaitable<std::optional<store::StoredResponse>> find_stored_response(
      const std::string& response_id, const store::Owner& caller);
  // The body's item references resolved (FrontEnd::references, gateway_references.cc): each
  // stored response they name that the caller may see is read off the worker (as
  // stored_response()); the resolved body, nullopt when none was. Errors: too many responses
  // named (400).
  asio::awaitable<Result<std::optional<std::string>>> resolve_references(
      http::Exchange& exchange, api::ItemReferences& references);
  // GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items (gateway_responses.cc,
  // docs/apis.md).
  asio::awaitable<void> stored_response_endpoint(http::Exchange& exchange, std::string_view id);
  // Runs a request to an API front end through the stages.
  asio::awaitable<void> front(http::Exchange& exchange, const FrontEnd& front);
  asio::awaitable<void> explain_route(http::Exchange& exchange);
  // GET /v1/models and /v1/models/{id} (`id`: the path after "/v1/models/", "" for the list), in
  // OpenAI's shape or, for a client sending anthropic-version, Anthropic's (gateway_models.cc).
  asio::awaitable<void> models(http::Exchange& exchange, std::string_view id);
  asio::awaitable<void> decision(http::Exchange& exchange, std::string_view id);
  // Returns once decision `id` is no longer in flight (its record queued), checking every 5 ms,
  // or after `most`: feedback and record lookups sent during a stream or right after its last
  // byte find the record instead of a 404. With `auth:` (`owner` not null: the caller, or the
  // anonymous owner) it waits only for a request that presented the same API key as
  // `ex` does (the anonymous owner: also one that presented none): another key's in-flight id is
  // not the caller's to see, so it is answered (404) at once.
  asio::awaitable<void> wait_recorded(const std::string& id, std::chrono::milliseconds most,
                                      http::Exchange& ex, const store::Owner* owner);
  // A fingerprint of the API key a request presents (0: none), tagging its in-flight decision id.
  static std::uint64_t presented_key_tag(std::string_view secret);
  asio::awaitable<void> feedback(http::Exchange& exchange);
  struct Stored;  // gateway_feedback.cc
  // The answer to a feedback request once its decisions were looked up and its rows stored (or
  // not); hands the event to the learner.
  http::Response feedback_answer(const api::FeedbackRequest& feedback,
                                 const std::vector<std::string>& ids, Stored& stored);
  // Opens the feedback table and starts the learner (attach()); feedback is answered 503 when
  // the table cannot be opened.
  void start_learning();
  // ImplicitFeedbackSink: implicit_feedback_blocking() on the lookup pool; the fleet's repeat
  // table through repeats_ (when gateways share state).
  void implicit_feedback(std::string decision_id, double score) override;
  void fleet_answered(std::uint64_t key, std::string decision_id,
                      std::chrono::milliseconds window) override;
  void fleet_asked(std::uint64_t key, double score) override;
  void fleet_forget(std::uint64_t key) override;

  mutable std::mutex runtime_mu_;
  std::shared_ptr<Runtime> runtime_;              // guarded by runtime_mu_
  std::atomic<std::uint64_t> generation_{0};       // bumped after each replace_runtime()
  std::shared_ptr<std::atomic<bool>> monitors_stop_;  // guarded by runtime_mu_: the current monitors'
  std::size_t next_index_ = 0;                    // guarded by runtime_mu_: next new pool key
  bool public_metrics_ = true, public_decisions_ = true;  // constant while serving
  bool public_metrics_keys_ = false;
  std::function<void(const store::DecisionRecord&)> observer_;  // constant while serving
  // One of every registered front end, by path; constant after construction.
  std::map<std::string, std::unique_ptr<FrontEnd>, std::less<>> fronts_;
  std::unique_ptr<store::DecisionStore> store_;
  metrics::GatewayMetrics metrics_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::unique_ptr<Worker>> workers_;  // index = worker; each used by its worker only
  std::unique_ptr<RecordSink> sink_;
  http::Server* server_ = nullptr;
  // Feedback and online learning (attach() to detach()): the feedback table, the decisions'
  // contexts, the learner thread.
  std::unique_ptr<store::FeedbackStore> feedback_;
  std::unique_ptr<learning::ContextCache> contexts_;
  std::unique_ptr<learning::Learner> learner_;
  // Decision lookups in SQLite (attach() to detach()); declared after store_, so it is gone first.
  std::unique_ptr<asio::thread_pool> lookups_;
  // The fleet's repeat table for implicit feedback (`state: {redis: URL}`; attach() to detach());
  // declared after lookups_, which its deliveries use, so it is gone first.
  std::unique_ptr<learning::SharedRepeats> repeats_;
  PendingIds answered_;    // stored Responses answers not yet recorded (pending_ids.h)
  PendingIds unrecorded_;  // decisions whose record is not queued yet (pending_ids.h)
};

}  // namespace switchboard::pipeline
