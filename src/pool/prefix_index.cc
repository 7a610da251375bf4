#include "pool/prefix_index.h"

#include <algorithm>

#include "pool/hash.h"

namespace switchboard::pool {

std::size_t PrefixIndex::recorded(std::size_t blocks, std::uint32_t* out) {
  const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(blocks, 65535));
  std::size_t k = 0;
  for (std::uint32_t p = 1; p <= n; p *= 2) out[k++] = p;
  if (k > 0 && out[k - 1] != n) out[k++] = n;
  return k;
}

std::vector<std::uint32_t> PrefixIndex::lengths(std::size_t blocks) {
  std::uint32_t len[kMaxRecorded];
  return {len, len + recorded(blocks, len)};
}

PrefixIndex::PrefixIndex(std::size_t replicas, std::size_t capacity_per_replica)
    : capacity_(std::max<std::size_t>(capacity_per_replica, 1)),
      shared_bits_(replicas > 64),
      masks_(std::min<std::size_t>(replicas * capacity_ / 4, 1 << 16)),
      nodes_(std::min<std::size_t>(replicas * capacity_ / 4, 1 << 16)),
      lists_(std::clamp<std::size_t>(replicas, 1, 65536)) {}

std::uint64_t PrefixIndex::block_key(std::uint64_t block) {
  std::uint64_t k = mix64(block);  // trace ids are small integers; gateway hashes are mixed already
  return k ? k : 1;
}

std::uint64_t PrefixIndex::node_key(std::uint64_t key, std::uint32_t ordinal) {
  std::uint64_t k = mix64(key ^ (static_cast<std::uint64_t>(ordinal) + 1) * 0xd6e8feb86659fd93ULL);
  return k ? k : 1;
}

std::uint32_t PrefixIndex::node(std::uint64_t block, std::uint32_t ordinal) const {
  const std::uint32_t* i = nodes_.find(node_key(block_key(block), ordinal));
  return i ? *i : kNone;
}

std::size_t PrefixIndex::deepest(std::span<const std::uint64_t> blocks, std::uint64_t candidates,
                                 std::uint64_t* holders) const {
  std::uint32_t len[kMaxRecorded];
  // Invariant: some candidate holds the first lo recorded prefixes; none holds prefix hi + 1.
  std::size_t lo = 0, hi = recorded(blocks.size(), len);
  std::uint64_t at_lo = 0;
  // The probes of a binary search depend on each other; fetching every slot it may visit first
  // overlaps their cache misses.
  for (std::size_t j = 0; j < hi; ++j) masks_.prefetch(block_key(blocks[len[j] - 1]));
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo + 1) / 2;
    const std::uint64_t* m = masks_.find(block_key(blocks[len[mid - 1] - 1]));
    std::uint64_t who = m ? (*m & candidates) : 0;
    if (who) {
      lo = mid;
      at_lo = who;
    } else {
      hi = mid - 1;
    }
  }
  *holders = at_lo;
  return lo ? len[lo - 1] : 0;
}

std::size_t PrefixIndex::depth_of(std::span<const std::uint64_t> blocks,
                                  std::uint32_t ordinal) const {
  std::uint32_t len[kMaxRecorded];
  std::size_t lo = 0, hi = recorded(blocks.size(), len);
  for (std::size_t j = 0; j < hi; ++j)
    nodes_.prefetch(node_key(block_key(blocks[len[j] - 1]), ordinal));
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo + 1) / 2;
    if (node(blocks[len[mid - 1] - 1], ordinal) != kNone)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo ? len[lo - 1] : 0;
}

void PrefixIndex::unlink(List& l, std::uint32_t i) {
  Node& n = pool_[i];
  if (n.prev != kNone)
    pool_[n.prev].next = n.next;
  else
    l.head = n.next;
  if (n.next != kNone)
    pool_[n.next].prev = n.prev;
  else
    l.tail = n.prev;
}

void PrefixIndex::push_front(List& l, std::uint32_t i) {
  Node& n = pool_[i];
  n.prev = kNone;
  n.next = l.head;
  if (l.head != kNone)
    pool_[l.head].prev = i;
  else
    l.tail = i;
  l.head = i;
}

void PrefixIndex::push_back(List& l, std::uint32_t i) {
  Node& n = pool_[i];
  n.next = kNone;
  n.prev = l.tail;
  if (l.tail != kNone)
    pool_[l.tail].next = i;
  else
    l.head = i;
  l.tail = i;
}

