#include "guard/jailbreak_features.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace switchboard::guard {

namespace {
// A word, bigram or mark adds 10 tenths, a character n-gram 1: its weight is a tenth of a word's,
// best of {1, 0.5, 0.25, 0.1, 0} in 5-fold cross-validation on tests/data/guard/train.jsonl (F1
// 0.857 vs 0.832 at 1).
constexpr std::uint16_t kWordTenths = 10;
constexpr std::uint16_t kCharGramTenths = 1;

std::uint64_t fnv(std::string_view s, std::uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}
std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

bool word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

// Sub-linear in the weighted count: the count itself below one word, 1 + log(count) from one on.
float value_of(std::uint32_t tenths) {
  constexpr std::uint32_t kTable = 4096;
  static const std::array<float, kTable> table = [] {
    std::array<float, kTable> t{};
    for (std::uint32_t i = 0; i < kTable; ++i)
      t[i] = i >= 10 ? 1.0f + std::log(float(i) / 10.0f) : float(i) / 10.0f;
    return t;
  }();
  return tenths < kTable ? table[tenths] : 1.0f + std::log(float(tenths) / 10.0f);
}

// An open-addressing count table keyed by hashed index, left empty after use (only the touched
// slots are cleared).
class CountTable {
 public:
  void reserve(std::size_t distinct) {
    std::size_t cap = 1024;
    while (cap < distinct * 2) cap <<= 1;
    if (keys_.size() < cap) {
      keys_.assign(cap, 0);
      counts_.assign(cap, 0);
    }
    mask_ = keys_.size() - 1;
  }
  // The slot of `key`, claimed if new (`fresh` says so).
  std::size_t slot(std::uint32_t key, bool& fresh) {
    std::size_t s = (key * 0x9E3779B1u) & mask_;
    while (keys_[s] != 0 && keys_[s] != key + 1) s = (s + 1) & mask_;
    fresh = keys_[s] == 0;
    if (fresh) {
      keys_[s] = key + 1;
      touched_.push_back(static_cast<std::uint32_t>(s));
    }
    return s;
  }
  std::uint32_t& count(std::size_t slot) { return counts_[slot]; }
  void clear() {
    for (std::uint32_t s : touched_) keys_[s] = 0, counts_[s] = 0;
    touched_.clear();
  }

 private:
  std::vector<std::uint32_t> keys_;  // index + 1; 0 = empty
  std::vector<std::uint32_t> counts_;
  std::vector<std::uint32_t> touched_;
  std::size_t mask_ = 0;
};

CountTable& scratch_table() {
  thread_local CountTable table;
  return table;
}

// The events of word u that a window starting at `first` holds.
template <typename F>
void each_event(const TextEvents& t, std::size_t u, std::size_t first, F&& f) {
  for (std::uint32_t i = t.word_begin[u]; i < t.word_begin[u + 1]; ++i)
    if (!(t.events[i].bigram && u == first)) f(t.events[i]);
}
}  // namespace

void events_of(std::string_view text, unsigned dim_bits, TextEvents& out) {
  out.events.clear();
  out.word_begin.clear();
  std::string head_and_tail;
  if (text.size() > kMaxScoredBytes) {
    head_and_tail.assign(text.substr(0, kMaxScoredBytes / 2));
    head_and_tail += ' ';
    head_and_tail.append(text.substr(text.size() - kMaxScoredBytes / 2));
    text = head_and_tail;
  }
  std::string lowered(text);
  for (char& c : lowered)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  const std::uint32_t mask = (1u << dim_bits) - 1;
  auto add = [&](std::uint64_t h, std::uint16_t tenths, bool bigram = false) {
    out.events.push_back({static_cast<std::uint32_t>(h) & mask, tenths, bigram});
  };
  out.word_begin.push_back(0);  // marks before the first word belong to it
  std::uint64_t prev = 0;
  bool first_word = true;
  std::size_t i = 0;
  const std::size_t n = lowered.size();
  while (i < n) {
    while (i < n && !word_byte(static_cast<unsigned char>(lowered[i]))) {
      // Punctuation marks that attacks lean on count as tokens of their own.
      const char c = lowered[i];
      if (c == '#' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' || c == '}' ||
          c == '|' || c == '*' || c == '=')
        add(mix(fnv(std::string_view(&c, 1), 7)), kWordTenths);
      ++i;
    }
    if (i >= n) break;
    if (!first_word) out.word_begin.push_back(static_cast<std::uint32_t>(out.events.size()));
    std::size_t j = i;
    while (j < n && word_byte(static_cast<unsigned char>(lowered[j]))) ++j;
    const std::string_view word(lowered.data() + i, j - i);
    const std::uint64_t wh = fnv(word);
    add(mix(wh), kWordTenths);
    if (!first_word) add(mix(prev * 31 + wh + 1), kWordTenths, true);
    prev = wh;
    first_word = false;
    // Character 3- to 5-grams of "<word>" (the first 24 bytes): from each start, the FNV state
    // of the 3-, 4- and 5-byte prefixes in one pass.
    char padded[32];
    const std::size_t len = std::min<std::size_t>(word.size(), 24) + 2;
    padded[0] = '<';
    std::memcpy(padded + 1, word.data(), len - 2);
    padded[len - 1] = '>';
    for (std::size_t st = 0; st + 3 <= len; ++st) {
      std::uint64_t h = 14695981039346656037ull;
      for (std::size_t k = st; k < st + 5 && k < len; ++k) {
        h ^= static_cast<unsigned char>(padded[k]);
        h *= 1099511628211ull;
        if (k >= st + 2) add(mix(h + (k - st + 1) * 0x9E3779B97F4A7C15ull), kCharGramTenths);
      }
    }
    i = j;
  }
  // The end; a text of marks only is one word of marks, an empty one has no word.
  out.word_begin.push_back(static_cast<std::uint32_t>(out.events.size()));
  if (out.events.empty()) out.word_begin.clear();
}

