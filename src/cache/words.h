// The cache's tokeniser: one pass over a message's text yields every word the guards look at
// (cache/features.h) as a span with its hashes, and every word the GloVe embedding reads
// (signals/words.h: maximal runs of letters, digits and non-ASCII bytes) as its glove_hash, so
// that a semantic lookup splits and lower-cases its prompt once. No allocation, no copy of a word.
//
// A guard word is a run of letters, digits and non-ASCII bytes that may contain inner apostrophes
// ("don't") and, between digits, '.' ',' ':' '/' ("1,000", "3.14", "9:30"); a one-letter word
// followed by "+", "++" or "#" takes them ("C++", "C#"). Its embedding words are its runs between
// those inner bytes ("don't" -> "don", "t"), as signals::for_each_word splits them.
//
// Sentence starts (for the entity guard): after . ? ! : ; " ( - * # > and, with
// Newlines::kStartSentence, after '\n'. Newlines::kSpace scans a raw text exactly as the guards see
// it after cache::collapse_whitespace (which turns every newline into a space).
//
// Contract: scan_words(text, newlines, on_word, on_glove_word) calls on_word(const WordView&) for
// each guard word and on_glove_word(std::uint64_t hash, std::size_t bytes) for each embedding word,
// both in text order; linear in the text. The embedding skips words longer than
// signals::kMaxWordBytes (the caller's filter); the cache's unknown-word guard does not (an
// unspaced run of Chinese is one long word).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "signals/words.h"

namespace switchboard::cache {

inline constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
inline constexpr std::uint64_t kFnvPrime = 1099511628211ull;

// FNV-1a 64 (the hash of features.h and signals::glove_hash).
constexpr std::uint64_t fnv1a(std::string_view s, std::uint64_t h = kFnvOffset) {
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  return h;
}

struct WordView {
  std::uint32_t begin = 0, end = 0;  // the word's bytes in the scanned text
  std::uint64_t lower = 0;           // fnv1a of the ASCII-lowercased word
  std::uint64_t plain = 0;           // the same without its apostrophes
  std::uint64_t digits = 0;          // the same without its commas
  bool sentence_start = false;       // first word of a sentence
  bool has_digit = false, has_alpha = false;
  bool inner_upper = false;    // an upper-case letter after the first byte
  bool all_caps = false;       // two bytes or more, all upper-case letters or apostrophes
  bool ordinal_chars = false;  // only digits and s t n d r h . , (1st, 2nd, 3.5, 1,000)
  bool ends_nt = false;        // ends with "n't" (any case)
  bool first_upper = false;    // first byte an upper-case letter
  bool first_alpha = false;    // first byte a letter
  std::string_view text(std::string_view scanned) const {
    return scanned.substr(begin, end - begin);
  }
};

enum class Newlines { kStartSentence, kSpace };

namespace detail {

// Byte classes: word byte (signals::is_word_byte), digit, upper, alpha; and the lowercase form.
enum : std::uint8_t {
  kWord = 1,
  kDigit = 2,
  kUpper = 4,
  kAlpha = 8,
  kSentence = 16,
  kOrdinal = 32
};
constexpr std::array<std::uint8_t, 256> kClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t k = 0;
    if (signals::is_word_byte(static_cast<unsigned char>(c))) k |= kWord;
    if (c >= '0' && c <= '9') k |= kDigit | kOrdinal;
    if (c >= 'A' && c <= 'Z') k |= kUpper | kAlpha;
    if (c >= 'a' && c <= 'z') k |= kAlpha;
    for (char s : std::string_view(".?!:;\"(-*#>"))
      if (c == static_cast<unsigned char>(s)) k |= kSentence;
    for (char s : std::string_view("stndrh.,STNDRH"))
      if (c == static_cast<unsigned char>(s)) k |= kOrdinal;
    t[c] = k;
  }
  return t;
}();
constexpr unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c;
}

}  // namespace detail

