#include "guard/literal_starts.h"

#include <algorithm>
#include <deque>

namespace switchboard::guard {

std::uint32_t LiteralStarts::child(std::uint32_t node, unsigned char c) const {
  const auto& next = nodes_[node].next;
  auto it = std::lower_bound(next.begin(), next.end(), c,
                             [](const auto& e, unsigned char b) { return e.first < b; });
  return it != next.end() && it->first == c ? it->second : 0;
}

LiteralStarts::LiteralStarts(const std::vector<std::string_view>& literals) : nodes_(1) {
  // The trie of the reversed literals; a node knows the literal that ends there, if any.
  for (std::uint32_t index = 0; index < literals.size(); ++index) {
    const std::string_view literal = literals[index];
    if (literal.empty()) continue;
    std::uint32_t node = 0;
    for (auto it = literal.rbegin(); it != literal.rend(); ++it) {
      const auto c = static_cast<unsigned char>(*it);
      std::uint32_t next = child(node, c);
      if (next == 0) {
        next = static_cast<std::uint32_t>(nodes_.size());
        auto& edges = nodes_[node].next;
        edges.insert(std::lower_bound(edges.begin(), edges.end(), c,
                                      [](const auto& e, unsigned char b) { return e.first < b; }),
                     {c, next});
        nodes_.emplace_back();
      }
      node = next;
    }
    if (nodes_[node].longest < 0) nodes_[node].longest = index;
  }
  // Failure links breadth first; a node without a literal of its own inherits its failure's
  // longest (the longest proper suffix in the trie, so the longest literal among its suffixes).
  std::deque<std::uint32_t> queue;
  for (const auto& [c, next] : nodes_[0].next) queue.push_back(next);
  while (!queue.empty()) {
    const std::uint32_t node = queue.front();
    queue.pop_front();
    for (const auto& [c, next] : nodes_[node].next) {
      std::uint32_t f = nodes_[node].fail;
      while (f != 0 && child(f, c) == 0) f = nodes_[f].fail;
      const std::uint32_t target = child(f, c);
      nodes_[next].fail = target != next ? target : 0;
      if (nodes_[next].longest < 0) nodes_[next].longest = nodes_[nodes_[next].fail].longest;
      queue.push_back(next);
    }
  }
}

std::vector<LiteralStarts::Start> LiteralStarts::find(std::string_view text) const {
  std::vector<Start> out;
  if (nodes_.size() == 1) return out;
  std::uint32_t state = 0;
  for (std::size_t i = text.size(); i-- > 0;) {
    const auto c = static_cast<unsigned char>(text[i]);
    while (state != 0 && child(state, c) == 0) state = nodes_[state].fail;
    state = child(state, c);
    if (nodes_[state].longest >= 0)
      out.push_back({i, static_cast<std::uint32_t>(nodes_[state].longest)});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace switchboard::guard
