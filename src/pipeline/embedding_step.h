// The gateway's embedding step for signals.embedding.provider http (docs/signals.md): after
// Runtime::signals_for() and before decide(), in the chat path and POST /v1/route. It calls the
// configured /v1/embeddings endpoint through the worker's UpstreamClient (its own pool key, the
// provider's timeout_ms) and fills Signals::embedding, L2-normalised. On failure or timeout the
// embedding stays empty (policies must cope), switchboard_embedding_requests_total{result=CODE}
// counts it, and the returned note is appended to the decision's reason. The offline, blocking
// variant (evaluator, `switchboard route`) is in pipeline/embedding_blocking.h.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "api/chat_request.h"
#include "http/upstream.h"
#include "metrics/metrics.h"
#include "pipeline/runtime.h"
#include "signals/http_embedding.h"

namespace switchboard::pipeline {

struct HttpEmbedding : signals::HttpEmbeddingEndpoint {};

// The endpoint from the `signals:` section (reads the API key from the environment).
Result<std::shared_ptr<const HttpEmbedding>> make_http_embedding(const config::SignalsConfig& signals);

// One call for `inputs` (already passed through signals::embedding_input()), within
// endpoint.timeout. `inputs` must stay alive until the call completes. Errors: the client's
// (upstream_unreachable, upstream_timeout), "embedding_status_NNN" for a non-200 answer, or the
// parser's (signals::parse_embeddings_response).
http::asio::awaitable<Result<std::vector<std::vector<float>>>> fetch_embeddings(
    http::UpstreamClient& client, const signals::HttpEmbeddingEndpoint& endpoint,
    std::span<const std::string> inputs);

// Does nothing (returns "") unless `request.model` names a route that needs the embedding and the
// provider is http. Returns "" on success, else a note such as
// "; no embedding (upstream_timeout)" for the decision's reason.
http::asio::awaitable<std::string> add_http_embedding(const Runtime& runtime, http::UpstreamClient& client,
                                                      metrics::GatewayMetrics& metrics,
                                                      const api::ChatRequest& request, Signals& signals);

}  // namespace switchboard::pipeline