std::vector<std::pair<std::size_t, std::size_t>> window_ranges(std::size_t words,
                                                               unsigned window_words) {
  if (window_words == 0 || words <= window_words) return {{0, words}};
  const std::size_t w = window_words, stride = std::max<std::size_t>(1, w / 2);
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (std::size_t first = 0; first + w < words; first += stride) out.emplace_back(first, first + w);
  out.emplace_back(words - w, words);
  return out;
}

void features_of(const TextEvents& t, std::size_t first, std::size_t stop, Features& out) {
  out.index.clear();
  out.value.clear();
  if (t.words() == 0) return;
  CountTable& table = scratch_table();
  table.reserve(t.word_begin[stop] - t.word_begin[first]);
  thread_local std::vector<std::size_t> slots;
  slots.clear();
  for (std::size_t u = first; u < stop; ++u)
    each_event(t, u, first, [&](const Event& e) {
      bool fresh;
      const std::size_t s = table.slot(e.key, fresh);
      if (fresh) out.index.push_back(e.key), slots.push_back(s);
      table.count(s) += e.tenths;
    });
  double norm = 0;
  out.value.reserve(slots.size());
  for (std::size_t s : slots) {
    const float v = value_of(table.count(s));
    out.value.push_back(v);
    norm += double(v) * v;
  }
  table.clear();
  if (norm > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& v : out.value) v *= inv;
  }
}

WindowLogit max_window_logit(const TextEvents& t, unsigned window_words, const float* weights,
                             double bias) {
  WindowLogit best{bias, 0, 0};
  if (t.words() == 0) return best;
  CountTable& table = scratch_table();
  table.reserve(std::size_t(t.events.size()));
  // The window's w·x and |x|^2 before normalisation, kept as events come and go.
  double dot = 0, norm2 = 0;
  auto change = [&](const Event& e, int sign) {
    bool fresh;
    const std::size_t s = table.slot(e.key, fresh);
    std::uint32_t& c = table.count(s);
    const double before = value_of(c);
    c = sign > 0 ? c + e.tenths : c - e.tenths;
    const double after = value_of(c);
    dot += double(weights[e.key]) * (after - before);
    norm2 += after * after - before * before;
  };
  best.logit = -std::numeric_limits<double>::infinity();
  std::size_t cur_first = 0, cur_stop = 0;
  for (const auto& [first, stop] : window_ranges(t.words(), window_words)) {
    // Words leaving (with the bigram of the new first word, which a window leaves out), then
    // words arriving.
    for (std::size_t u = cur_first; u < std::min(first, cur_stop); ++u)
      each_event(t, u, cur_first, [&](const Event& e) { change(e, -1); });
    if (first > cur_first && first < cur_stop)
      for (std::uint32_t i = t.word_begin[first]; i < t.word_begin[first + 1]; ++i)
        if (t.events[i].bigram) change(t.events[i], -1);
    for (std::size_t u = std::max(first, cur_stop); u < stop; ++u)
      each_event(t, u, first, [&](const Event& e) { change(e, +1); });
    cur_first = first, cur_stop = stop;
    const double logit = bias + (norm2 > 1e-12 ? dot / std::sqrt(norm2) : 0.0);
    if (logit > best.logit) best = {logit, first, stop};
  }
  table.clear();
  return best;
}

}  // namespace switchboard::guard
