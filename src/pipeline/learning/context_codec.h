// A decision's context (context_cache.h) as JSON text: what the Redis stream of feedback events
// carries (learner.h) and what the decision store keeps per decision of a learning route
// (DecisionRecord::learning_context, store/learning_contexts.h). Numbers round-trip exactly
// (embeddings included); text that is not valid UTF-8 is written with U+FFFD in its place.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/learning/context_cache.h"

namespace switchboard::pipeline::learning {

// A request's signals as keys of `j`: embedding, task, task_confidence, language, has_code,
// signal_tokens, messages; and back (absent keys give the defaults).
void put_signals(nlohmann::json& j, const Signals& s);
Signals get_signals(const nlohmann::json& j);

// The context with its prompt cut to `max_prompt_bytes`.
std::string encode_context(const DecisionContext& context, std::size_t max_prompt_bytes);
// nullopt when `text` is not an encoded context.
std::optional<DecisionContext> decode_context(std::string_view text);

}  // namespace switchboard::pipeline::learning
