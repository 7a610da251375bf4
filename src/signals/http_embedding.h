// The `http` embedding provider (signals.embedding.provider: http, docs/signals.md): any
// OpenAI-compatible POST /v1/embeddings endpoint. It needs I/O, so it is not part of
// Extractor::extract(): the gateway awaits fetch_embeddings() on its worker's UpstreamClient after
// Runtime::signals_for() (pipeline/embedding_step.h), and offline users (the evaluator, the
// trainers, `switchboard route`) call the blocking embed_texts(), which runs the same client on a
// private io_context. Both send the same request and parse the answer here, so a model trained
// offline sees the vectors the gateway will give it.
//
// Request: {"model": M, "input": TEXT} (one text) or {"model": M, "input": [TEXT, …]} (a batch of
// up to kEmbeddingBatch texts, offline). Answer: data[i].embedding (ordered by data[i].index when
// present), each L2-normalised; the vectors' length is whatever the endpoint returns (no probe at
// start-up, so Extractor::embedding_dim() is 0 for this provider).
//
// Huge inputs are truncated like the GloVe embedding reads them: the first kEmbeddingHeadBytes and
// the last kEmbeddingTailBytes, joined by "\n", cut on UTF-8 character boundaries (embedding_input()).
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "http/upstream.h"
#include "signals/extractor.h"
#include "switchboard/result.h"

namespace switchboard::signals {

inline constexpr std::size_t kEmbeddingHeadBytes = 24 * 1024;
inline constexpr std::size_t kEmbeddingTailBytes = 8 * 1024;
inline constexpr std::size_t kEmbeddingBatch = 64;                    // texts per offline call
inline constexpr std::size_t kMaxEmbeddingResponse = 64 * 1024 * 1024;  // bytes

// The text sent for `text`: itself when it fits, else head + "\n" + tail (see above).
std::string embedding_input(std::string_view text);

// The request body; one input is sent as a string, several as an array.
std::string embeddings_request_body(std::string_view model, std::span<const std::string> inputs);

// The `expected` vectors of an answer, each L2-normalised. Errors (kUpstreamError,
// "embedding_bad_response"): not JSON, no data array, a count other than `expected`, an empty,
// non-numeric, non-finite or all-zero vector, vectors of different lengths.
Result<std::vector<std::vector<float>>> parse_embeddings_response(std::string_view body, std::size_t expected);

// Where and how to call the provider, built once from ExtractorOptions.
struct HttpEmbeddingEndpoint {
  config::Url url;
  std::string target;         // url.base_path + "/v1/embeddings" ("/embeddings" when it ends in /v1)
  std::string authorization;  // "Bearer KEY" from embedding_api_key_env; empty = none
  std::string model;
  std::chrono::milliseconds timeout{2'000};
  std::size_t pool_key = static_cast<std::size_t>(-1);  // distinct from the replicas' keys (their index)
};
// Errors (kBadRequest, "bad_config"): not the http provider, no url/model, a bad url, or an
// api_key_env variable that is not set.
Result<HttpEmbeddingEndpoint> make_http_endpoint(const ExtractorOptions& options);

// One call for `inputs` (already passed through embedding_input()), within endpoint.timeout.
// `inputs` must stay alive until the call completes. Errors: the client's (upstream_unreachable,
// upstream_timeout), "embedding_status_NNN" for a non-200 answer, or the parser's.
http::asio::awaitable<Result<std::vector<std::vector<float>>>> fetch_embeddings(http::UpstreamClient& client,
                                                                         const HttpEmbeddingEndpoint& endpoint,
                                                                         std::span<const std::string> inputs);

// Blocking, for offline use: the embeddings of `texts` (truncated with embedding_input()), in
// batches of kEmbeddingBatch on a private io_context. Fails on the first failed call.
Result<std::vector<std::vector<float>>> embed_texts(const ExtractorOptions& options,
                                                   std::span<const std::string_view> texts);

}  // namespace switchboard::signals
