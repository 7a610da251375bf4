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
//   GET  /v1/models             configured models and routes
//   GET  /v1/decisions/{id}     a decision record (SQLite is read on a small thread pool, never on
//                               a worker's event loop)
//   GET  /healthz /readyz       liveness; readiness (503 while draining)
//   GET  /metrics               Prometheus
//
// Every chat request, failed or not, gets a decision id (header x-switchboard-decision), a decision
// record and metrics — also when an exception escapes the request path (then recorded as
// internal_error; the server answers 500 if nothing was sent). Errors are answered in OpenAI's
// shape with the status from http_status().
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/server.h"
#include "http/upstream.h"
#include "metrics/metrics.h"
#include "pipeline/front_end.h"
#include "pipeline/request_context.h"
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
  // The server's handler (gateway_serve.cc): handle(), except that requests to an API front end go
  // straight to front(), so that no dispatcher coroutine frame stays allocated for as long as a
  // stream lasts.
  asio::awaitable<void> serve(http::Exchange& exchange);

  store::DecisionStore& decisions() { return *store_; }
  metrics::GatewayMetrics& metrics() { return metrics_; }

 private:
  struct Worker;  // per worker thread: its upstream and embedding source
  // Builds the request context of a request to a front end (before its translation).
  void prepare(RequestContext& ctx, http::Exchange& exchange, Worker& worker);
  // The registered front end serving POST `path`, or null.
  const FrontEnd* front_for(std::string_view path) const;
  // Runs a request to an API front end through the stages.
  asio::awaitable<void> front(http::Exchange& exchange, const FrontEnd& front);
  asio::awaitable<void> explain_route(http::Exchange& exchange);
  asio::awaitable<void> models(http::Exchange& exchange);
  asio::awaitable<void> decision(http::Exchange& exchange, std::string_view id);

  std::unique_ptr<Runtime> runtime_;  // constant after construction
  // One of every registered front end, by path; constant after construction.
  std::map<std::string, std::unique_ptr<FrontEnd>, std::less<>> fronts_;
  std::unique_ptr<store::DecisionStore> store_;
  metrics::GatewayMetrics metrics_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::unique_ptr<Worker>> workers_;  // index = worker; each used by its worker only
  std::unique_ptr<RecordSink> sink_;
  http::Server* server_ = nullptr;
  // Decision lookups in SQLite (attach() to detach()); declared after store_, so it is gone first.
  std::unique_ptr<asio::thread_pool> lookups_;
};

}  // namespace switchboard::pipeline
