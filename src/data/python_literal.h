// Parses the Python literal of a list of strings, as Python's repr() writes it:
//   ['first', "it's", 'line\nbreak']
// Strings are single- or double-quoted (no prefixes, no triple quotes, no implicit concatenation);
// whitespace is allowed around items and a trailing comma is accepted. Escapes follow Python's str
// literals: \n \t \r \\ \' \" \a \b \f \v, \<newline> (line continuation), octal \ooo, \xNN,
// \uNNNN and \UNNNNNNNN, the last three as code points encoded in UTF-8 (a lone surrogate becomes
// U+FFFD); an unknown escape such as \d keeps its backslash, as Python does. Bytes outside
// escapes are copied as they are.
//
// Errors (kind kBadRequest, code "bad_python_literal") say what was expected and the byte offset.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::data {

Result<std::vector<std::string>> parse_python_string_list(std::string_view text);

// Appends code point `cp` to `out` as UTF-8; surrogates and values above U+10FFFF become U+FFFD.
void append_utf8(std::string& out, char32_t cp);

}  // namespace switchboard::data
