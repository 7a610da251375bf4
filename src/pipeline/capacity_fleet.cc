#include "pipeline/capacity_fleet.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/redis_link.h"

namespace switchboard::pipeline {
namespace {

constexpr std::int64_t kForgetMs = 60'000;  // fields older than this are deleted

struct Reply {
  redisReply* r = nullptr;
  ~Reply() {
    if (r) freeReplyObject(r);
  }
};

// "<value> <unix ms>" → (value, ms); false when malformed.
bool parse_field(std::string_view text, double& value, std::int64_t& ms) {
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return false;
  const char* end = text.data() + text.size();
  auto v = std::from_chars(text.data(), text.data() + space, value);
  auto t = std::from_chars(text.data() + space + 1, end, ms);
  // Loads and spends other gateways wrote: finite, not negative, not absurd (one field of 1e300
  // pinned a price at its maximum on every gateway).
  return v.ec == std::errc() && t.ec == std::errc() && t.ptr == end && value >= 0 &&
         value <= 1e12;
}

class RedisFleet final : public CapacityFleet {
 public:
  RedisFleet(const access::RedisSettings& s, std::vector<std::string> models,
             std::vector<std::string> routes, std::chrono::milliseconds interval)
      : link_(RedisAddress{s.url, s.host, s.port, s.db, s.timeout}, "capacity state",
              "prices follow this gateway's own load and spend until it is back"),
        fresh_ms_(std::max<std::int64_t>(3 * interval.count(), 2000)) {
    // Per controller, not per process: after a hot reload the old runtime's controller (still
    // counting its requests in flight) and the new one publish side by side, and the old one's
    // clean-up must not delete the new one's figures.
    static std::atomic<std::uint64_t> controllers{0};
    id_ = process_instance_id() + "." + std::to_string(controllers.fetch_add(1) + 1);
    for (auto& m : models) keys_.push_back(s.prefix + "cap:m:" + m);
    for (auto& r : routes) keys_.push_back(s.prefix + "cap:r:" + r);
    models_ = models.size();
  }

  ~RedisFleet() override {
    // A clean stop takes this gateway's share out at once.
    redisContext* c = link_.up() ? link_.get() : nullptr;
    if (!c) return;
    for (const auto& key : keys_)
      redisAppendCommand(c, "HDEL %b %b", key.data(), key.size(), id_.data(), id_.size());
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      Reply r;
      if (redis_get_reply(c, reinterpret_cast<void**>(&r.r)) != REDIS_OK) break;
    }
  }

  std::optional<Measures> exchange(const Measures& local, std::int64_t now_ms) override {
    redisContext* c = link_.get();
    if (!c) return std::nullopt;
    const std::string& id = id_;
    const std::string ttl = std::to_string(kForgetMs);
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      const double v = i < models_ ? local.models[i] : local.routes[i - models_];
      char buf[64];
      const int n = std::snprintf(buf, sizeof buf, "%.17g %lld", v, static_cast<long long>(now_ms));
      const std::string& key = keys_[i];
      redisAppendCommand(c, "HSET %b %b %b", key.data(), key.size(), id.data(), id.size(), buf,
                         static_cast<std::size_t>(n));
      redisAppendCommand(c, "PEXPIRE %b %b", key.data(), key.size(), ttl.data(), ttl.size());
      redisAppendCommand(c, "HGETALL %b", key.data(), key.size());
    }
    Measures out;
    out.models.assign(local.models.size(), 0);
    out.routes.assign(local.routes.size(), 0);
    std::vector<std::pair<std::size_t, std::string>> forget;  // (key, field)
    std::vector<std::string> seen;
    bool ok = true;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      for (int k = 0; k < 3; ++k) {
        Reply r;
        if (redis_get_reply(c, reinterpret_cast<void**>(&r.r)) != REDIS_OK || !r.r) {
          link_.down(c->errstr[0] ? c->errstr : "no reply");
          return std::nullopt;
        }
        if (r.r->type == REDIS_REPLY_ERROR) ok = false;
        if (k != 2 || r.r->type != REDIS_REPLY_ARRAY) continue;
        double sum = 0;
        for (std::size_t e = 0; e + 1 < r.r->elements; e += 2) {
          const redisReply* field = r.r->element[e];
          const redisReply* value = r.r->element[e + 1];
          std::string name(redis_text(field));
          double v = 0;
          std::int64_t ms = 0;
          // A time far ahead (a gateway whose clock runs fast) would never be forgotten.
          if (!parse_field(redis_text(value), v, ms) || ms < now_ms - kForgetMs ||
              ms > now_ms + kForgetMs) {
            forget.emplace_back(i, std::move(name));
            continue;
          }
          if (ms < now_ms - fresh_ms_) continue;
          sum += v;
          if (std::find(seen.begin(), seen.end(), name) == seen.end())
            seen.push_back(std::move(name));
        }
        (i < models_ ? out.models[i] : out.routes[i - models_]) = sum;
      }
    }
    for (const auto& [i, field] : forget) {
      Reply r;
      r.r = redis_command(c, "HDEL %b %b", keys_[i].data(),
                                                  keys_[i].size(), field.data(), field.size());
      if (!r.r) {
        link_.down(c->errstr[0] ? c->errstr : "no reply");
        break;
      }
    }
    if (!ok) return std::nullopt;  // an error reply (a key of another type, …): local figures
    out.gateways = std::max<std::size_t>(seen.size(), 1);
    return out;
  }

 private:
  RedisLink link_;
  const std::int64_t fresh_ms_;
  std::string id_;  // this controller's field in every hash
  std::vector<std::string> keys_;  // models' then routes'
  std::size_t models_ = 0;
};

}  // namespace

std::unique_ptr<CapacityFleet> redis_capacity_fleet(const access::RedisSettings& redis,
                                                    std::vector<std::string> models,
                                                    std::vector<std::string> routes,
                                                    std::chrono::milliseconds interval) {
  return std::make_unique<RedisFleet>(redis, std::move(models), std::move(routes), interval);
}

}  // namespace switchboard::pipeline
