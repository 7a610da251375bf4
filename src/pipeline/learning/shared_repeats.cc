#include "pipeline/learning/shared_repeats.h"

#include <hiredis/hiredis.h>

#include <algorithm>
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
    Reply r(redisCommand(c, "SET %b %b PX %b", key.data(), key.size(), value.data(), value.size(),
                         px.data(), px.size()));
    return r.r != nullptr;
  });
}

void SharedRepeats::forget(std::uint64_t key) {
  worker_->submit([key = key_name(key)](redisContext* c) {
    Reply r(redisCommand(c, "DEL %b", key.data(), key.size()));
    return r.r != nullptr;
  });
}

void SharedRepeats::asked(std::uint64_t key, double score) {
  worker_->submit([this, key = key_name(key), score](redisContext* c) {
    Reply got(redisCommand(c, "GETDEL %b", key.data(), key.size()));
    if (!got.r) return false;
    if (got.r->type != REDIS_REPLY_STRING) return true;  // no answer of another gateway to score
    const std::string_view value(got.r->str, got.r->len);
    const auto space = value.find(' ');
    if (space == std::string_view::npos) return true;
    const std::string owner(value.substr(0, space)), decision(value.substr(space + 1));
    const std::string text = std::to_string(score);
    Reply r(redisCommand(c, "XADD %b MAXLEN ~ 10000 * owner %b decision %b score %b",
                         stream_.data(), stream_.size(), owner.data(), owner.size(),
                         decision.data(), decision.size(), text.data(), text.size()));
    return r.r != nullptr;
  });
}

void SharedRepeats::poll() {
  const std::string& self = process_instance_id();
  for (const StreamEntry& e : tail_->read(*worker_, 200)) {
    const auto decision = e.field("decision");
    if (e.field("owner") != self || decision.empty()) continue;
    delivered_.fetch_add(1, std::memory_order_relaxed);
    deliver_(std::string(decision), std::atof(std::string(e.field("score")).c_str()));
  }
}

}  // namespace switchboard::pipeline::learning
