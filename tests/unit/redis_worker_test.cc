// core/redis_worker.h without a Redis server: the queue's bound, drops after the hold while Redis is
// unreachable, the poll's schedule, and a stop that never waits on a socket. (With a redis-server the worker is
// exercised by tests/integration/implicit_feedback.test.mjs and sessions_fleet.test.mjs.)
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>

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
  std::atomic<bool> release{false}, polling{false};
  RedisWorker w(unreachable(), "test", "nothing shared", 3, 10ms, [&] {
    polling = true;
    while (!release) std::this_thread::sleep_for(1ms);
  });
  w.start();
  // Until the thread is inside the poll (a fixed 30 ms sleep was too short on a loaded machine:
  // the thread took a job before polling, and a fourth was accepted).
  for (int i = 0; i < 5000 && !polling; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(polling);
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

namespace {

bool send_all(int fd, std::string_view bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

// A one-connection server on loopback that answers every command with `reply` (a function that
// writes to the socket until it returns false or the peer is gone).
class HostileRedis {
 public:
  explicit HostileRedis(std::function<bool(int fd)> reply, bool pong_first = true)
      : reply_(std::move(reply)), pong_first_(pong_first) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_fd_, 4);
    thread_ = std::thread([this] {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      char buf[4096];
      // The link's own PING when it connects is answered; then every command gets `reply`.
      if (::recv(fd, buf, sizeof buf, 0) > 0 &&
          (!pong_first_ || (send_all(fd, "+PONG\r\n") && ::recv(fd, buf, sizeof buf, 0) > 0)))
        while (!stop_ && reply_(fd)) {
        }
      ::close(fd);
    });
  }
  ~HostileRedis() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }
  RedisAddress address() const {
    auto a = parse_redis_address("redis://127.0.0.1:" + std::to_string(port_));
    a->timeout = 100ms;
    return *a;
  }

 private:
  std::function<bool(int)> reply_;
  bool pong_first_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The error of one PING to `server`, or "" when it answered.
std::string ping_error(const HostileRedis& server) {
  RedisLink link(server.address(), "test", "nothing shared");
  redisContext* c = link.get();
  if (!c) return "no connection";
  redisReply* r = redis_command(c, "PING");
  if (r) {
    freeReplyObject(r);
    return "";
  }
  return c->errstr;
}

}  // namespace

// Since session 28: a reply that never ends (announced huge and streamed, or dripped a byte at a
// time, each read within the timeout) fails at its bound instead of holding its thread and growing
// without end.
TEST(RedisReplies, RepliesThatNeverEndFailAtTheirBound) {
  {
    HostileRedis drip([](int fd) {
      std::this_thread::sleep_for(20ms);
      return send_all(fd, "+");
    });
    EXPECT_EQ(ping_error(drip), "reply not whole within the timeout");
  }
  {
    const std::string chunk(64 * 1024, 'x');
    bool head = true;
    HostileRedis bulk([&](int fd) {
      if (std::exchange(head, false)) return send_all(fd, "$999999999999\r\n");
      return send_all(fd, chunk);
    });
    const std::string e = ping_error(bulk);
    EXPECT_TRUE(e == "reply over 64 MiB" || e == "reply not whole within the timeout") << e;
  }
  {
    std::string ones;
    for (int i = 0; i < 16384; ++i) ones += ":1\r\n";
    bool head = true;
    HostileRedis array([&](int fd) {
      if (std::exchange(head, false)) return send_all(fd, "*2000000000\r\n");
      return send_all(fd, ones);
    });
    EXPECT_EQ(ping_error(array), "reply of more than 1048576 values");
  }
  {
    std::string ones;
    for (int i = 0; i < 16384; ++i) ones += "*1\r\n:1\r\n";
    bool head = true;
    HostileRedis nested([&](int fd) {  // an array of arrays, each small: counted all the same
      if (std::exchange(head, false)) return send_all(fd, "*1000000\r\n");
      return send_all(fd, ones);
    });
    const std::string e = ping_error(nested);
    EXPECT_TRUE(e == "reply of more than 1048576 values" || e == "reply not whole within the timeout") << e;
  }
  HostileRedis fine([](int fd) {
    send_all(fd, "+PONG\r\n");
    return false;
  });
  EXPECT_EQ(ping_error(fine), "");
}

// Since session 28: an error reply (OOM at maxmemory, ...) is counted and logged by the link, which
// stays up; a server that refuses even the PING on connecting (it wants a password) is down, with
// its own words, not "reachable again" every second.
TEST(RedisReplies, ErrorRepliesAreCountedAndAServerRefusingEverythingIsDown) {
  {
    HostileRedis oom([](int fd) {
      send_all(fd, "-OOM command not allowed when used memory > 'maxmemory'\r\n");
      return false;
    });
    RedisLink link(oom.address(), "test", "nothing shared");
    redisContext* c = link.get();
    ASSERT_TRUE(c);
    const auto before = link.failures();
    redisReply* r = redis_command(c, "SET a b");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    EXPECT_EQ(link.failures(), before + 1);
    EXPECT_TRUE(link.up());
  }
  HostileRedis noauth(
      [](int fd) {
        send_all(fd, "-NOAUTH Authentication required.\r\n");
        return false;
      },
      /*pong_first=*/false);
  RedisLink link(noauth.address(), "test", "nothing shared");
  EXPECT_FALSE(link.get());
  EXPECT_FALSE(link.up());
  EXPECT_EQ(link.failures(), 1u);
}
