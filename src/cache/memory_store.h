// The in-process cache store (the default): one per cache, shared by the worker threads.
//
// Bounds: at most Limits::max_entries entries and Limits::max_bytes bytes (answer, embedding,
// guard features and bookkeeping per entry); inserting beyond either evicts the least recently
// used entries (a hit makes an entry recent). Entries older than Limits::ttl are never returned
// and are removed when a lookup meets them or when they reach the LRU end.
// Concurrency: every call locks one mutex (a lookup is a hash probe and an hnswlib search of a few
// tens of µs, an insert the same plus bookkeeping), so lookups and inserts of different workers
// serialise on the cache, not on the server.
#pragma once

#include <list>
#include <mutex>
#include <unordered_map>

#include "cache/semantic_index.h"
#include "cache/store.h"

namespace switchboard::cache {

class MemoryStore final : public CacheStore {
 public:
  using Clock = std::chrono::steady_clock;
  MemoryStore(Limits limits, std::size_t dim);

  bool lookup(Query q, Done done) override;
  void insert(Entry e) override;
  bool asynchronous() const override { return false; }

  // Synchronous forms (tests, bench), with an explicit clock for TTL tests.
  std::optional<Hit> find(const Query& q, Clock::time_point now = Clock::now());
  void put(Entry e, Clock::time_point now = Clock::now());
  std::size_t size() const;
  std::size_t bytes() const;

 private:
  struct Item {
    std::string id;
    Key128 exact;
    Answer answer;
    std::size_t bytes = 0;
    Clock::time_point expires;
    std::list<std::uint64_t>::iterator lru;  // position in lru_
  };
  void erase(std::uint64_t label);                                     // mu_ held
  std::optional<Hit> hit(std::uint64_t label, float sim, bool exact);  // mu_ held

  const Limits limits_;
  mutable std::mutex mu_;
  // Guarded by mu_.
  SemanticIndex index_;
  std::unordered_map<std::uint64_t, Item> items_;
  std::unordered_map<Key128, std::uint64_t, Key128Hash> by_key_;
  std::list<std::uint64_t> lru_;  // most recent first
  std::size_t bytes_ = 0;
  std::uint64_t next_label_ = 1;
};

}  // namespace switchboard::cache
