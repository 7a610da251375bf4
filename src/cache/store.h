// A response cache's storage: exact and semantic lookup, insertion, bounds. Two implementations:
// MemoryStore (in-process, cache/memory_store.h) and RedisStore (shared by several gateways,
// cache/redis_store.h).
//
// Lookup order: the exact key first; then, when the query has an embedding, the nearest entries of
// the semantic index (cosine, hnswlib), keeping only those of the same partition (same parameters
// and history, cache/request_key.h) whose guard features are compatible (cache/features.h); the
// most similar one at or above the threshold is the hit. Expired entries are never returned.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cache/answer.h"
#include "cache/features.h"
#include "cache/request_key.h"
#include "switchboard/result.h"

namespace switchboard::cache {

struct Query {
  Key128 exact;
  std::uint64_t partition = 0;
  Features features;
  std::vector<float> embedding;  // unit length; empty = exact lookup only
  float threshold = 1.0f;        // cosine
};

struct Hit {
  std::string id;           // the entry's id ("ce_" + 16 hex digits)
  float similarity = 1.0f;  // 1 for an exact hit
  bool exact = true;
  Answer answer;
};

struct Entry {
  Key128 exact;
  std::uint64_t partition = 0;
  Features features;
  std::vector<float> embedding;  // empty = reachable by the exact key only
  Answer answer;
};

// Per cache (shared by the routes naming it).
struct Limits {
  std::chrono::milliseconds ttl{std::chrono::hours(1)};
  std::size_t max_entries = 10'000;
  std::size_t max_bytes = 64u << 20;  // answers + embeddings + bookkeeping
};

// A new entry id: "ce_" + 16 random hex digits.
std::string new_entry_id();

class CacheStore {
 public:
  virtual ~CacheStore() = default;
  using Done = std::function<void(Result<std::optional<Hit>>)>;
  // Looks up `q`. A synchronous store calls `done` before returning; an asynchronous one (Redis)
  // calls it later from its own thread — or never when it refuses the job, returning false then
  // (queue full: the caller bypasses the cache). An error means the store could not answer
  // (unreachable, timeout): the caller bypasses, never fails the request.
  virtual bool lookup(Query q, Done done) = 0;
  // Stores `e` (replacing an entry with the same exact key). Never blocks; may drop the entry
  // (asynchronous store with a full queue, store unreachable).
  virtual void insert(Entry e) = 0;
  virtual bool asynchronous() const = 0;
};

}  // namespace switchboard::cache
