// An approximate index of which replica holds which prompt prefix, for `prefix_affinity`.
//
// It remembers, per replica, about `capacity` blocks (RouteRequest::prefix_blocks) most recently
// sent to it — a model of the replica's own prefix cache, which the gateway cannot see. It is
// approximate by design: the replica may have evicted a block the index still lists (its cache is
// smaller, or other gateways use it), or hold blocks the index dropped; a wrong guess only costs a
// cache miss.
//
// Sparse: of a prompt's blocks it records only the prefixes whose lengths are powers of two, plus
// the whole prompt (1, 2, 4, 8, 16, 20 for a 20-block prompt), so a match is known to within a
// factor of two (exactly for a repeated prompt), which is plenty to tell replicas apart, while a
// new 64-block prompt costs 7 entries, not 64. A lookup probes its own prompt's recorded lengths:
// a held 20-block prompt matches a 28-block one at 16.
//
// Per replica the recorded prefixes form a tree (a prefix's parent is the next shorter recorded
// prefix of the same prompt; chained hashes make it unique). Only leaves sit on the replica's LRU
// list and only leaves are evicted, so a replica never holds a block without its prefix — as in the
// servers' own caches, which free a prompt's last blocks first. Touching a prompt moves just its
// deepest entry; a parent left without children re-enters the list at its own last use
// (approximately: at the recent end if used within the last capacity/2 blocks, else the old end).
//
// Because holdings are prefix-closed, "some candidate holds blocks[0, d)" is monotone in d and the
// deepest match is found by binary search: O(log blocks) probes of a block → replica-mask table
// (bit = ordinal % 64; past 64 replicas bits are shared and matches only approximate). Inserting
// costs one probe plus, per new entry, two table inserts and (amortised) one eviction.
//
// Memory is bounded: the entries of a replica cover at most `capacity` blocks (plus one request's),
// at about 100 bytes per entry with its table slots. Not synchronised: the owning balancer locks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pool/flat_table.h"

namespace switchboard::pool {

class PrefixIndex {
 public:
  PrefixIndex(std::size_t replicas, std::size_t capacity_per_replica);

  // The largest recorded length d such that a replica in `candidates` (bits) holds blocks[0, d),
  // and the bits of those replicas in *holders (0 when d is 0).
  std::size_t deepest(std::span<const std::uint64_t> blocks, std::uint64_t candidates,
                      std::uint64_t* holders) const;
  // The longest recorded prefix of `blocks` that replica `ordinal` holds (exact for that replica).
  std::size_t depth_of(std::span<const std::uint64_t> blocks, std::uint32_t ordinal) const;

  // Records that replica `ordinal` now holds `blocks` and makes them its most recently used;
  // beyond capacity, its least recently used leaves are forgotten. `known_depth` is depth_of()
  // when the caller knows it (from deepest()), else SIZE_MAX.
  void insert(std::span<const std::uint64_t> blocks, std::uint32_t ordinal,
              std::size_t known_depth = SIZE_MAX);

  std::size_t replica_blocks(std::uint32_t ordinal) const { return lists_.at(ordinal).count; }
  std::size_t replica_entries(std::uint32_t ordinal) const { return lists_.at(ordinal).entries; }
  // The prefix lengths recorded for a prompt of `blocks` blocks: the powers of two below it and
  // its own length (at most 65535): 1, 2, 4, 8, 16, 20 for 20 blocks.
  static std::vector<std::uint32_t> lengths(std::size_t blocks);
  std::size_t distinct_blocks() const { return masks_.size(); }
  std::size_t memory_bytes() const;

  static std::uint64_t bit(std::uint32_t ordinal) { return std::uint64_t{1} << (ordinal & 63); }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  struct Node {                // 32 bytes: two per cache line
    std::uint64_t key;         // the block's table key
    std::uint32_t stamp;       // the replica's tick when last used (compared modulo 2^32)
    std::uint32_t prev, next;  // LRU neighbours, while a leaf
    std::uint32_t parent;      // node of the previous block on the same replica, or kNone
    std::uint32_t children;
    std::uint16_t ordinal;
    std::uint16_t weight;  // blocks between this prefix and its parent's
  };
  struct List {
    std::uint32_t head = kNone, tail = kNone;  // leaves, most / least recently used
    std::size_t count = 0;                     // blocks covered by the replica's entries
    std::size_t entries = 0;
    std::uint32_t tick = 0;  // blocks used so far (wraps)
  };
  static std::uint64_t block_key(std::uint64_t block);
  static std::uint64_t node_key(std::uint64_t key, std::uint32_t ordinal);
  std::uint32_t node(std::uint64_t block, std::uint32_t ordinal) const;
  static constexpr std::size_t kMaxRecorded = 17;  // 1, 2, 4, ..., 32768, and the length
  static std::size_t recorded(std::size_t blocks, std::uint32_t* out);  // lengths(), into out
  void unlink(List& l, std::uint32_t i);
  void push_front(List& l, std::uint32_t i);
  void push_back(List& l, std::uint32_t i);
  void evict_one(std::uint32_t ordinal);

  std::size_t capacity_;
  bool shared_bits_;                // more than 64 replicas
  FlatTable<std::uint64_t> masks_;  // block key -> replica bits
  FlatTable<std::uint32_t> nodes_;  // node_key(block, replica) -> index into pool_
  std::vector<Node> pool_;
  std::uint32_t free_ = kNone;
  std::vector<List> lists_;  // per ordinal
};

}  // namespace switchboard::pool
