// The http embedding provider for offline users (the evaluator, `switchboard route`): blocking
// calls on a private io_context, with the request and parsing of signals/http_embedding.h and the
// gateway's own async call (pipeline/embedding_step.h), so offline decisions see the vectors the
// gateway would get. Deliberately free of http headers: eval uses it without depending on http.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "api/chat_request.h"
#include "pipeline/runtime.h"
#include "signals/extractor.h"
#include "switchboard/result.h"

namespace switchboard::pipeline {

// The embeddings of `texts` (truncated with signals::embedding_input()), in batches of
// signals::kEmbeddingBatch. Fails on the first failed call. Errors: those of
// signals::make_http_endpoint() and fetch_embeddings().
Result<std::vector<std::vector<float>>> embed_texts(const signals::ExtractorOptions& options,
                                                    std::span<const std::string_view> texts);

// Fills the embeddings of `requests` (whose signals were computed with `needs`: the evaluator's
// union, or the route's needs) when needs.embedding and the provider is http. Returns the first
// failed call's error: a policy evaluated or trained without its embeddings would be meaningless.
std::optional<Error> add_http_embeddings_blocking(const Runtime& runtime,
                                                  std::span<const api::ChatRequest> requests,
                                                  std::span<Signals> signals,
                                                  const SignalNeeds& needs);

}  // namespace switchboard::pipeline
