#include "core/redis_link.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <string_view>
#include <cstdint>
#include <cstdio>
#include <random>
#include <utility>

namespace switchboard {

Result<RedisAddress> parse_redis_address(const std::string& url) {
  RedisAddress a;
  a.url = url;
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_config", "'" + url + "': " + why);
  };
  std::string_view rest = url;
  if (!rest.starts_with("redis://")) return bad("not a redis URL (redis://HOST[:PORT][/DB])");
  rest.remove_prefix(8);
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    const auto db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), a.db);
      if (ec != std::errc() || p != db.data() + db.size() || a.db < 0) return bad("bad database");
    }
  }
  if (rest.find('@') != std::string_view::npos)
    return bad("credentials in the URL are not supported");
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    const auto port = rest.substr(colon + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (ec != std::errc() || p != port.data() + port.size() || a.port <= 0 || a.port > 65535)
      return bad("bad port");
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  a.host = std::string(rest);
  return a;
}

const std::string& process_instance_id() {
  static const std::string id = [] {
    std::random_device rd;
    const std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return std::string(buf);
  }();
  return id;
}

RedisLink::RedisLink(RedisAddress address, std::string what, std::string consequence)
    : address_(std::move(address)), what_(std::move(what)), consequence_(std::move(consequence)) {}

RedisLink::~RedisLink() {
  if (ctx_) redisFree(ctx_);
}

void RedisLink::down(const std::string& why) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  if (up_)
    spdlog::warn("{}: redis at {} unreachable ({}); {}", what_, address_.url, why, consequence_);
  up_ = false;
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

redisContext* RedisLink::get() {
  if (ctx_) return ctx_;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return nullptr;
  next_attempt_ = now + std::chrono::seconds(1);
  const auto ms = std::max<std::int64_t>(address_.timeout.count(), 1);
  const timeval tv{static_cast<long>(ms / 1000), static_cast<long>((ms % 1000) * 1000)};
  redisContext* c = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
  if (!c || c->err) {
    const std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    down(why);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  if (address_.db != 0) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "SELECT %d", address_.db));
    const bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    if (!ok) {
      redisFree(c);
      down("SELECT failed");
      return nullptr;
    }
  }
  ctx_ = c;
  ++connections_;
  if (!up_) spdlog::info("{}: redis at {} reachable again", what_, address_.url);
  up_ = true;
  return ctx_;
}

}  // namespace switchboard
