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
//                                    to the stream <prefix>implicit (capped at ~10,000 entries)
//   forget(key)                      the local table knew it: DEL (so it is not counted twice)
// and a thread that reads the stream (from its end when it connects) and hands every entry whose
// owner is this gateway to `deliver` (the gateway's implicit feedback, as for a local repeat).
//
// Never on the request path: the calls append to a bounded queue (1,024 jobs; full: dropped,
// counted) served by that thread, which also polls the stream every 50 ms. The thread starts at
// the first call, so a gateway without implicit feedback never polls. Redis unreachable: the jobs
// are dropped (repeats on the same gateway still count, through the local table), the outage is
// logged once (core/redis_link.h), reconnects at most once a second.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "access/settings.h"

namespace switchboard {
class RedisLink;
}

namespace switchboard::pipeline::learning {

class SharedRepeats {
 public:
  using Deliver = std::function<void(std::string decision_id, double score)>;
  SharedRepeats(const access::RedisSettings& redis, Deliver deliver);
  ~SharedRepeats();  // stops the thread (jobs still queued are dropped)

  void answered(std::uint64_t key, std::string decision_id, std::chrono::milliseconds window);
  void asked(std::uint64_t key, double score);
  void forget(std::uint64_t key);

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    enum class Kind { kAnswered, kAsked, kForget } kind;
    std::uint64_t key = 0;
    std::string decision_id;
    std::int64_t window_ms = 0;
    double score = 0;
  };
  void submit(Job job);
  void loop();
  void run(const Job& job);  // thread only
  void poll();               // thread only: the stream's new entries
  std::string key_name(std::uint64_t key) const;

  const std::string prefix_, stream_;
  const Deliver deliver_;
  std::unique_ptr<RedisLink> link_;  // thread only
  std::string last_id_;              // thread only: "" until read at connect
  std::uint64_t connection_ = 0;     // thread only: link_'s connection last_id_ belongs to

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // started by the first submit()
  std::atomic<std::uint64_t> dropped_{0}, delivered_{0};
};

}  // namespace switchboard::pipeline::learning
