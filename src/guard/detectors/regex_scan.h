// Iterating over the matches of an RE2 pattern in a text: the detectors' shared loop.
#pragma once

#include <re2/re2.h>

#include <array>
#include <string_view>

namespace switchboard::guard {

// Calls fn(begin, end, groups) for each leftmost-longest non-overlapping match of `re` in `text`
// (groups[0] is the whole match, then up to N-1 capturing groups; absent groups are empty).
template <std::size_t N = 1, typename Fn>
void for_each_match(const RE2& re, std::string_view text, Fn&& fn) {
  std::array<re2::StringPiece, N> groups;
  const re2::StringPiece whole(text.data(), text.size());
  std::size_t pos = 0;
  const int n = std::min<int>(static_cast<int>(N), 1 + re.NumberOfCapturingGroups());
  while (pos <= text.size() &&
         re.Match(whole, pos, text.size(), RE2::UNANCHORED, groups.data(), n)) {
    const std::size_t begin = static_cast<std::size_t>(groups[0].data() - text.data());
    const std::size_t end = begin + groups[0].size();
    std::array<std::string_view, N> views{};
    for (int i = 0; i < n; ++i)
      if (groups[i].data()) views[i] = std::string_view(groups[i].data(), groups[i].size());
    fn(begin, end, views);
    pos = end > begin ? end : end + 1;
  }
}

inline bool is_word_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// RE2 options for the detectors: byte-oriented (prompts may hold any UTF-8), no error logging.
inline RE2::Options detector_options() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  return o;
}

}  // namespace switchboard::guard
