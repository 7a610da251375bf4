// Implicit feedback across gateways (docs/online.md): with `state: {redis: URL}`, the repeat table
// of the implicit_feedback stage is also kept in Redis, so that the same client asking the same
// prompt again on *another* gateway still scores the first answer — which is stored and learned
// by the gateway that gave it (the decision, its record and its context live there).
//
// Per gateway, next to its own RepeatTracker (which still answers repeats on the same gateway at
// once):
//   answered(key, decision, window)  SET <prefix>rep:<key> "<gateway id> <decision>" PX window
//   asked(key, score)                a request the local table did not know: GETDEL the key; an
//                                    answer found there goes, as an entry {owner, decision, score},
//                                    to the stream <prefix>implicit (capped at ~10,000 entries) —
//                                    both in one Lua script, so a retried job sends it once
//   forget(key)                      the local table knew it: DEL (so it is not counted twice)
// and a thread that reads the stream (from its end when it starts; after a reconnection, on from
// the last entry read) and hands every entry whose owner is this gateway to `deliver` (the
// gateway's implicit feedback, as for a local repeat).
//
// Never on the request path: the calls append to a bounded queue (1,024 jobs; full: dropped,
// counted) served by that thread (a core/redis_worker.h RedisWorker), which also polls the stream
// every 50 ms. The thread starts at the first call, so a gateway without implicit feedback never
// polls. Redis unreachable: the jobs wait for the reconnection up to the worker's hold (5 s), then
// are dropped (repeats on the same gateway still count, through the local table), the outage is
// logged once, reconnects at most once a second. A repeat's event sent while the owner's reader
// was reconnecting can still be missed: the reader starts at the stream's end on each connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "access/settings.h"

namespace switchboard {
class RedisWorker;
class StreamTail;
}  // namespace switchboard

namespace switchboard::pipeline::learning {

class SharedRepeats {
 public:
  using Deliver = std::function<void(std::string decision_id, double score)>;
  SharedRepeats(const access::RedisSettings& redis, Deliver deliver);
  ~SharedRepeats();  // stops the thread (jobs still queued are dropped)

  void answered(std::uint64_t key, std::string decision_id, std::chrono::milliseconds window);
  void asked(std::uint64_t key, double score);
  void forget(std::uint64_t key);

  std::uint64_t dropped() const;
  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }

 private:
  void poll();  // worker thread: the stream's new entries
  std::string key_name(std::uint64_t key) const;

  const std::string prefix_, stream_;
  const Deliver deliver_;
  std::unique_ptr<StreamTail> tail_;     // worker thread only
  std::unique_ptr<RedisWorker> worker_;  // last: its thread stops before the rest goes
  std::atomic<std::uint64_t> delivered_{0};
};

}  // namespace switchboard::pipeline::learning
