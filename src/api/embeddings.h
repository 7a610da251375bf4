// The OpenAI Embeddings API (POST /v1/embeddings): the request as the stages see it. The body is
// forwarded to the chosen embedding model's /v1/embeddings unchanged (except for the model
// rename) and its answer — vectors included — comes back unchanged.
#pragma once

#include <string_view>

#include "api/chat_request.h"
#include "switchboard/result.h"

namespace switchboard::api {

// Most inputs accepted in one request (OpenAI's limit).
inline constexpr std::size_t kMaxEmbeddingInputs = 2048;

// Validates an embeddings request and describes it as a ChatRequest for routing: `model`, one
// user message holding the inputs joined by '\n' (so the signals and rules read the text),
// estimated_prompt_tokens, stream false. Errors (kBadRequest): invalid_json; invalid_request (the
// message names the field) when the body is not an object, `model` is missing, empty or longer
// than kMaxModelBytes, `input` is missing, empty, an empty string, not a string or an array of
// non-empty strings (token arrays are refused), has more than kMaxEmbeddingInputs items,
// `encoding_format` is not float or base64, `dimensions` is not a positive integer.
Result<ChatRequest> parse_embeddings_request(std::string_view body);

}  // namespace switchboard::api
