#include "api/tool_call_sequencer.h"

#include <algorithm>

namespace switchboard::api {

void ToolCallSequencer::take(const ToolCallPart& p, std::vector<ToolCallPart>& out) {
  if (done_.contains(p.index)) return;
  if (!open_) {
    open_ = p.index;
    open_end_ = {};
  }
  if (p.index == *open_) {
    open_end_.feed(p.arguments);
    out.push_back(p);
  } else {
    auto [it, added] = held_.try_emplace(p.index, p);
    if (added) it->second.arguments.clear();
    if (it->second.id.empty()) it->second.id = p.id;
    if (it->second.name.empty()) it->second.name = p.name;
    it->second.arguments += p.arguments;
  }
  // The open call is done once its arguments are whole and another call is waiting.
  while (open_end_.complete() && !held_.empty()) {
    done_.insert(*open_);
    auto next = held_.begin();
    open_ = next->first;
    open_end_ = {};
    open_end_.feed(next->second.arguments);
    out.push_back(std::move(next->second));
    held_.erase(next);
  }
}

ToolCallPart ToolCallSequencer::numbered(const ToolCallPart& p, bool later_in_chunk) {
  ToolCallPart n = p;
  if (!p.indexed) {
    if (p.id.empty() && p.name.empty() && last_ && !later_in_chunk) {
      n.index = *last_;  // a continuation: of the call the stream was on, indexed or not
    } else if (!p.id.empty() && unindexed_ && p.id == unindexed_id_ && !later_in_chunk) {
      n.index = *unindexed_;  // the id repeated on every piece
    } else {
      unindexed_ = next_index_;
      unindexed_id_ = p.id;
      n.index = *unindexed_;
    }
    n.indexed = true;
  }
  next_index_ = std::max(next_index_, n.index + 1);
  last_ = n.index;
  return n;
}

std::vector<ToolCallPart> ToolCallSequencer::feed(const std::vector<ToolCallPart>& parts) {
  std::vector<ToolCallPart> out;
  out.reserve(parts.size());
  bool later = false;  // a chunk's second unindexed part is another call (its list position)
  for (const auto& p : parts) {
    take(numbered(p, later), out);
    later = later || !p.indexed;
  }
  return out;
}

std::vector<ToolCallPart> ToolCallSequencer::flush() {
  std::vector<ToolCallPart> out;
  for (auto& [index, part] : held_) {
    done_.insert(index);
    out.push_back(std::move(part));
  }
  held_.clear();
  return out;
}

}  // namespace switchboard::api
