// core/redis_worker.h without a Redis server: the queue's bound, drops after the hold while Redis is
// unreachable, the poll's schedule, and a stop that never waits on a socket. (With a redis-server the worker is
// exercised by tests/integration/implicit_feedback.test.mjs and sessions_fleet.test.mjs.)
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/redis_link.h"
#include "core/redis_worker.h"

using namespace switchboard;
using namespace std::chrono_literals;

namespace {

// A loopback port nothing listens on (connects are refused at once).
RedisAddress unreachable() {
  auto a = parse_redis_address("redis://127.0.0.1:1");
  EXPECT_TRUE(a.ok());
  a->timeout = 50ms;
  return *a;
}

}  // namespace

TEST(RedisWorker, JobsWaitForRedisAtMostTheirHoldThenAreDroppedAndCounted) {
  std::atomic<int> polls{0}, ran{0};
  RedisWorker w(unreachable(), "test", "nothing shared", 1000, 10ms, [&] { ++polls; }, 100ms);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(w.submit([&](redisContext*) { return bool(++ran); }));
  for (int i = 0; i < 200 && (w.dropped() < 5 || polls < 3); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(w.dropped(), 5u);
  EXPECT_EQ(ran.load(), 0) << "no job runs without a connection";
  EXPECT_GE(polls.load(), 3) << "the poll runs on its interval even with nothing queued";
  EXPECT_FALSE(w.up());
  w.stop();
  EXPECT_FALSE(w.submit([](redisContext*) { return true; }));  // stopped: refused and counted
  EXPECT_EQ(w.dropped(), 6u);
}

TEST(RedisWorker, TheQueueIsBounded) {
  // The thread is held inside its poll, so queued jobs wait: the fourth submit finds the queue full.
  std::atomic<bool> release{false};
  RedisWorker w(unreachable(), "test", "nothing shared", 3, 10ms, [&] {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  w.start();
  std::this_thread::sleep_for(30ms);  // the thread is now inside the poll
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += w.submit([](redisContext*) { return true; }) ? 1 : 0;
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(w.dropped(), 7u);
  release = true;
  w.stop();
}

TEST(RedisWorker, JobsStillWaitingOrQueuedAtStopAreCountedAsDropped) {
  std::atomic<int> polls{0};
  RedisWorker w(unreachable(), "test", "nothing shared", 100, 10ms, [&] { ++polls; }, 10s);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(w.submit([](redisContext*) { return true; }));
  for (int i = 0; i < 200 && polls < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(w.dropped(), 0u) << "held, within their hold";
  w.stop();
  EXPECT_EQ(w.dropped(), 4u);
}
