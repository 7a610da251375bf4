// Sessions across gateways (docs/sessions.md, "Several gateways"): with `state: {redis: URL}`,
// every turn a gateway records in a route's SessionTable is also appended to the Redis stream
// <prefix>sessions (XADD MAXLEN ~ 100000; fields g gateway, r route, k session key, c conversation
// hash, m model, p replica ordinal, t turns, s switches, ttl, o owner), and a thread on each gateway reads
// that stream and merges the other gateways' turns into its own tables (SessionTable::merge: the
// route's table when this gateway has sessions on that route; a turn is skipped when the local
// table knows the session at that turn or later, or when its TTL ran out since it was written).
//
// Lookups stay local — the request path never waits for Redis: a conversation's next turn, which
// comes seconds after the answer, finds a table that merged the previous turn within one poll
// (50 ms) and a round trip. After each (re)connection the reader starts at the stream's start, so a
// gateway started later learns the sessions that are still live. Redis unreachable: turns stay on
// the gateway that answered them; a turn's publish waits for the reconnection up to the worker's
// hold (5 s), then is dropped and counted; the outage is logged once. `published` counts the
// turns Redis added to the stream. Replica
// affinity across gateways holds when they list a model's replicas in the same order
// (Replica::ordinal).
//
// Contract: one instance per Redis database and prefix in a process (acquire()), shared by the
// session stages of every runtime alive; publish() is thread-safe and never blocks on I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "access/settings.h"
#include "pipeline/session/session_table.h"

namespace switchboard {
class RedisWorker;
class StreamTail;
}  // namespace switchboard

namespace switchboard::pipeline::session {

class SharedSessions {
 public:
  static std::shared_ptr<SharedSessions> acquire(const access::RedisSettings& redis);
  explicit SharedSessions(const access::RedisSettings& redis);
  ~SharedSessions();

  void publish(const std::string& route, std::uint64_t key, const State& state,
               std::uint64_t conversation, std::int64_t ttl_ms);

  std::uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  std::uint64_t merged() const { return merged_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const;
  bool up() const;

 private:
  void poll();  // worker thread: merge the other gateways' new turns

  const std::string stream_;
  std::unique_ptr<StreamTail> tail_;     // worker thread only
  std::unique_ptr<RedisWorker> worker_;  // last: its thread stops before the rest goes
  std::atomic<std::uint64_t> published_{0}, merged_{0};
};

}  // namespace switchboard::pipeline::session
