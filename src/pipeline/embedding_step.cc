#include "pipeline/embedding_step.h"

namespace switchboard::pipeline {

Result<std::shared_ptr<const HttpEmbedding>> make_http_embedding(const config::SignalsConfig& sc) {
  auto ep = signals::make_http_endpoint(extractor_options(sc));
  if (!ep) return make_error(ep.error().kind, ep.error().code, sc.where + ": " + ep.error().message);
  auto he = std::make_shared<HttpEmbedding>();
  static_cast<signals::HttpEmbeddingEndpoint&>(*he) = std::move(*ep);
  return std::shared_ptr<const HttpEmbedding>(std::move(he));
}

http::asio::awaitable<std::string> add_http_embedding(const Runtime& runtime, http::UpstreamClient& client,
                                                      metrics::GatewayMetrics& metrics,
                                                      const api::ChatRequest& request, Signals& signals) {
  if (!runtime.http_embedding) co_return std::string();
  const RouteRuntime* route = runtime.find_route(request.model);
  if (!route || !route->needs.embedding) co_return std::string();
  const std::string input = signals::embedding_input(request.prompt_text);
  auto got = co_await signals::fetch_embeddings(client, *runtime.http_embedding, std::span<const std::string>(&input, 1));
  if (!got) {
    metrics.embeddings.with({got.error().code}).inc();
    co_return "; no embedding (" + got.error().code + ")";
  }
  metrics.embeddings.with({"ok"}).inc();
  signals.embedding = std::move(got->front());
  co_return std::string();
}

std::optional<Error> add_http_embeddings_blocking(const Runtime& runtime, std::span<const api::ChatRequest> requests,
                                                  std::span<Signals> signals, const SignalNeeds& needs) {
  if (!runtime.http_embedding || !needs.embedding || requests.empty()) return std::nullopt;
  std::vector<std::string_view> texts;
  texts.reserve(requests.size());
  for (const auto& r : requests) texts.push_back(r.prompt_text);
  auto got = signals::embed_texts(extractor_options(runtime.config->signals), texts);
  if (!got) return got.error();
  for (std::size_t i = 0; i < signals.size() && i < got->size(); ++i) signals[i].embedding = std::move((*got)[i]);
  return std::nullopt;
}

}  // namespace switchboard::pipeline
