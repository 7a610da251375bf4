// Reading an Anthropic `usage` object (shared by the Messages front end's pass-through meter, the
// text-answer reader and the chat translation, so every Anthropic path counts alike).
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json_fwd.hpp>

namespace switchboard::api {

// The prompt tokens, as OpenAI counts them: input_tokens plus the tokens written to and read from
// Anthropic's prompt cache (each ≥ 0, the sum saturating); nullopt when it has none of the three.
// The cache reads are also reported apart (cache_read_input_tokens) and priced by
// config::Price::cached_input_per_mtok (docs/apis.md).
std::optional<std::int64_t> anthropic_prompt_tokens(const nlohmann::json& usage);

}  // namespace switchboard::api
