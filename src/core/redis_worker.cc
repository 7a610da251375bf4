#include "core/redis_worker.h"

#include <hiredis/hiredis.h>

#include <cstdlib>

namespace switchboard {
namespace {

struct Reply {
  redisReply* r = nullptr;
  explicit Reply(void* p) : r(static_cast<redisReply*>(p)) {}
  ~Reply() {
    if (r) freeReplyObject(r);
  }
};

std::string_view text(const redisReply* r) { return redis_text(r); }

}  // namespace

RedisWorker::RedisWorker(RedisAddress address, std::string what, std::string consequence,
                         std::size_t max_queue, std::chrono::milliseconds interval, Poll poll,
                         std::chrono::milliseconds hold)
    : link_(std::move(address), std::move(what), std::move(consequence)),
      max_queue_(max_queue),
      interval_(interval),
      hold_(hold),
      poll_(std::move(poll)) {}

RedisWorker::~RedisWorker() { stop(); }

void RedisWorker::start() {
  std::lock_guard lock(mu_);
  if (!stopping_ && !thread_.joinable()) thread_ = std::thread([this] { loop(); });
}

void RedisWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RedisWorker::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= max_queue_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(job));
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  }
  wake_.notify_one();
  return true;
}

void RedisWorker::failed(redisContext* c) {
  link_.down(c && c->errstr[0] ? c->errstr : "no reply");
}

void RedisWorker::loop() {
  struct Waiting {
    Job job;
    std::chrono::steady_clock::time_point since;
    bool failed_once = false;
  };
  std::deque<Waiting> waiting;  // thread only: jobs not run yet, oldest first
  for (;;) {
    std::deque<Job> jobs;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, interval_, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) {  // never waits on a socket: what was not run is dropped and counted
        dropped_.fetch_add(queue_.size() + waiting.size(), std::memory_order_relaxed);
        queue_.clear();
        return;
      }
      jobs.swap(queue_);
    }
    const auto now = std::chrono::steady_clock::now();
    for (auto& job : jobs) waiting.push_back({std::move(job), now});
    while (!waiting.empty()) {
      redisContext* c = link_.get();
      if (!c) break;  // unreachable: the jobs wait
      if (waiting.front().job(c)) {
        waiting.pop_front();
        continue;
      }
      failed(c);
      if (waiting.front().failed_once) {
        waiting.pop_front();
        dropped_.fetch_add(1, std::memory_order_relaxed);
      } else {
        waiting.front().failed_once = true;  // once more, after the reconnection
      }
    }
    while (!waiting.empty() &&
           (waiting.size() > max_queue_ || now - waiting.front().since >= hold_)) {
      waiting.pop_front();
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    if (poll_) poll_();
  }
}

std::string_view StreamEntry::field(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

std::int64_t StreamEntry::time_ms() const { return std::atoll(id.c_str()); }

std::vector<StreamEntry> StreamTail::read(RedisWorker& worker, std::size_t count) {
  std::vector<StreamEntry> out;
  redisContext* c = worker.connection();
  if (!c) return out;
  const bool reconnected = connection_ != worker.link().connections();
  if (last_id_.empty() || (reconnected && from_ == From::kStart)) {
    std::string start = "0-0";
    if (from_ == From::kEnd) {
      Reply last(redis_command(c, "XREVRANGE %b + - COUNT 1", stream_.data(), stream_.size()));
      if (!last.r) {
        worker.failed(c);
        return out;  // not positioned: tried again on the next connection
      }
      if (last.r->type == REDIS_REPLY_ARRAY && last.r->elements == 1 &&
          last.r->element[0]->type == REDIS_REPLY_ARRAY && last.r->element[0]->elements >= 1)
        start = std::string(text(last.r->element[0]->element[0]));
    }
    last_id_ = std::move(start);
  }
  connection_ = worker.link().connections();
  const std::string n = std::to_string(count);
  Reply r(redis_command(c, "XREAD COUNT %b STREAMS %b %b", n.data(), n.size(), stream_.data(),
                       stream_.size(), last_id_.data(), last_id_.size()));
  if (!r.r) {
    worker.failed(c);
    return out;
  }
  if (r.r->type != REDIS_REPLY_ARRAY || r.r->elements == 0) return out;  // nothing new
  const redisReply* stream = r.r->element[0];
  if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2) return out;
  const redisReply* entries = stream->element[1];
  out.reserve(entries->elements);
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const redisReply* entry = entries->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
    StreamEntry e;
    e.id = std::string(text(entry->element[0]));
    last_id_ = e.id;
    const redisReply* fields = entry->element[1];
    for (std::size_t k = 0; k + 1 < fields->elements; k += 2)
      e.fields.emplace_back(text(fields->element[k]), text(fields->element[k + 1]));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace switchboard
