#include "pipeline/embedding_step.h"

namespace switchboard::pipeline {

Result<std::shared_ptr<const HttpEmbedding>> make_http_embedding(const config::SignalsConfig& sc) {
  auto ep = signals::make_http_endpoint(extractor_options(sc));
  if (!ep) return make_error(ep.error().kind, ep.error().code, sc.where + ": " + ep.error().message);
  auto he = std::make_shared<HttpEmbedding>();
  static_cast<signals::HttpEmbeddingEndpoint&>(*he) = std::move(*ep);
  return std::shared_ptr<const HttpEmbedding>(std::move(he));
}

http::asio::awaitable<Result<std::vector<std::vector<float>>>> fetch_embeddings(
    http::UpstreamClient& client, const signals::HttpEmbeddingEndpoint& ep,
    std::span<const std::string> inputs) {
  const std::string request_body =
      signals::embeddings_request_body(ep.model, inputs);  // outlives start()
  auto req = http::make_upstream_request(http::bhttp::verb::post, ep.target, request_body);
  req.set("Content-Type", "application/json");
  req.set("Accept", "application/json");
  http::UpstreamTarget target{&ep.url, ep.authorization, ep.pool_key, {}, {}};
  const auto deadline = http::Clock::now() + ep.timeout;
  auto started = co_await client.start(target, std::move(req), deadline);
  if (!started) co_return started.error();
  auto body = co_await (*started)->read_all(signals::kMaxEmbeddingResponse, deadline);
  if (!body) co_return body.error();
  if (unsigned status = (*started)->status(); status != 200)
    co_return make_error(
        ErrorKind::kUpstreamError, "embedding_status_" + std::to_string(status),
        "embedding endpoint answered HTTP " + std::to_string(status) + ": " + body->substr(0, 200));
  co_return signals::parse_embeddings_response(*body, inputs.size());
}

http::asio::awaitable<std::string> add_http_embedding(const Runtime& runtime, http::UpstreamClient& client,
                                                      metrics::GatewayMetrics& metrics,
                                                      const api::ChatRequest& request, Signals& signals) {
  if (!runtime.http_embedding) co_return std::string();
  const RouteRuntime* route = runtime.find_route(request.model);
  if (!route || !route->needs.embedding) co_return std::string();
  const std::string input = signals::embedding_input(request.prompt_text);
  auto got = co_await fetch_embeddings(client, *runtime.http_embedding,
                                       std::span<const std::string>(&input, 1));
  if (!got) {
    metrics.embeddings.with({got.error().code}).inc();
    co_return "; no embedding (" + got.error().code + ")";
  }
  metrics.embeddings.with({"ok"}).inc();
  signals.embedding = std::move(got->front());
  co_return std::string();
}

}  // namespace switchboard::pipeline
