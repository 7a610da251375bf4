// What a model costs by its configured list price before any answer of it was billed: the prompt
// at the input price and an assumed completion at the output price. Shared by the learning
// policies that learn costs from billed answers (bandit, elo).
#pragma once

#include <cstdint>

namespace switchboard::policies {

// The completion length assumed for a model not yet billed.
inline constexpr double kAssumedCompletionTokens = 256;

// USD for `prompt_tokens` in and kAssumedCompletionTokens out at these prices per million tokens.
inline double list_price(double input_per_mtok, double output_per_mtok,
                         std::int64_t prompt_tokens) {
  return (input_per_mtok * static_cast<double>(prompt_tokens) +
          output_per_mtok * kAssumedCompletionTokens) /
         1e6;
}

}  // namespace switchboard::policies
