// The gateway: the HTTP handler that serves the OpenAI API and the operational endpoints.
//
//   POST /v1/chat/completions   parse → choose model (direct, LoRA adapter or route policy) →
//                               pick a healthy replica → forward / stream (retries on other
//                               replicas and fallback models before the first byte, under the
//                               retry budget; optional hedging) → record decision with attempts
//   POST /v1/route              the decision a chat request would get, explained; not forwarded
//   GET  /v1/models             configured models and routes
//   GET  /v1/decisions/{id}     a decision record
//   GET  /healthz /readyz       liveness; readiness (503 while draining)
//   GET  /metrics               Prometheus
//
// Every chat request, failed or not, gets a decision id (header x-switchboard-decision), a decision
// record and metrics. Errors are answered in OpenAI's shape with the status from http_status().
#pragma once

#include <memory>
#include <vector>

#include "http/server.h"
#include "http/upstream.h"
#include "metrics/metrics.h"
#include "pipeline/runtime.h"
#include "store/decision_store.h"

namespace switchboard::pipeline {

namespace asio = boost::asio;

class Gateway {
 public:
  Gateway(std::unique_ptr<Runtime> runtime, std::unique_ptr<store::DecisionStore> store);
  ~Gateway();

  // Creates one upstream client per server worker. Must be called before the server runs.
  void attach(http::Server& server);
  // Drops the upstream clients (and their pooled connections). Must be called after the server
  // stopped running and before it is destroyed.
  void detach();
  asio::awaitable<void> handle(http::Exchange& exchange);

  store::DecisionStore& decisions() { return *store_; }
  metrics::GatewayMetrics& metrics() { return metrics_; }

 private:
  struct ChatCall;
  struct Attempt;
  struct HedgeRace;
  asio::awaitable<void> chat(http::Exchange& exchange);
  asio::awaitable<void> forward(ChatCall& call, const std::vector<const ModelRuntime*>& plan);
  // One attempt on replica `r` of `m`: sends the request, waits for the head (and, unless
  // streaming, the body). Never throws except on cancellation.
  asio::awaitable<Attempt> run_attempt(ChatCall& call, const ModelRuntime& m, Replica& r);
  // run_attempt() on `first`, plus — when no answer came within the model's hedge.after_ms — a
  // second one on another healthy replica (if the retry budget allows); the first good answer
  // wins and the other attempt is cancelled. Appends the hedge's replica to `tried`.
  asio::awaitable<Attempt> hedged_attempt(ChatCall& call, const ModelRuntime& m, Replica& first,
                                          std::vector<const Replica*>& tried, const RouteRequest& rr);
  // Appends the attempt to the decision record and reports its outcome to the replica's health.
  void note_attempt(ChatCall& call, Attempt& a, bool hedge);
  asio::awaitable<void> relay_stream(ChatCall& call, http::UpstreamCall& upstream);
  asio::awaitable<void> fail(ChatCall& call, const Error& error, const char* outcome);
  void finish(ChatCall& call);
  asio::awaitable<void> explain_route(http::Exchange& exchange);
  asio::awaitable<void> models(http::Exchange& exchange);
  asio::awaitable<void> decision(http::Exchange& exchange, std::string_view id);

  std::unique_ptr<Runtime> runtime_;  // constant after construction
  std::unique_ptr<store::DecisionStore> store_;
  metrics::GatewayMetrics metrics_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::shared_ptr<http::UpstreamClient>> clients_;  // index = worker; each used by its worker only
  http::Server* server_ = nullptr;
};

}  // namespace switchboard::pipeline
