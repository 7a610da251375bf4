// Everything one request carries through the stages (include/switchboard/stage.h).
//
// Built by an API front end (pipeline/front_end.h, pipeline/fronts/; offline evaluation:
// eval/offline_runner.h) with the raw request and the services of the worker it runs on; filled by
// the stages in order. Owned by the front end's coroutine and touched by one coroutine at a time
// (a request's stages and calls run on its worker thread), so nothing here is locked.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "access/key.h"
#include "api/chat_request.h"
#include "metrics/metrics.h"
#include "pipeline/learning/context_cache.h"
#include "pipeline/request_headers.h"
#include "pipeline/runtime.h"
#include "store/decision_store.h"
#include "switchboard/policy.h"
#include "switchboard/response_writer.h"
#include "switchboard/upstream.h"

namespace switchboard::pipeline {

namespace asio = boost::asio;

class PendingIds;
class ClientWatch;
using Clock = std::chrono::steady_clock;

// Fills Signals::embedding for routes that need it when the provider is a service (http), after the
// extractor's local signals. Returns "" or a note for the decision's reason ("; no embedding
// (...)"). Serving: the worker's HTTP client; offline: a blocking, memoised call.
class EmbeddingSource {
 public:
  virtual ~EmbeddingSource() = default;
  virtual asio::awaitable<std::string> fill(const Runtime& runtime, const api::ChatRequest& request,
                                            Signals& signals) = 0;
};

// Where finished decision records go: the SQLite store when serving, a collector offline.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Takes the record over (the caller's copy is left moved-from).
  virtual void write(store::DecisionRecord&& record) = 0;
};

// What `parse` reads the body as (set by the API front end, pipeline/front_end.h).
enum class RequestKind {
  kChat,        // a chat-completions request (the client's, or another API's translated)
  kEmbeddings,  // an embeddings request: routed on its input text, forwarded as it is
};

// Where implicit feedback goes (docs/online.md): the gateway stores it like POST /v1/feedback's
// (marked implicit, not when the decision already has feedback) and hands it to the learner, off
// the request path. null offline.
class ImplicitFeedbackSink {
 public:
  virtual ~ImplicitFeedbackSink() = default;
  // A negative signal on `decision_id` (the client asked the same prompt again): score `score`.
  // Must not block.
  virtual void implicit_feedback(std::string decision_id, double score) = 0;
  // The fleet's repeat table (`state: {redis: URL}`, pipeline/learning/shared_repeats.h; these do
  // nothing without one). Must not block. This gateway answered the repeat key `key` with
  // `decision_id`, remembered for `window`; a request for `key` arrived that the local table did
  // not know (another gateway's answer gets the negative `score`); one it knew (forget the fleet's).
  virtual void fleet_answered(std::uint64_t /*key*/, std::string /*decision_id*/,
                              std::chrono::milliseconds /*window*/) {}
  virtual void fleet_asked(std::uint64_t /*key*/, double /*score*/) {}
  virtual void fleet_forget(std::uint64_t /*key*/) {}
};

struct RequestContext {
  // --- Set by the front end, constant afterwards.
  std::string_view body;  // the raw request body (or the front end's translation); outlives the run
  RequestKind kind = RequestKind::kChat;
  std::string_view upstream_path = "/v1/chat/completions";  // the path every model call posts to
  // Native pass-through (docs/apis.md): the API the client spoke when a replica may speak it too
  // ("anthropic" for /v1/messages; "" = none), the client's own body, and the writer that sends a
  // native answer unchanged (errors still in the client API's shape).
  std::string_view native_api;
  std::string_view native_body;
  // Why only a replica speaking native_api can answer ("" = any can; FrontRequest::native_only).
  std::string_view native_only;
  // The client's headers a pass-through replica gets as they are (NativeApi::
  // passes_client_headers(): Anthropic's `anthropic-beta`, which decides how it reads the body);
  // views into the request, which outlives the run.
  std::vector<std::pair<std::string_view, std::string_view>> passed_headers;
  // The client API's reasoning setting as chat's reasoning_effort ("" = none; a chat client's is in
  // its body): FrontRequest::reasoning_effort, sent to models with `reasoning: on`.
  std::string_view reasoning_effort;
  // The client's last turn is the assistant's text to be continued (FrontRequest::
  // continues_last_turn): chat replicas of models with `prefill: continue` are asked to
  // (continue_final_message), the others get it as a finished turn.
  bool continue_last_turn = false;
  ResponseWriter* native_client = nullptr;
  RequestHeaders headers;
  // The client's IP address ("" unknown), asked for only by the stages that need it: it costs a
  // getpeername call. Unset offline.
  std::function<std::string()> client_address;
  // Takes more of the server's body budget for this request (http::Exchange::hold_memory): what
  // is built from the body counts with it; the error to answer when it does not fit (413 never,
  // 503 not now), nothing when held (null: no budget).
  std::function<std::optional<Error>(std::size_t)> hold_memory;
  std::optional<Error> read_error;  // the body could not be read (too large, timeout)
  Clock::time_point received_at = Clock::now();
  bool explain_only = false;  // POST /v1/route: stop after decide, answer nothing, record nothing
  // Offline evaluation (eval, batch): no client to authenticate; the auth and limits stages pass.
  bool trusted = false;
  // Services.
  // The gateway's in-flight decision ids (pipeline/pending_ids.h), tagged by the key the request
  // presented; the auth stage re-tags a request served anonymously (an unknown key where keys
  // are optional) as key-less, so that a key-less caller's lookup waits for it. Null offline.
  PendingIds* unrecorded = nullptr;
  const Runtime* runtime = nullptr;
  Upstream* upstream = nullptr;
  ResponseWriter* client = nullptr;
  // Serving: whether the client is still there (pipeline/client_watch.h); null offline.
  ClientWatch* client_watch = nullptr;
  EmbeddingSource* embedder = nullptr;  // null: no service-backed embedding
  metrics::GatewayMetrics* metrics = nullptr;
  RecordSink* sink = nullptr;
  // Serving with feedback on: where `record` keeps what a learning policy decided on, for
  // POST /v1/feedback (pipeline/learning/context_cache.h); null offline.
  learning::ContextCache* contexts = nullptr;
  ImplicitFeedbackSink* implicit = nullptr;  // serving with feedback on; null offline