template <typename WordFn, typename GloveFn>
void scan_words(std::string_view text, Newlines newlines, WordFn&& on_word,
                GloveFn&& on_glove_word) {
  using namespace detail;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  const bool newline_starts = newlines == Newlines::kStartSentence;
  std::size_t i = 0;
  bool sentence_start = true;
  while (i < n) {
    const unsigned char c = p[i];
    const std::uint8_t k0 = kClass[c];
    if (!(k0 & kWord)) {
      if ((k0 & kSentence) || (c == '\n' && newline_starts)) sentence_start = true;
      ++i;
      continue;
    }
    WordView w;
    w.begin = static_cast<std::uint32_t>(i);
    w.sentence_start = sentence_start;
    sentence_start = false;
    w.first_upper = k0 & kUpper;
    w.first_alpha = k0 & kAlpha;
    // First pass: the word's extent, its byte classes (OR and AND over its letters/digits, OR over
    // all but the first) and one hash, which is every hash of a word without inner punctuation.
    std::uint64_t h = (kFnvOffset ^ lower(c)) * kFnvPrime;
    std::uint8_t any = k0, all = k0, rest = 0;
    bool punctuated = false;
    ++i;
    while (i < n) {
      const unsigned char d = p[i];
      const std::uint8_t k = kClass[d];
      if (k & kWord) {
        any |= k;
        all &= k;
        rest |= k;
        h = (h ^ lower(d)) * kFnvPrime;
        ++i;
        continue;
      }
      const bool inner =
          i + 1 < n && (d == '\'' || ((d == '.' || d == ',' || d == ':' || d == '/') &&
                                      (kClass[p[i + 1]] & kDigit) && (kClass[p[i - 1]] & kDigit)));
      if (inner && (kClass[p[i + 1]] & kWord)) {
        punctuated = true;
        ++i;
        continue;
      }
      break;
    }
    w.has_digit = any & kDigit;
    w.has_alpha = any & kAlpha;
    w.inner_upper = rest & kUpper;
    std::uint64_t lo = h, plain = h, digits = h;
    bool caps = all & kUpper, ordinal = all & kOrdinal;
    if (!punctuated) {
      on_glove_word(h, i - w.begin);
    } else {
      // Rare: hash again byte by byte; the embedding's words are the runs between the marks.
      lo = plain = digits = kFnvOffset;
      caps = ordinal = true;
      std::uint64_t run = kFnvOffset;
      std::size_t run_begin = w.begin;
      for (std::size_t j = w.begin; j < i; ++j) {
        const unsigned char b = p[j];
        const std::uint8_t k = kClass[b];
        const unsigned char l = lower(b);
        lo = (lo ^ l) * kFnvPrime;
        if (b != '\'') plain = (plain ^ l) * kFnvPrime;
        if (b != ',') digits = (digits ^ l) * kFnvPrime;
        caps &= (k & kUpper) || b == '\'';
        ordinal &= (k & kOrdinal) != 0;
        if (k & kWord) {
          run = (run ^ l) * kFnvPrime;
        } else {
          on_glove_word(run, j - run_begin);
          run = kFnvOffset;
          run_begin = j + 1;
        }
      }
      on_glove_word(run, i - run_begin);
    }
    // "C++", "C#", "F#"
    if (i < n && (p[i] == '+' || p[i] == '#') && i - w.begin == 1) {
      const std::size_t extra = (p[i] == '+' && i + 1 < n && p[i + 1] == '+') ? 2 : 1;
      for (std::size_t e = 0; e < extra; ++e) {
        lo = (lo ^ p[i + e]) * kFnvPrime;
        plain = (plain ^ p[i + e]) * kFnvPrime;
        digits = (digits ^ p[i + e]) * kFnvPrime;
      }
      caps = ordinal = false;
      i += extra;
    }
    w.end = static_cast<std::uint32_t>(i);
    w.lower = lo;
    w.plain = plain;
    w.digits = digits;
    w.all_caps = caps && w.end - w.begin >= 2;
    w.ordinal_chars = ordinal;
    w.ends_nt = w.end - w.begin >= 3 && lower(p[w.end - 3]) == 'n' && p[w.end - 2] == '\'' &&
                lower(p[w.end - 1]) == 't';
    on_word(static_cast<const WordView&>(w));
  }
}

}  // namespace switchboard::cache
