// Parallel tool calls of a chat stream, made contiguous for the streams that need them so.
//
// A chat-completions stream may interleave the pieces of its parallel tool calls — each piece
// names its call by `index` (0, 1, 0, 1, …) — while an Anthropic Messages stream has one content
// block open at a time and a Responses stream one function_call item, so a translator that opened
// a new block at every change of index gave its client calls without id or name and arguments cut
// into pieces that are not JSON. ToolCallSequencer reorders the pieces: the first call streams as
// it comes; another call's pieces are held until the open call's arguments form a whole JSON value
// (then it is done: the held call opens with what it holds and streams on), or the stream ends
// (flush(): every held call whole, by index). A stream that sends its calls one after the other
// comes out unchanged. A piece for a call already done (only whitespace, for valid arguments) is
// dropped.
//
// Contract: what feed() and flush() return is a sequence of ToolCallPart in which each index
// appears in one run; a run's first part has the call's id and name (as far as the stream gave
// them), later parts only arguments. Translators close the open call when the index changes.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "api/chat_reading.h"

namespace switchboard::api {

class ToolCallSequencer {
 public:
  std::vector<ToolCallPart> feed(const std::vector<ToolCallPart>& parts);
  std::vector<ToolCallPart> flush();

 private:
  // Where a JSON value ends, fed in pieces: brackets outside strings.
  struct ValueEnd {
    std::size_t depth = 0;
    bool in_string = false, escaped = false, seen = false;
    void feed(std::string_view text);
    bool complete() const { return seen && depth == 0 && !in_string; }
  };
  void take(const ToolCallPart& p, std::vector<ToolCallPart>& out);

  std::optional<std::size_t> open_;
  ValueEnd open_end_;
  std::map<std::size_t, ToolCallPart> held_;  // by index: id, name and the arguments so far
  std::set<std::size_t> done_;
};

}  // namespace switchboard::api
