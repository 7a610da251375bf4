// One hiredis connection for a background thread that shares state through Redis: connects on
// demand (at most one attempt a second), selects the database, applies the timeout to every
// command, and logs each outage once ("<what>: redis at URL unreachable (why); <consequence>")
// and each recovery once. Not thread-safe: one owner thread (failures() may be read by any).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "switchboard/result.h"

struct redisContext;
struct redisReply;

namespace switchboard {

struct RedisAddress {
  std::string url;  // for messages
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::chrono::milliseconds timeout{100};
};

// `redis://HOST[:PORT][/DB]` (no credentials). kBadRequest (`bad_config`) naming the URL and what
// is wrong: not a redis URL, no host, a bad port (1–65535) or database (≥ 0).
Result<RedisAddress> parse_redis_address(const std::string& url);

// This process's id among the gateways sharing one Redis (16 random hex digits, made once).
const std::string& process_instance_id();

// hiredis's blocking calls, bounded. hiredis bounds each read of the socket by the context's
// timeout, not a reply: one that drips a byte at a time, or announces a bulk or array of any size
// and keeps sending, held its thread and grew its memory without end. Here a reply must be whole
// within the context's timeout (from the connect: RedisLink applies its address's), or a second
// when that is shorter, and within
// kMaxRedisReplyBytes read and kMaxRedisReplyObjects parsed values; otherwise the call fails with
// c->err set (REDIS_ERR_IO / REDIS_ERR_OOM, errstr saying which bound) and the caller drops the
// connection as after any failed command. Contexts must come from RedisLink::get() (which counts
// the parsed values); use these, never hiredis's redisCommand / redisGetReply.
inline constexpr std::size_t kMaxRedisReplyBytes = 64u << 20;
inline constexpr std::size_t kMaxRedisReplyObjects = 1u << 20;
// As redisGetReply: REDIS_OK with *reply set (freed by the caller), or REDIS_ERR.
int redis_get_reply(redisContext* c, void** reply);
// As redisCommand / redisCommandArgv: the reply, or null on an error (c->err set).
redisReply* redis_command(redisContext* c, const char* format, ...);
redisReply* redis_command_argv(redisContext* c, int argc, const char** argv, const size_t* lens);

// A reply's string (status, string, error or verbatim), or "" (also for null or other types).
std::string_view redis_text(const redisReply* r);
// True for a stream entry id as Redis writes them: "MS-SEQ" (or "MS"), decimal, each < 2^64.
bool is_stream_id(std::string_view id);

class RedisLink {
 public:
  RedisLink(RedisAddress address, std::string what, std::string consequence);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // The connected context, or null (unreachable, or the last attempt was less than a second ago).
  redisContext* get();
  // Drops the connection after a failed command (`why`: its error); the next get() reconnects.
  void down(const std::string& why);
  bool up() const { return up_; }
  // Connections made so far: a change means a new connection (the server may have restarted
  // empty since the previous one).
  std::uint64_t connections() const { return connections_; }
  // An error reply to a command: the connection is fine, Redis refused the command (OOM at
  // maxmemory, NOAUTH, READONLY, WRONGTYPE). Logged once per distinct text a minute (with the
  // consequence) and counted in failures(); redis_get_reply() reports every one.
  void error_reply(std::string_view text);
  // For an owner that treats an error reply as an outage itself (down()): redis_get_reply() then
  // leaves them to it (not logged and counted twice). Before the first get().
  void leave_error_replies_to_owner() { report_error_replies_ = false; }
  // Failed connects, down() and error_reply() calls so far.
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  const RedisAddress& address() const { return address_; }

  // What a connection's reader points at (its privdata): the count of values in the reply being
  // parsed, and the link to tell of error replies (null while the connection is being set up).
  struct ReplyWatch {
    std::size_t objects = 0;
    RedisLink* link = nullptr;
  };

 private:
  const RedisAddress address_;
  const std::string what_, consequence_;
  redisContext* ctx_ = nullptr;
  bool up_ = true;  // false from the first failure until a connection succeeds again
  std::atomic<std::uint64_t> failures_{0};
  std::uint64_t connections_ = 0;
  std::chrono::steady_clock::time_point next_attempt_{};
  ReplyWatch reply_watch_;
  bool report_error_replies_ = true;
  std::string last_error_reply_;
  std::chrono::steady_clock::time_point last_error_log_{};
};

}  // namespace switchboard