void PrefixIndex::insert(std::span<const std::uint64_t> blocks, std::uint32_t ordinal,
                         std::size_t known_depth) {
  if (ordinal >= lists_.size() || blocks.empty()) return;
  std::uint32_t len[kMaxRecorded];
  const std::size_t last = recorded(blocks.size(), len);
  List& list = lists_[ordinal];
  std::size_t have =
      known_depth <= blocks.size() && !shared_bits_ ? known_depth : depth_of(blocks, ordinal);
  std::uint32_t parent = have ? node(blocks[have - 1], ordinal) : kNone;
  if (have > 0 && parent == kNone) {  // a stale hint: fall back to the exact depth
    have = depth_of(blocks, ordinal);
    parent = have ? node(blocks[have - 1], ordinal) : kNone;
  }
  const auto first = static_cast<std::size_t>(std::upper_bound(len, len + last, have) - len);
  const std::size_t top = last ? len[last - 1] : 0;  // the longest recorded prefix of the prompt
  // The clock counts blocks used, so that "recent" compares with the capacity in blocks.
  const std::uint32_t now = list.tick += static_cast<std::uint32_t>(1 + top - have);
  if (first == last) {  // all recorded prefixes held: the deepest is used again
    Node& n = pool_[parent];
    n.stamp = now;
    if (n.children == 0) {
      unlink(list, parent);
      push_front(list, parent);
    }
    return;
  }
  for (std::size_t j = first; j < last; ++j) {  // overlap the inserts' cache misses
    std::uint64_t key = block_key(blocks[len[j] - 1]);
    masks_.prefetch(key);
    nodes_.prefetch(node_key(key, ordinal));
  }
  if (parent != kNone) {
    Node& p = pool_[parent];
    if (p.children++ == 0) unlink(list, parent);  // no longer a leaf
    p.stamp = now;
  }
  for (std::size_t j = first; j < last; ++j) {
    std::uint64_t key = block_key(blocks[len[j] - 1]);
    std::uint32_t i;
    if (free_ != kNone) {
      i = free_;
      free_ = pool_[i].next;
    } else {
      i = static_cast<std::uint32_t>(pool_.size());
      pool_.push_back({});
    }
    auto weight = static_cast<std::uint16_t>(len[j] - (j ? len[j - 1] : 0));
    pool_[i] = Node{key,
                    now,
                    kNone,
                    kNone,
                    parent,
                    j + 1 < last ? 1u : 0u,
                    static_cast<std::uint16_t>(ordinal),
                    weight};
    *nodes_.insert(node_key(key, ordinal), kNone) = i;
    *masks_.insert(key, 0) |= bit(ordinal);
    parent = i;
  }
  list.count += top - have;
  list.entries += last - first;
  push_front(list, parent);
  while (list.count > capacity_) evict_one(ordinal);
}

void PrefixIndex::evict_one(std::uint32_t ordinal) {
  List& list = lists_[ordinal];
  std::uint32_t i = list.tail;
  Node n = pool_[i];
  // Everything below is a likely cache miss; start them together.
  nodes_.prefetch(node_key(n.key, ordinal));
  masks_.prefetch(n.key);
  if (n.prev != kNone) __builtin_prefetch(&pool_[n.prev]);
  if (n.parent != kNone) __builtin_prefetch(&pool_[n.parent]);
  unlink(list, i);
  list.count -= n.weight;
  --list.entries;
  nodes_.erase(node_key(n.key, ordinal));
  pool_[i].next = free_;
  free_ = i;
  // Past 64 replicas a bit is shared: clear it only if no other replica with that bit holds the
  // block.
  bool shared = false;
  for (std::size_t o = ordinal & 63; shared_bits_ && o < lists_.size() && !shared; o += 64)
    shared = o != ordinal && nodes_.find(node_key(n.key, static_cast<std::uint32_t>(o))) != nullptr;
  if (!shared) {
    if (std::uint64_t* m = masks_.find(n.key)) {
      *m &= ~bit(ordinal);
      if (*m == 0) masks_.erase(n.key);
    }
  }
  if (n.parent == kNone) return;
  Node& p = pool_[n.parent];
  if (--p.children > 0) return;
  // The parent is a leaf again, as recent as its own last use.
  if (static_cast<std::uint32_t>(list.tick - p.stamp) < capacity_ / 2)
    push_front(list, n.parent);
  else
    push_back(list, n.parent);
}

std::size_t PrefixIndex::memory_bytes() const {
  return masks_.memory_bytes() + nodes_.memory_bytes() + pool_.capacity() * sizeof(Node) +
         lists_.capacity() * sizeof(List);
}

}  // namespace switchboard::pool
