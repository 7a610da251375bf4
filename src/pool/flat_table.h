// An open-addressing hash table from non-zero, already well-mixed 64-bit keys to small values:
// linear probing, backward-shift deletion (no tombstones), grows at half load, never shrinks.
// Not synchronised; the owner locks. Used by the prefix index, where std::unordered_map's node
// allocation per insert would dominate a balancer pick.
#pragma once

#include <cstdint>
#include <vector>

namespace switchboard::pool {

template <typename V>
class FlatTable {
 public:
  explicit FlatTable(std::size_t expected = 16) {
    std::size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
  }

  // key must be non-zero.
  V* find(std::uint64_t key) {
    for (std::size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == 0) return nullptr;
    }
  }
  const V* find(std::uint64_t key) const { return const_cast<FlatTable*>(this)->find(key); }

  // Starts loading the cache line where a probe for `key` begins (lookups that are known in
  // advance then overlap their memory latency).
  void prefetch(std::uint64_t key) const { __builtin_prefetch(&slots_[key & mask_]); }

  // The value for `key`, inserted as `init` if absent. The pointer is valid until the next insert
  // or erase.
  V* insert(std::uint64_t key, V init, bool* inserted = nullptr) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    for (std::size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) {
        if (inserted) *inserted = false;
        return &slots_[i].value;
      }
      if (slots_[i].key == 0) {
        slots_[i] = Slot{key, init};
        ++size_;
        if (inserted) *inserted = true;
        return &slots_[i].value;
      }
    }
  }

  bool erase(std::uint64_t key) {
    std::size_t i = key & mask_;
    while (slots_[i].key != key) {
      if (slots_[i].key == 0) return false;
      i = (i + 1) & mask_;
    }
    // Shift later members of the probe run back so that no lookup stops early at the hole.
    for (std::size_t j = (i + 1) & mask_; slots_[j].key != 0; j = (j + 1) & mask_) {
      std::size_t home = slots_[j].key & mask_;
      // slots_[j] may move to the hole i unless its home lies cyclically in (i, j].
      bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    --size_;
    return true;
  }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return slots_.size(); }
  std::size_t memory_bytes() const { return slots_.size() * sizeof(Slot); }

 private:
  struct Slot {
    std::uint64_t key = 0;
    V value{};
  };
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.key != 0) insert(s.key, s.value);
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace switchboard::pool
