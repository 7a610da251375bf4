// The jailbreak classifier's text features (docs/guard.md): a text is hashed once into events —
// each word's unigram, its bigram with the word before, its character 3- to 5-grams, and the marks
// attacks lean on — and a window of words counts its own events. A window's feature vector is
// 1 + log(count) per hashed index (counts in tenths: a word, bigram or mark adds 10, a character
// n-gram 1), L2-normalised.
//
// Contract: events_of() reads at most kMaxScoredBytes (the text's head and tail); everything here
// is pure and allocation-light (thread-local scratch), no I/O. max_window_logit() slides over the
// windows adding and removing events, so scoring every window of a text costs about two passes over
// its events whatever the window size; features_of() gives the explicit vector of one window (what
// training's gradient needs) and agrees with max_window_logit() up to rounding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::guard {

inline constexpr std::size_t kMaxScoredBytes = 32 * 1024;

struct Event {
  std::uint32_t key;     // hashed index, < 2^dim_bits
  std::uint16_t tenths;  // count weight in tenths
  bool bigram;           // the bigram of its word with the word before (left out of a window
                         // that starts at this word)
};

// A text's events in order, and where each word's begin: word_begin[u] is the first event of word
// u (marks before the first word belong to word 0, marks after a word to that word), with one
// entry past the end.
struct TextEvents {
  std::vector<Event> events;
  std::vector<std::uint32_t> word_begin;
  std::size_t words() const { return word_begin.empty() ? 0 : word_begin.size() - 1; }
};
void events_of(std::string_view text, unsigned dim_bits, TextEvents& out);

// The windows of `window_words` words of a text of `words` words, as [first, stop) word ranges:
// overlapping by half, the last one ending with the text. One window, the whole text, when it has
// at most that many words or window_words is 0.
std::vector<std::pair<std::size_t, std::size_t>> window_ranges(std::size_t words,
                                                               unsigned window_words);

// The sparse feature vector of the words [first, stop) of `t`: distinct indices (in first-seen
// order) and their L2-normalised values.
struct Features {
  std::vector<std::uint32_t> index;
  std::vector<float> value;
};
void features_of(const TextEvents& t, std::size_t first, std::size_t stop, Features& out);

// The highest logit bias + w·x over the windows of `t`, and that window.
struct WindowLogit {
  double logit;
  std::size_t first, stop;
};
WindowLogit max_window_logit(const TextEvents& t, unsigned window_words, const float* weights,
                             double bias);

}  // namespace switchboard::guard
