// URL query strings ("a=1&b=x%20y"): split at '&' and '=', each name and value percent-decoded
// ('+' is a space; a '%' not followed by two hex digits is kept as it is). A name given twice
// keeps its last value; an empty part is skipped. Pure, never throws.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace switchboard {

std::map<std::string, std::string, std::less<>> parse_query(std::string_view query);

// One name or value (or a path segment, where '+' is kept: `plus_is_space` false) decoded.
std::string percent_decode(std::string_view text, bool plus_is_space = true);

}  // namespace switchboard
