// Where a JSON value fed in pieces ends, in one pass over each piece (no parse): brackets counted
// outside strings. complete() once a value began and every bracket it opened is closed (a scalar
// is complete at its first character); trailing() once something other than whitespace came after
// a complete value — then the text is no single JSON value, whatever comes next. Used to tell a
// streamed tool call's arguments whole without parsing them again at every piece (a replica
// sending many small pieces made that quadratic).
#pragma once

#include <cstddef>
#include <string_view>

namespace switchboard::api {

struct JsonValueEnd {
  std::size_t depth = 0;
  bool in_string = false, escaped = false, seen = false, after = false;
  void feed(std::string_view text) {
    for (const char c : text) {
      if (in_string) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') in_string = false;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
      if (complete()) after = true;
      seen = true;
      if (c == '"') in_string = true;
      else if (c == '{' || c == '[') ++depth;
      else if ((c == '}' || c == ']') && depth > 0) --depth;
    }
  }
  bool complete() const { return seen && depth == 0 && !in_string; }
  bool trailing() const { return after; }
};

}  // namespace switchboard::api
