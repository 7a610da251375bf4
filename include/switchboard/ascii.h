// ASCII case-insensitive comparison (HTTP header names, tokens, schemes). Beast 1.81's
// beast::iequals reads one byte past its arguments once a pair of letters differs only in case
// (fuzz/http_request_fuzz.cc found it under ASan): this reads exactly the bytes it compares.
#pragma once

#include <cstddef>
#include <string_view>

namespace switchboard {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace switchboard
