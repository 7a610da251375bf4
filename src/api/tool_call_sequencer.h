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
// Pieces that name no index (some servers stream each call whole without one) are numbered here: a
// piece with an id other than the current unnumbered call's starts a new call after every index
// seen, as does one with a name and no id; one with neither continues the call of the piece before
// it, indexed or not (unless an unindexed part came before it in the same chunk) — they were all read as index 0 and merged into one call
// whose arguments were two JSON values.
//
// Contract: what feed() and flush() return is a sequence of ToolCallPart in which each index
// appears in one run; a run's first part has the call's id and name (as far as the stream gave
// them), later parts only arguments. Translators close the open call when the index changes.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_reading.h"
#include "api/json_value_end.h"

namespace switchboard::api {

class ToolCallSequencer {
 public:
  std::vector<ToolCallPart> feed(const std::vector<ToolCallPart>& parts);
  std::vector<ToolCallPart> flush();

 private:
  void take(const ToolCallPart& p, std::vector<ToolCallPart>& out);
  // `p` with its index: its own, or for an unindexed piece the unnumbered call's (a new one when
  // `later_in_chunk`: an unindexed part followed another in the same chunk's list).
  ToolCallPart numbered(const ToolCallPart& p, bool later_in_chunk);

  std::optional<std::size_t> open_;
  JsonValueEnd open_end_;  // where the open call's arguments end
  std::map<std::size_t, ToolCallPart> held_;  // by index: id, name and the arguments so far
  std::set<std::size_t> done_;
  std::size_t next_index_ = 0;             // one past every index seen
  std::optional<std::size_t> unindexed_;   // the index given to the current unnumbered call
  std::string unindexed_id_;               // and its id
  std::optional<std::size_t> last_;        // the index of the last piece (after numbering)
};

}  // namespace switchboard::api
