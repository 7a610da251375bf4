#include "sim/kv_cache.h"

#include <vector>

namespace switchboard::sim {

std::size_t KvCache::match(std::span<const std::uint64_t> blocks) const {
  std::size_t n = 0;
  for (auto b : blocks) {
    auto it = table_.find(b);
    if (it == table_.end() || !it->second.computed) break;
    ++n;
  }
  return n;
}

bool KvCache::admit(std::span<const std::uint64_t> blocks, std::int64_t private_blocks) {
  std::int64_t missing = 0, unpinned_hits = 0;
  std::vector<char> present(blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto it = table_.find(blocks[i]);
    present[i] = it != table_.end();
    if (!present[i])
      ++missing;
    else if (it->second.refs == 0)
      ++unpinned_hits;
  }
  std::int64_t need = missing + private_blocks;
  std::int64_t free = capacity_ - used();
  std::int64_t evictable = static_cast<std::int64_t>(lru_.size()) - unpinned_hits;
  if (need > free + evictable) return false;
  for (auto b : blocks) {  // pin what is there, so that eviction below cannot take it
    auto it = table_.find(b);
    if (it == table_.end()) continue;
    if (it->second.refs++ == 0) lru_.erase(it->second.lru);
  }
  while (capacity_ - used() < need) {
    table_.erase(lru_.back());
    lru_.pop_back();
    ++evictions_;
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (present[i]) continue;
    ++table_[blocks[i]]
          .refs;  // once per occurrence, like the pins above (a trace may repeat an id)
  }
  private_ += private_blocks;
  return true;
}

void KvCache::mark_computed(std::span<const std::uint64_t> blocks) {
  for (auto b : blocks) {
    auto it = table_.find(b);
    if (it != table_.end()) it->second.computed = true;
  }
}

void KvCache::release(std::span<const std::uint64_t> blocks, std::int64_t private_blocks) {
  private_ -= private_blocks;
  for (std::size_t i = blocks.size();
       i-- > 0;) {  // deepest first: the first block ends most recent
    auto it = table_.find(blocks[i]);
    if (it == table_.end() || --it->second.refs > 0) continue;
    if (!it->second.computed) {
      table_.erase(it);
      continue;
    }
    lru_.push_front(blocks[i]);
    it->second.lru = lru_.begin();
  }
}

}  // namespace switchboard::sim
