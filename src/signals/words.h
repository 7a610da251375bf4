// The word tokenizer shared by the embedding and the task classifier: a word is a maximal run of
// ASCII letters, digits and non-ASCII (UTF-8) bytes, ASCII-lowercased. Words longer than
// kMaxWordBytes are skipped (no vector has such a key). No allocation.
#pragma once

#include <cstddef>
#include <string_view>

namespace switchboard::signals {

inline constexpr std::size_t kMaxWordBytes = 48;

constexpr bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// Calls fn(std::string_view lowercase_word) for each word of `text`, in order.
template <typename Fn>
void for_each_word(std::string_view text, Fn&& fn) {
  char buf[kMaxWordBytes];
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    while (i < n && !is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t len = 0;
    bool too_long = false;
    while (i < n && is_word_byte(static_cast<unsigned char>(text[i]))) {
      unsigned char c = static_cast<unsigned char>(text[i++]);
      if (len == kMaxWordBytes) {
        too_long = true;
        continue;
      }
      buf[len++] = static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    if (len && !too_long) fn(std::string_view(buf, len));
  }
}

}  // namespace switchboard::signals
