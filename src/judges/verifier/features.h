// The verifier's features of (prompt, answer): sparse, hashed into 2^bits buckets (FNV-1a of a
// namespaced token), so that no vocabulary is stored and the same text always gives the same
// vector. Groups (each namespaced):
//   - bias; the answering model; the answer kind of the prompt (choice / code / text, as the
//     agreement judge resolves it) and its cross with the model;
//   - answer word unigrams and bigrams (lower-cased runs of letters, digits and '_'), each present
//     token counted once, the group scaled to unit length;
//   - the last kPromptWords words of the prompt (where the question is; few-shot examples come
//     first), scaled the same way;
//   - dense signs, each also crossed with the kind: log length (chars, lines, words), hedges, a
//     refusal, the truncated-refusal pattern, an extracted choice (none / a leading label / option
//     text), code: a block found, a closed fence, definitions, return, print/input calls, example
//     asserts, lines of code, unbalanced brackets, recursion, the finish reason "length".
//
// Contract: pure, thread-safe, never throws; linear in the text's length.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::judges::verifier {

inline constexpr std::size_t kPromptWords = 200;

struct FeatureInput {
  std::string_view prompt;
  std::string_view answer;
  std::string_view model;
  std::string_view finish_reason;
};

// (bucket, value) pairs; buckets may repeat (their values add up).
using SparseVector = std::vector<std::pair<std::uint32_t, float>>;

class FeatureHasher {
 public:
  explicit FeatureHasher(int bits = 18) : bits_(bits), mask_((1u << bits) - 1) {}
  int bits() const { return bits_; }
  std::size_t dim() const { return std::size_t{1} << bits_; }
  // Appends the features of `in` to `out` (cleared first).
  void features(const FeatureInput& in, SparseVector& out) const;

 private:
  int bits_;
  std::uint32_t mask_;
};

}  // namespace switchboard::judges::verifier
