// The naive form of guard::unrestore_text — at each position the longest value, leftmost first,
// comparing every value at every byte — that the one-pass matcher must agree with (the unit test
// guard_pii_test.cc and the fuzz target fuzz/guard_text_fuzz.cc). Quadratic: for tests only.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::guard::testing {

inline std::string unrestore_naive(std::string_view text,
                                   const std::vector<std::pair<std::string, std::string>>& p) {
  std::string out;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::pair<std::string, std::string>* best = nullptr;
    for (const auto& e : p)
      if (!e.second.empty() && text.compare(pos, e.second.size(), e.second) == 0 &&
          (!best || e.second.size() > best->second.size()))
        best = &e;
    if (best) {
      out += best->first;
      pos += best->second.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

}  // namespace switchboard::guard::testing
