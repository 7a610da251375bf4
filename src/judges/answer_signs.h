// Cheap signs of an answer's quality that need no model: refusal ("I cannot", "As an AI", …) and
// hedging ("I think", "probably", …). Shared by the `rules` judge and the verifier's features.
//
// Contract: pure functions, thread-safe, never throw; linear in the text's length and reading at
// most the first kRefusalWindow bytes for refusals.
#pragma once

#include <cstddef>
#include <string_view>

namespace switchboard::judges {

inline constexpr std::size_t kRefusalWindow = 400;

// The refusal phrase the answer starts with (within its first kRefusalWindow bytes, after a
// leading "Sure," / "Unfortunately,"), or "" when none. An answer that stops inside such a phrase
// ("I do", cut off by a token limit before "I do not…") counts when `truncated_counts` and it holds
// at least 4 characters.
std::string_view refusal_phrase(std::string_view answer, bool truncated_counts = true);

// How many hedging phrases ("I think", "probably", "not sure", "might be", …) the answer holds,
// counting each occurrence (case-insensitive, word boundaries).
std::size_t hedge_count(std::string_view answer);

}  // namespace switchboard::judges
