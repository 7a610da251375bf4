// The learner: applies feedback to the routes' learning policies off the request path, saves their
// state to SQLite and restores it at start, and shares one feedback stream between gateways through
// Redis (docs/online.md).
//
// submit() only appends to a bounded queue (full: the event is dropped and counted) and wakes the
// learner's thread; the request path and the feedback endpoint never wait for learning. The thread
//   - without Redis: calls LearningPolicy::observe() of the route's policy in the current runtime
//     for each event, in order;
//   - with `state: {redis: URL}`: appends each event (with the decision's context: embedding, task,
//     prompt, tokens, model, cost) to the Redis stream `switchboard:feedback` (XADD, capped at
//     `stream_max` entries), and applies the stream's entries in stream order (XREAD from the last
//     id it applied) — its own events too, after they come back — so every gateway applies the same
//     events in the same order and their policies reach the same state. Redis unreachable: the
//     thread applies its own events locally (the gateways then diverge until restarted), logs a
//     warning once per outage, and retries at most once a second. An event whose XADD was not
//     acknowledged (an error reply, or the connection lost before its reply) is applied locally
//     and its decision id remembered (at most kMaxUnacknowledged): if it did reach the stream
//     after all, consume() skips it there, so no event is learned twice.
//   - an exception out of a policy's observe() or save() is logged and the event or the save is
//     skipped; the thread goes on.
//   - every `save_every`, and at stop(), saves each learning policy whose state changed
//     (LearningPolicy::save()) to the `learning_states` table, under the route, its policy spec
//     as YAML (the signature) and the policy's models, with the last stream id applied. start()
//     restores each route's state saved under the same signature and models, and resumes the
//     stream after the saved id.
// On hot reload, carry_over() moves each route's state from the old runtime's policy to the new
// one when the route keeps the same policy spec and models; a route the old runtime did not have
// (or had with another spec or models) restores the state saved under its own, as at start(). A
// state is saved per signature and models (the newest few per route are kept: store/
// feedback_store.h), so a spec or model set changed and changed back finds its state again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "access/settings.h"
#include "metrics/metrics.h"
#include "pipeline/learning/context_cache.h"
#include "pipeline/runtime.h"
#include "store/feedback_store.h"
#include "switchboard/learning.h"

struct redisContext;

namespace switchboard {
class RedisLink;
}

namespace switchboard::pipeline::learning {

struct LearnerOptions {
  std::chrono::milliseconds save_every{10'000};
  std::size_t max_queue = 10'000;
  std::optional<access::RedisSettings> redis;  // `state: {redis: URL}`
  std::string stream = "switchboard:feedback";
  std::size_t stream_max =
      100'000;  // entries of a few KB each (prompt ≤ 32 KB): bounds Redis memory
};

// One piece of feedback for the policy of `route`.
struct LearnEvent {
  std::string route;
  std::string decision_id;
  Feedback feedback;
};

// The event as the stream carries it, and back (exact round trip of the numbers).
std::string event_json(const LearnEvent& event);
std::optional<LearnEvent> parse_event_json(std::string_view text);

class Learner {
 public:
  using RuntimeSource = std::function<std::shared_ptr<Runtime>()>;
  Learner(LearnerOptions options, RuntimeSource runtime, store::FeedbackStore& store,
          metrics::GatewayMetrics* metrics);
  ~Learner();  // stop()

  // Restores saved states into the current runtime's learning policies, starts the thread.
  void start();
  // Applies what is queued (through the stream, when shared), saves, stops the thread. Idempotent.
  void stop();
  // Non-blocking; false when the queue is full (the event is dropped).
  bool submit(LearnEvent event);
  // Moves learned state from `old` to `fresh` per route with the same policy spec (hot reload),
  // then calls `swap` (which makes `fresh` current) before any further feedback is applied.
  void carry_over(Runtime& old, Runtime& fresh, const std::function<void()>& swap);
  // Saves every changed state now (blocking: SQLite).
  void save_now();

  std::uint64_t applied() const { return applied_.load(); }
  bool shared() const { return options_.redis.has_value(); }

 private:
  void loop();
  void apply(const LearnEvent& event);  // apply_mu_ held
  void save_all(Runtime& runtime);      // apply_mu_ held
  void restore_all(Runtime& runtime);   // apply_mu_ held
  // The saved state of `route` into its policy when the saved signature matches; true if so. At
  // start (not on a reload) the saved stream position moves the learner's on.
  bool restore_route(const std::string& name, RouteRuntime& route, bool at_start);  // apply_mu_
  // Redis (thread only): the connection (null while down), XADD the batch (per event: true when
  // the stream acknowledged it), XREAD and apply what is new.
  redisContext* connect();
  std::vector<bool> publish(redisContext* c, const std::deque<LearnEvent>& events);
  bool consume(redisContext* c);
  void check_position(redisContext* c);  // once per connection: a position past the stream
  void apply_safely(const LearnEvent& event);  // apply_mu_ held; logs an exception, goes on

  const LearnerOptions options_;
  RuntimeSource runtime_;
  store::FeedbackStore& store_;
  metrics::GatewayMetrics* metrics_;

  std::mutex apply_mu_;
  struct Saved {
    std::string signature;
    std::uint64_t observations = 0;
  };
  std::map<std::string, Saved> saved_;  // per route: what was saved or restored last; apply_mu_
  std::string last_id_ = "0";  // guarded by apply_mu_: stream position
  // Decision ids of this gateway's events applied locally because their XADD was not
  // acknowledged, oldest first (bounded); guarded by apply_mu_.
  std::deque<std::string> unacknowledged_;

  std::unique_ptr<RedisLink> redis_;  // thread only (and stop() after it)
  std::uint64_t checked_connection_ = 0;  // thread only: check_position() ran on this connection

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<LearnEvent> queue_;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  bool started_ = false;
  std::atomic<std::uint64_t> applied_{0};
  std::thread thread_;
};

}  // namespace switchboard::pipeline::learning
