// The replay backend's /v1/embeddings: deterministic vectors, so that tests and the demo can route
// among "embedding models" without any model weights.
//
// Each input's vector is drawn from a PRNG seeded by a hash of the model name and the input text
// (the same input and model always give the same vector; another model gives another one),
// `dimensions` long (the request's, else the server's), normalised to unit length. Pure, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::replay {

// The vector for one input.
std::vector<float> replay_embedding(std::string_view model, std::string_view input,
                                    std::size_t dimensions);

// Answers an embeddings request body: {"object":"list","data":[{"object":"embedding","index":i,
// "embedding":[...] or base64 of little-endian float32 when encoding_format is "base64"}],
// "model":..., "usage":{"prompt_tokens":n,"total_tokens":n}} with n about a token per four
// characters. `model` is the one served when the request names none. Errors (kBadRequest,
// invalid_request): not a JSON object, input missing or not a string / array of strings,
// dimensions not in [1, 8192].
Result<std::string> embeddings_answer(std::string_view body, std::string_view model,
                                      std::size_t default_dimensions);

}  // namespace switchboard::replay
