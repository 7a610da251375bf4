// URL query strings ("a=1&b=x%20y"): split at '&' and '=', each name and value percent-decoded
// ('+' is a space; a '%' not followed by two hex digits is kept as it is). A name given twice
// keeps its last value; an empty part is skipped. Pure, never throws.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

std::map<std::string, std::string, std::less<>> parse_query(std::string_view query);

// One name or value (or a path segment, where '+' is kept: `plus_is_space` false) decoded.
std::string percent_decode(std::string_view text, bool plus_is_space = true);

// The query part of a request target ("/v1/x?a=1" -> "a=1"); empty when there is none.
std::string_view query_of(std::string_view target);

// A query value that must be a plain decimal integer in [lo, hi] (no sign, no spaces, at most
// 9 digits; leading zeros allowed); nullopt otherwise.
std::optional<std::size_t> bounded_integer(std::string_view value, std::size_t lo, std::size_t hi);

// Whether a query value means true ("true" or "1"), as `?stream=true` does.
bool query_flag(std::string_view value);

}  // namespace switchboard
