// The KV cache of one simulated replica, in blocks of the trace's block size: blocks of running
// requests are pinned; finished requests' prompt blocks stay cached and are evicted least recently
// used first, a prefix's first block last (its extensions go before it, as in vLLM's free queue).
// Only prompt blocks are cached under their ids; output tokens occupy private blocks while the
// request runs (the trace has no ids for them; the next turn's prompt ids cover them).
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>

namespace switchboard::sim {

class KvCache {
 public:
  explicit KvCache(std::int64_t capacity_blocks) : capacity_(capacity_blocks) {}

  // How many leading `blocks` are cached and computed (a block being computed by a running
  // request does not count: a second request computes it again, as in vLLM).
  std::size_t match(std::span<const std::uint64_t> blocks) const;

  // Reserves room for a request: pins its `blocks` (adding the missing ones, not yet computed) and
  // `private_blocks` more, evicting cached blocks as needed. Returns false, changing nothing, when
  // that does not fit even after evicting every unpinned block.
  bool admit(std::span<const std::uint64_t> blocks, std::int64_t private_blocks);
  void mark_computed(std::span<const std::uint64_t> blocks);
  // Unpins what admit() pinned; the prompt blocks stay cached (evictable).
  void release(std::span<const std::uint64_t> blocks, std::int64_t private_blocks);

  std::int64_t capacity() const { return capacity_; }
  std::int64_t used() const { return static_cast<std::int64_t>(table_.size()) + private_; }
  std::int64_t pinned() const { return used() - static_cast<std::int64_t>(lru_.size()); }
  std::int64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    std::int32_t refs = 0;
    bool computed = false;
    std::list<std::uint64_t>::iterator lru;  // valid when refs == 0
  };
  std::int64_t capacity_;
  std::unordered_map<std::uint64_t, Entry> table_;
  std::list<std::uint64_t> lru_;  // unpinned blocks, most recently used first
  std::int64_t private_ = 0;
  std::int64_t evictions_ = 0;
};

}  // namespace switchboard::sim
