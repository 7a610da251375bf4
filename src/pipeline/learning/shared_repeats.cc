#include "pipeline/learning/shared_repeats.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/redis_worker.h"

namespace switchboard::pipeline::learning {
namespace {

constexpr std::size_t kMaxQueue = 1024;
constexpr auto kPoll = std::chrono::milliseconds(50);

struct Reply {
  redisReply* r = nullptr;
  explicit Reply(void* p) : r(static_cast<redisReply*>(p)) {}
  ~Reply() {
    if (r) freeReplyObject(r);
  }
};

}  // namespace

SharedRepeats::SharedRepeats(const access::RedisSettings& redis, Deliver deliver)
    : prefix_(redis.prefix),
      stream_(redis.prefix + "implicit"),
      deliver_(std::move(deliver)),
      tail_(std::make_unique<StreamTail>(stream_, StreamTail::From::kEnd)) {
  worker_ = std::make_unique<RedisWorker>(
      RedisAddress{redis.url, redis.host, redis.port, redis.db, redis.timeout},
      "implicit feedback", "repeats count on the gateway that answered only, until it is back",
      kMaxQueue, kPoll, [this] { poll(); });
}

SharedRepeats::~SharedRepeats() { worker_->stop(); }

std::uint64_t SharedRepeats::dropped() const { return worker_->dropped(); }

std::string SharedRepeats::key_name(std::uint64_t key) const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
  return prefix_ + "rep:" + hex;
}

void SharedRepeats::answered(std::uint64_t key, std::string decision_id,
                             std::chrono::milliseconds window) {
  worker_->submit([key = key_name(key), decision = std::move(decision_id),
                   window](redisContext* c) {
    const std::string value = process_instance_id() + " " + decision;
    const std::string px = std::to_string(std::max<std::int64_t>(window.count(), 1));
    Reply r(redis_command(c, "SET %b %b PX %b", key.data(), key.size(), value.data(), value.size(),
                         px.data(), px.size()));
    return r.r != nullptr;
  });
}

void SharedRepeats::forget(std::uint64_t key) {
  worker_->submit([key = key_name(key)](redisContext* c) {
    Reply r(redis_command(c, "DEL %b", key.data(), key.size()));
    return r.r != nullptr;
  });
}

// Takes another gateway's answer out of Redis and appends the repeat for its owner in one atomic
// step, so a job run again after a lost reply neither loses the repeat (a GETDEL whose reply was
// lost) nor sends it twice (the second run finds the key gone).
constexpr const char* kTakeAndAppend = R"lua(
local v = redis.call('GETDEL', KEYS[1])
if not v then return 0 end
local s = string.find(v, ' ', 1, true)
if not s then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '10000', '*', 'owner', string.sub(v, 1, s - 1),
           'decision', string.sub(v, s + 1), 'score', ARGV[1])
return 1
)lua";

void SharedRepeats::asked(std::uint64_t key, double score) {
  worker_->submit([this, key = key_name(key), score](redisContext* c) {
    const std::string text = std::to_string(score);
    Reply r(redis_command(c, "EVAL %s 2 %b %b %b", kTakeAndAppend, key.data(), key.size(),
                         stream_.data(), stream_.size(), text.data(), text.size()));
    return r.r != nullptr;
  });
}

void SharedRepeats::poll() {
  const std::string& self = process_instance_id();
  for (const StreamEntry& e : tail_->read(*worker_, 200)) {
    const auto decision = e.field("decision");
    if (e.field("owner") != self || decision.empty()) continue;
    const auto text = e.field("score");
    double score = -1;
    std::from_chars(text.data(), text.data() + text.size(), score);
    if (!(score >= 0 && score <= 1)) continue;  // not one a gateway writes (NaN too)
    delivered_.fetch_add(1, std::memory_order_relaxed);
    deliver_(std::string(decision), score);
  }
}

}  // namespace switchboard::pipeline::learning
