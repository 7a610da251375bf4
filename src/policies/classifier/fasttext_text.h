// The text a fastText model of the classifier policy sees, built the same way when training and
// when routing: the prompt's last kClassifierBytes (from the first word boundary in that window:
// messages are joined in order, so that is the latest message; it bounds the work for long prompts
// — a 2,000-token prompt would otherwise cost ~150 µs of n-gram lookups), lower-cased ASCII,
// punctuation split into its own tokens, all whitespace (newlines too: fastText reads one line per
// example) collapsed to single spaces, at most `max_tokens` tokens, then the task label as a token
// `__task__LABEL` when known.
#pragma once

#include <string>
#include <string_view>

namespace switchboard::policies {

inline constexpr std::size_t kClassifierMaxTokens = 4096;
inline constexpr std::size_t kClassifierBytes = 2048;

std::string fasttext_text(std::string_view text, std::string_view task,
                          std::size_t max_tokens = kClassifierMaxTokens);

}  // namespace switchboard::policies
