#include "pipeline/embedding_blocking.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <memory>

#include "pipeline/embedding_step.h"
#include "signals/http_embedding.h"

namespace switchboard::pipeline {
namespace {

http::asio::awaitable<void> embed_all(std::shared_ptr<http::UpstreamClient> client,
                                      const signals::HttpEmbeddingEndpoint* ep,
                                      std::span<const std::string_view> texts,
                                      std::vector<std::vector<float>>* all,
                                      std::optional<Error>* error) {
  all->reserve(texts.size());
  for (std::size_t i = 0; i < texts.size(); i += signals::kEmbeddingBatch) {
    std::vector<std::string> inputs;
    for (std::size_t j = i; j < std::min(texts.size(), i + signals::kEmbeddingBatch); ++j)
      inputs.push_back(signals::embedding_input(texts[j]));
    auto got = co_await fetch_embeddings(*client, *ep, inputs);
    if (!got) {
      *error = got.error();
      co_return;
    }
    for (auto& v : *got) all->push_back(std::move(v));
  }
}

}  // namespace

Result<std::vector<std::vector<float>>> embed_texts(const signals::ExtractorOptions& options,
                                                    std::span<const std::string_view> texts) {
  auto ep = signals::make_http_endpoint(options);
  if (!ep) return ep.error();
  std::vector<std::vector<float>> all;
  std::optional<Error> error;
  if (texts.empty()) return all;
  http::asio::io_context io;
  std::unique_ptr<http::asio::ssl::context> tls = http::make_client_tls_context();
  {
    auto client = std::make_shared<http::UpstreamClient>(io, *tls);
    http::asio::co_spawn(io, embed_all(client, &*ep, texts, &all, &error), http::asio::detached);
  }
  io.run();
  if (error) return *error;
  return all;
}

std::optional<Error> add_http_embeddings_blocking(const Runtime& runtime,
                                                  std::span<const api::ChatRequest> requests,
                                                  std::span<Signals> signals,
                                                  const SignalNeeds& needs) {
  if (!runtime.http_embedding || !needs.embedding || requests.empty()) return std::nullopt;
  std::vector<std::string_view> texts;
  texts.reserve(requests.size());
  for (const auto& r : requests) texts.push_back(r.prompt_text);
  auto got = embed_texts(extractor_options(runtime.config->signals), texts);
  if (!got) return got.error();
  for (std::size_t i = 0; i < signals.size() && i < got->size(); ++i)
    signals[i].embedding = std::move((*got)[i]);
  return std::nullopt;
}

}  // namespace switchboard::pipeline
