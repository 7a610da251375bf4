// The background side of a component that shares state through Redis (implicit feedback's repeat
// table, sessions): one thread owning a RedisLink runs the jobs other threads queue, then the
// component's poll, so that no request ever waits on a socket.
//
// RedisWorker: jobs go to a bounded queue (submit() returns false and counts a drop when it is
// full or the worker stops); the thread, started by the first submit() or start(), takes the whole
// queue, runs each job with the live connection, then calls `poll` — after each batch and at least
// every `interval`. A job returns false when its command failed: the connection is dropped and the
// job runs once more after the reconnection (jobs must bear running twice). While Redis is
// unreachable (reconnects at most once a second; RedisLink logs the outage and the recovery once)
// jobs wait, oldest first, for at most `hold` and within the queue's bound again (so at most twice
// `max_queue` jobs are held in all); then they are dropped and counted — so a blip of a second
// loses nothing, an outage costs bounded memory. A poll
// whose command fails calls failed(c).
//
// StreamTail: the entries of one stream past those already read, for a worker's poll. kEnd starts
// at the stream's end on the first connection (older entries were for whoever ran then) and, after
// a reconnection, goes on past the last entry it read or positioned on (entries added while the
// link was down are this process's to read; a Redis restarted empty numbers its new entries from
// the clock, so they are still past it); kStart reads from the stream's start after each
// connection (a replicated log the reader catches up with).
//
// Contract: the owner calls stop() in its destructor before the members `poll` uses go away;
// thread-only calls are marked.
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
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/redis_link.h"

struct redisContext;

namespace switchboard {

class RedisWorker {
 public:
  using Job = std::function<bool(redisContext*)>;  // false: its command failed
  using Poll = std::function<void()>;
  RedisWorker(RedisAddress address, std::string what, std::string consequence,
              std::size_t max_queue, std::chrono::milliseconds interval, Poll poll,
              std::chrono::milliseconds hold = std::chrono::seconds(5));
  ~RedisWorker();
  RedisWorker(const RedisWorker&) = delete;
  RedisWorker& operator=(const RedisWorker&) = delete;

  void start();
  void stop();  // joins the thread; queued and waiting jobs are dropped and counted
  bool submit(Job job);

  // Thread only: the live connection or null, and the report of a failed command on it.
  redisContext* connection() { return link_.get(); }
  void failed(redisContext* c);
  RedisLink& link() { return link_; }

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  bool up() const { return link_.up(); }

 private:
  void loop();

  RedisLink link_;  // thread only (but up() and failures() may be read by any)
  const std::size_t max_queue_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds hold_;
  const Poll poll_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
  std::atomic<std::uint64_t> dropped_{0};
};

struct StreamEntry {
  std::string id;  // "<ms>-<seq>"
  std::vector<std::pair<std::string, std::string>> fields;
  std::string_view field(std::string_view name) const;  // "" when absent
  std::int64_t time_ms() const;                          // the id's milliseconds
};

class StreamTail {
 public:
  enum class From { kEnd, kStart };
  StreamTail(std::string stream, From from) : stream_(std::move(stream)), from_(from) {}
  // Thread only: up to `count` entries past the last read (none on a failure: the link is down).
  std::vector<StreamEntry> read(RedisWorker& worker, std::size_t count);
  const std::string& stream() const { return stream_; }

 private:
  const std::string stream_;
  const From from_;
  std::string last_id_;           // "" until positioned (kStart: on the current connection)
  std::uint64_t connection_ = 0;  // the link's connection the position was taken on
};

}  // namespace switchboard
