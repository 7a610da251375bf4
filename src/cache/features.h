// Guards beyond cosine: what a near-duplicate must share with the cached question to be answered
// from it. Embedding cosine says two questions are about the same thing; it does not see that
// "how do I enable X" and "how do I disable X", "... 3 eggs" and "... 4 eggs", "... France" and
// "... Germany" or "... in French" and "... in German" want different answers. compatible() is
// false when the two texts differ in any of:
//   numbers     digit runs (with inner '.' ',' ':' '/'), number and ordinal words (one..twenty,
//               hundred, first..tenth, half, double, ...)
//   negation    how many negations (not, no, never, n't, without, none, cannot, ...)
//   polarity    words whose swap inverts the question (enable/disable, increase/decrease,
//               before/after, max/min, buy/sell, ...), units and comparatives
//   entities    capitalised words other than a sentence's ordinary first word, acronyms, words
//               with inner capitals or digits (iPhone, GPT4), lowercased
//   languages   natural and programming language names (French, Python, ...)
//   unknown     words the embedding has no vector for (set by analyse_prompt, which has the
//               table): they add nothing to it, so "translate: кошка" and "translate: собака",
//               or two made-up words, embedded alike (similarity 1.0)
//   operators   runs of + - * / % ^ = < > ! & | ~ ("2 + 3" and "2 - 3", "-5" and "5", ">=" and
//               "<=", "15%" and "15" embed alike); not a hyphen between letters nor a run of
//               '!' alone
// Each is compared as a sequence of first occurrences, so that "km to miles" and "miles to km" or
// "London to Paris" and "Paris to London" differ too (negation as a count). Contract: extract() is
// pure, allocation-light (small vectors of 64-bit word hashes, no copy of a word) and linear in the
// text. Words come from cache/words.h's tokeniser, whose one pass can also feed the embedding
// (cache/prompt_analysis.h); a listed word is found with one probe of a flat table keyed by the
// hash the tokeniser computed.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "cache/words.h"

namespace switchboard::cache {

struct Features {
  std::vector<std::uint64_t> numbers;   // hashes, first occurrences in order
  std::vector<std::uint64_t> polarity;  // the same (polarity words, units, languages)
  std::vector<std::uint64_t> entities;  // the same
  std::vector<std::uint64_t> operators;  // the same
  int negations = 0;
  // The unknown words (their hashes, first occurrences in order) folded into one hash; 0: none.
  std::uint64_t unknown = 0;
  bool operator==(const Features&) const = default;
};

// The features of `text`. With Newlines::kSpace a raw text gives exactly the features of its
// collapse_whitespace() form (what the cache stores), without the copy.
Features extract_features(std::string_view text, Newlines newlines = Newlines::kStartSentence);

// Builds Features word by word from a scan_words() pass (for callers that scan once for more than
// the guards). add() each guard word of `text` in order, add_operators(text), then finish() once.
class FeatureBuilder {
 public:
  void add(const WordView& word, std::string_view text);
  // The operators of `text` (all of it, once, before finish()).
  void add_operators(std::string_view text);
  Features finish();

 private:
  Features f_;
};

// True when a cached answer to `cached` may answer `query` (see above). Symmetric.
inline bool compatible(const Features& query, const Features& cached) {
  return query == cached;
}

}  // namespace switchboard::cache
