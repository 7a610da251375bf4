// The `http` embedding provider (signals.embedding.provider: http, docs/signals.md): any
// OpenAI-compatible POST /v1/embeddings endpoint. This file holds its pure part: the endpoint
// description, the request body and the parsing of the answer. The calls themselves are I/O, which
// signals never do (Extractor::extract() does none): the gateway awaits
// pipeline::fetch_embeddings() on its worker's UpstreamClient after Runtime::signals_for()
// (pipeline/embedding_step.h), and offline users (the evaluator, `switchboard route`) call the
// blocking pipeline::embed_texts() (pipeline/embedding_blocking.h), which runs the same client on a
// private io_context. Both send the request built here and parse the answer here, so a model
// trained offline sees the vectors the gateway will give it.
//
// Request: {"model": M, "input": TEXT} (one text) or {"model": M, "input": [TEXT, …]} (a batch of
// up to kEmbeddingBatch texts, offline). Answer: data[i].embedding (ordered by data[i].index when
// present), each L2-normalised; the vectors' length is whatever the endpoint returns (no probe at
// start-up, so Extractor::embedding_dim() is 0 for this provider).
//
// Huge inputs are truncated like the GloVe embedding reads them: the first kEmbeddingHeadBytes and
// the last kEmbeddingTailBytes, joined by "\n", cut on UTF-8 character boundaries
// (embedding_input()).
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
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

}  // namespace switchboard::signals
