#include "pipeline/learning/shared_repeats.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/redis_link.h"

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

std::string_view text(const redisReply* r) {
  return r && r->str ? std::string_view(r->str, r->len) : std::string_view();
}

}  // namespace

SharedRepeats::SharedRepeats(const access::RedisSettings& redis, Deliver deliver)
    : prefix_(redis.prefix), stream_(redis.prefix + "implicit"), deliver_(std::move(deliver)) {
  link_ = std::make_unique<RedisLink>(
      RedisAddress{redis.url, redis.host, redis.port, redis.db, redis.timeout},
      "implicit feedback", "repeats count on the gateway that answered only, until it is back");
}

SharedRepeats::~SharedRepeats() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string SharedRepeats::key_name(std::uint64_t key) const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
  return prefix_ + "rep:" + hex;
}

void SharedRepeats::answered(std::uint64_t key, std::string decision_id,
                             std::chrono::milliseconds window) {
  submit({Job::Kind::kAnswered, key, std::move(decision_id), window.count(), 0});
}

void SharedRepeats::asked(std::uint64_t key, double score) {
  submit({Job::Kind::kAsked, key, {}, 0, score});
}

void SharedRepeats::forget(std::uint64_t key) {
  submit({Job::Kind::kForget, key, {}, 0, 0});
}

void SharedRepeats::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= kMaxQueue) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(job));
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  }
  wake_.notify_one();
}

void SharedRepeats::loop() {
  for (;;) {
    std::deque<Job> jobs;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, kPoll, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      jobs.swap(queue_);
    }
    for (const auto& job : jobs) run(job);
    poll();
  }
}

void SharedRepeats::run(const Job& job) {
  redisContext* c = link_->get();
  if (!c) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::string key = key_name(job.key);
  const std::string& self = process_instance_id();
  void* raw = nullptr;
  switch (job.kind) {
    case Job::Kind::kAnswered: {
      const std::string value = self + " " + job.decision_id;
      const std::string px = std::to_string(std::max<std::int64_t>(job.window_ms, 1));
      raw = redisCommand(c, "SET %b %b PX %b", key.data(), key.size(), value.data(), value.size(),
                         px.data(), px.size());
      break;
    }
    case Job::Kind::kForget:
      raw = redisCommand(c, "DEL %b", key.data(), key.size());
      break;
    case Job::Kind::kAsked: {
      Reply got(redisCommand(c, "GETDEL %b", key.data(), key.size()));
      if (!got.r) break;
      const std::string_view value = text(got.r);
      const auto space = value.find(' ');
      if (got.r->type != REDIS_REPLY_STRING || space == std::string_view::npos) return;
      const std::string owner(value.substr(0, space)), decision(value.substr(space + 1));
      const std::string score = std::to_string(job.score);
      raw = redisCommand(c, "XADD %b MAXLEN ~ 10000 * owner %b decision %b score %b",
                         stream_.data(), stream_.size(), owner.data(), owner.size(),
                         decision.data(), decision.size(), score.data(), score.size());
      break;
    }
  }
  if (!raw) {
    link_->down(c->errstr[0] ? c->errstr : "no reply");
    return;
  }
  freeReplyObject(raw);
}

void SharedRepeats::poll() {
  redisContext* c = link_->get();
  if (!c) return;
  if (last_id_.empty() || connection_ != link_->connections()) {
    // From the stream's end as it is now: earlier entries were for whoever was running then.
    Reply last(redisCommand(c, "XREVRANGE %b + - COUNT 1", stream_.data(), stream_.size()));
    if (!last.r) {
      link_->down(c->errstr[0] ? c->errstr : "no reply");
      return;
    }
    last_id_ = "0-0";
    if (last.r->type == REDIS_REPLY_ARRAY && last.r->elements == 1 &&
        last.r->element[0]->type == REDIS_REPLY_ARRAY && last.r->element[0]->elements >= 1)
      last_id_ = std::string(text(last.r->element[0]->element[0]));
    connection_ = link_->connections();
  }
  Reply r(redisCommand(c, "XREAD COUNT 200 STREAMS %b %b", stream_.data(), stream_.size(),
                       last_id_.data(), last_id_.size()));
  if (!r.r) {
    link_->down(c->errstr[0] ? c->errstr : "no reply");
    return;
  }
  if (r.r->type != REDIS_REPLY_ARRAY || r.r->elements == 0) return;  // nothing new
  const redisReply* stream = r.r->element[0];
  if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2) return;
  const redisReply* entries = stream->element[1];
  const std::string& self = process_instance_id();
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const redisReply* entry = entries->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
    last_id_ = std::string(text(entry->element[0]));
    const redisReply* fields = entry->element[1];
    std::string_view owner, decision;
    double score = 0;
    for (std::size_t k = 0; k + 1 < fields->elements; k += 2) {
      const auto name = text(fields->element[k]);
      const auto value = text(fields->element[k + 1]);
      if (name == "owner") owner = value;
      if (name == "decision") decision = value;
      if (name == "score") score = std::atof(std::string(value).c_str());
    }
    if (owner != self || decision.empty()) continue;
    delivered_.fetch_add(1, std::memory_order_relaxed);
    deliver_(std::string(decision), score);
  }
}

}  // namespace switchboard::pipeline::learning
