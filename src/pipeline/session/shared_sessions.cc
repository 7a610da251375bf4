#include "pipeline/session/shared_sessions.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>

#include "core/redis_worker.h"
#include "core/wall_clock.h"

namespace switchboard::pipeline::session {
namespace {

constexpr std::size_t kMaxQueue = 4096;
constexpr auto kPoll = std::chrono::milliseconds(50);
constexpr std::size_t kReadCount = 1000;
constexpr int kReadsPerPoll = 20;  // catching up after a connect: at most 20,000 entries a poll

std::int64_t number(std::string_view s) { return std::atoll(std::string(s).c_str()); }
std::uint64_t hex(std::string_view s) { return std::strtoull(std::string(s).c_str(), nullptr, 16); }

}  // namespace

std::shared_ptr<SharedSessions> SharedSessions::acquire(const access::RedisSettings& redis) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<SharedSessions>> live;
  const std::string id = fmt::format("{}:{}/{}/{}", redis.host, redis.port, redis.db, redis.prefix);
  std::lock_guard lock(mu);
  if (auto s = live[id].lock()) return s;
  auto s = std::make_shared<SharedSessions>(redis);
  live[id] = s;
  return s;
}

SharedSessions::SharedSessions(const access::RedisSettings& redis)
    : stream_(redis.prefix + "sessions"),
      tail_(std::make_unique<StreamTail>(stream_, StreamTail::From::kStart)) {
  worker_ = std::make_unique<RedisWorker>(
      RedisAddress{redis.url, redis.host, redis.port, redis.db, redis.timeout}, "sessions",
      "conversations stay on the gateway that answered them, until it is back", kMaxQueue, kPoll,
      [this] { poll(); });
  worker_->start();  // merge the fleet's sessions from the start, not from a first own turn
}

SharedSessions::~SharedSessions() { worker_->stop(); }

std::uint64_t SharedSessions::dropped() const { return worker_->dropped(); }
bool SharedSessions::up() const { return worker_->up(); }

void SharedSessions::publish(const std::string& route, std::uint64_t key, const State& state,
                             std::uint64_t conversation, std::int64_t ttl_ms) {
  worker_->submit([this, route, key, state, conversation, ttl_ms](redisContext* c) {
    const std::string k = fmt::format("{:016x}", key), cv = fmt::format("{:016x}", conversation);
    const std::string p = std::to_string(state.replica), t = std::to_string(state.turns),
                      s = std::to_string(state.switches), ttl = std::to_string(ttl_ms),
                      o = fmt::format("{:016x}", state.owner);
    const std::string& g = process_instance_id();
    auto* r = redis_command(
        c, "XADD %b MAXLEN ~ 100000 * g %b r %b k %b c %b m %b p %b t %b s %b ttl %b o %b",
        stream_.data(), stream_.size(), g.data(), g.size(), route.data(), route.size(), k.data(),
        k.size(), cv.data(), cv.size(), state.model.data(), state.model.size(), p.data(), p.size(),
        t.data(), t.size(), s.data(), s.size(), ttl.data(), ttl.size(), o.data(), o.size());
    if (!r) return false;  // the connection failed: the job runs again after reconnecting
    // An error reply (OOM at maxmemory, READONLY, ...) leaves the connection usable: the turn is
    // not published, and not retried.
    if (r->type != REDIS_REPLY_ERROR) published_.fetch_add(1, std::memory_order_relaxed);
    freeReplyObject(r);
    return true;
  });
}

void SharedSessions::poll() {
  const std::string& self = process_instance_id();
  for (int i = 0; i < kReadsPerPoll; ++i) {
    const auto entries = tail_->read(*worker_, kReadCount);
    const std::int64_t now = unix_ms(), steady = steady_now_ms();
    for (const StreamEntry& e : entries) {
      if (e.field("g") == self) continue;
      const std::int64_t age = std::max<std::int64_t>(0, now - e.time_ms());
      if (age >= number(e.field("ttl"))) continue;
      auto table = existing_table(e.field("r"));
      if (!table) continue;
      State state;
      state.model = std::string(e.field("m"));
      state.replica = static_cast<std::int32_t>(number(e.field("p")));
      state.turns = number(e.field("t"));
      state.switches = number(e.field("s"));
      state.owner = hex(e.field("o"));  // 0 from a gateway before session 27
      if (state.model.empty() || state.turns < 1) continue;
      if (table->merge(hex(e.field("k")), state, hex(e.field("c")), steady - age))
        merged_.fetch_add(1, std::memory_order_relaxed);
    }
    if (entries.size() < kReadCount) return;
  }
}

}  // namespace switchboard::pipeline::session
