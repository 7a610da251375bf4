// A cache store in Redis, so that several gateways share one cache (hiredis, redis-server).
//
// Threading: one dedicated thread per store runs every Redis command with hiredis's blocking API
// and a socket timeout (RedisSettings::timeout); workers hand it jobs through a bounded queue
// (RedisSettings::queue) and never wait on a socket. Why not hiredis's async API on the Asio loop:
// Debian's hiredis 0.14 has no Asio adapter, and one would need a connection per worker thread and
// hand-written read/write hooks; a thread with a queue is a few dozen lines, bounds the work in
// flight, and a lookup costs one thread hop (~10-20 µs) plus the round trips. The gateway side
// (the cache stage) waits for the answer on an Asio timer with a deadline and bypasses the cache
// when it passes, when the queue is full, or when Redis is down (reconnects are tried at most once
// a second; meanwhile every job fails at once). A Redis outage means bypass, never a failed
// request.
//
// Data (P = prefix + cache name + ":"):
//   P e:<id>      hash: x exact key (hex), p partition, f guard features, v embedding (float32),
//                 a answer (Answer::serialise); expires after the TTL (EXPIRE)
//   P x:<exact>   the id of the entry with that exact key; same TTL
//   P log         sorted set of ids scored by insertion number (P seq, INCR): the sync log
//   P lru         sorted set of ids scored by last use (ms): max_entries evicts its lowest
// The semantic index: each gateway keeps a local hnswlib index (SemanticIndex) of the entries'
// embeddings, owned by the Redis thread. Before each semantic lookup it reads the log past the last
// insertion number it has seen (ZRANGEBYSCORE) and adds the new entries (HMGET p f v), so an entry
// stored by one gateway is found by the others at their next lookup. Entries that expired or were
// evicted elsewhere are dropped locally when a lookup meets them (their hash is gone) and from the
// log and lru sets at the same time. Bounds: max_entries is enforced in Redis (LRU over all
// gateways); max_bytes is not enforced in Redis (use Redis's own maxmemory for that) —
// docs/cache.md.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "cache/cache_config.h"
#include "core/redis_link.h"
#include "cache/semantic_index.h"
#include "cache/store.h"

struct redisContext;

namespace switchboard::cache {

class RedisStore final : public CacheStore {
 public:
  using Clock = std::chrono::steady_clock;
  RedisStore(RedisSettings settings, std::string cache_name, Limits limits, std::size_t dim);
  ~RedisStore() override;  // finishes the queued inserts (bounded by the timeout), stops the thread

  bool lookup(Query q, Done done) override;
  void insert(Entry e) override;
  bool asynchronous() const override { return true; }
  const RedisSettings& settings() const { return settings_; }

 private:
  struct Job {
    Clock::time_point queued;
    std::function<void()> run;
  };
  bool submit(std::function<void()> run);
  void loop();
  // Redis thread only.
  // The connection (null while Redis is unreachable); a new one resyncs the local index.
  bool connected();
  std::optional<Hit> find(const Query& q);  // throws RedisDown
  void put(const Entry& e);                 // throws RedisDown
  void sync();                              // throws RedisDown
  std::size_t sync_page(int count);         // one page of the log; the entries read
  void forget(const std::string& id);       // local index only

  const RedisSettings settings_;
  const std::string prefix_;
  const Limits limits_;
  // Redis thread only.
  RedisLink link_;
  redisContext* ctx_ = nullptr;  // link_'s connection during a job; null once it failed
  std::uint64_t connection_ = 0;  // link_.connections() the local index was synced with
  SemanticIndex index_;
  std::unordered_map<std::string, std::uint64_t> label_of_;
  std::unordered_map<std::uint64_t, std::string> id_of_;
  std::uint64_t next_label_ = 1;
  double synced_seq_ = 0;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace switchboard::cache