  // --- Filled by the stages.
  api::ChatRequest req;                 // parse
  RouteRequest route_request;           // parse (views into req)
  const RouteRuntime* route = nullptr;  // parse: the route the client named, if any
  std::uint32_t disabled_stages =
      0;                     // parse: the route's switched-off stages (runner's bit per stage)
  Signals signals;           // parse: the always-present ones; signals: the route's others
  std::string signals_note;  // signals: a note for the decision's reason (embedding failed)
  // guard: the body after redaction or a change of model (`body` then views it; every attempt
  // sends it), and the placeholders to put back into the answer for the client (pii restore).
  std::string rewritten_body;
  std::vector<std::pair<std::string, std::string>> restore;
  std::optional<Decision> decision;  // decide
  std::string_view adapter;          // decide: the LoRA adapter named as `model`
  std::string route_label;           // metrics label: only configured names (bounded cardinality)
  const ModelRuntime* model = nullptr;  // execute: the model that answered
  const Replica* replica = nullptr;     // execute: the replica that answered (single-call plans)
  std::string calls_header;  // execute: x-switchboard-calls of a multi-call plan ("" = none)
  // A response a stage ends the request with (StageResult::end()); the runner sends it.
  struct Reply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
  };
  std::optional<Reply> reply;
  std::optional<Error> error;  // the error a stage failed the request with (the runner sets it)
  store::DecisionRecord rec;
  // cache: x-switchboard-cache for the client (hit, miss, bypass); empty on routes not cached.
  std::string_view cache_status;
  // cache: on a hit, the configured model whose stored answer it is ("" if the entry predates it).
  std::string cache_model;
  // Set by `implicit_feedback`: this request repeats the same client's prompt answered within the
  // feedback window — a sign the answer did not satisfy — so the cache answers it afresh.
  bool repeat = false;
  // auth: the API key the client presented (null: none, or auth not configured).
  std::shared_ptr<const access::LiveKey> api_key;
  // limits: retry-after and x-ratelimit-* for the client (on every answer of a limited key).
  std::vector<std::pair<std::string, std::string>> limit_headers;
  // Run by the runner, in order, once the request was answered (after execute, or after the stage
  // that ended it) and before `record`; each may amend `rec`. Not in explain-only mode. The cache
  // stores a miss's answer here (pipeline/stages/cache_stage.cc).
  std::vector<std::function<void(RequestContext&)>> after_answer;
  // Run by `decide`, in order, right after the policy decided and before the decision is counted
  // (capacity) and acted on; each may amend `decision` (the session stage keeps a session's model
  // there, pipeline/stages/session_stage.cc). Run in explain-only mode too.
  std::vector<std::function<void(RequestContext&)>> after_decide;
  // Run by `decide` after every after_decide, once the plan is final and `rec.model` and
  // `rec.candidates` hold it; read-only. Not in explain-only mode. The limits stage reserves a
  // budgeted key's estimated spend here.
  std::vector<std::function<void(RequestContext&)>> on_plan;
  bool recorded = false;  // the runner handed `rec` to the sink (it is moved-from then)

  // x-switchboard-decision, -model, -replica, -cache and -calls (multi-call plans) for the client.
  // On a cache hit -model is the model whose answer was stored (the record's model stays empty).
  // What clients are told of the replica in rec.replica (its config::ReplicaConfig::public_name,
  // not its address); "" when none was tried.
  std::string_view replica_public_name() const {
    if (rec.replica.empty()) return {};
    const ModelRuntime* m = model && model->config->name == rec.model ? model
                            : runtime                                  ? runtime->find_model(rec.model)
                                                                       : nullptr;
    if (!m) return {};
    for (const auto& r : m->config->replicas)
      if (r.id == rec.replica) return r.public_name;
    return {};
  }
  std::vector<std::pair<std::string_view, std::string_view>> response_headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> h;
    h.reserve(5 + limit_headers.size());
    h.emplace_back("x-switchboard-decision", rec.id);
    // A cache hit names the model whose stored answer it gives (no model was called for it).
    if (!rec.model.empty())
      h.emplace_back("x-switchboard-model", rec.model);
    else if (!cache_model.empty())
      h.emplace_back("x-switchboard-model", cache_model);
    if (const std::string_view shown = replica_public_name(); !shown.empty())
      h.emplace_back("x-switchboard-replica", shown);
    if (!calls_header.empty()) h.emplace_back("x-switchboard-calls", calls_header);
    if (!cache_status.empty()) h.emplace_back("x-switchboard-cache", cache_status);
    for (const auto& [n, v] : limit_headers) h.emplace_back(n, v);
    return h;
  }
};

}  // namespace switchboard::pipeline
