#include "core/redis_link.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <string_view>
#include <cstdint>
#include <cstdarg>
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

namespace {

// The parsed values of a reply, counted through the reader's object functions (the reader's
// privdata points at the link's count; redis_get_reply resets it for every reply). A value over
// the bound is refused (null: hiredis's reader then fails with "Out of memory").
const redisReplyObjectFunctions* hiredis_functions = nullptr;

bool count_objects(const redisReadTask* task, std::size_t n) {
  auto* watch = static_cast<RedisLink::ReplyWatch*>(task->privdata);
  if (!watch) return true;
  std::size_t& count = watch->objects;
  if (n > kMaxRedisReplyObjects || count + n > kMaxRedisReplyObjects) {
    count = kMaxRedisReplyObjects + 1;  // refused: redis_get_reply names the bound
    return false;
  }
  count += n;
  return true;
}
void* counted_string(const redisReadTask* task, char* str, size_t len) {
  return count_objects(task, 1) ? hiredis_functions->createString(task, str, len) : nullptr;
}
void* counted_array(const redisReadTask* task, int elements) {
  // The array counts as one value (its elements count as they come); an announced size past the
  // bound is refused before hiredis allocates room for it.
  if (static_cast<std::size_t>(std::max(elements, 0)) > kMaxRedisReplyObjects) {
    count_objects(task, kMaxRedisReplyObjects + 1);
    return nullptr;
  }
  return count_objects(task, 1) ? hiredis_functions->createArray(task, elements) : nullptr;
}
void* counted_integer(const redisReadTask* task, long long value) {
  return count_objects(task, 1) ? hiredis_functions->createInteger(task, value) : nullptr;
}
void* counted_nil(const redisReadTask* task) {
  return count_objects(task, 1) ? hiredis_functions->createNil(task) : nullptr;
}
redisReplyObjectFunctions counted_functions;

int fail(redisContext* c, int err, const std::string& why) {
  c->err = err;
  std::snprintf(c->errstr, sizeof c->errstr, "%s", why.c_str());
  return REDIS_ERR;
}

}  // namespace

int redis_get_reply(redisContext* c, void** reply) {
  auto* watch = static_cast<RedisLink::ReplyWatch*>(c->reader->privdata);
  std::size_t* count = watch ? &watch->objects : nullptr;
  if (count) *count = 0;
  auto over_objects = [&] {
    return fail(c, REDIS_ERR_OOM,
                "reply of more than " + std::to_string(kMaxRedisReplyObjects) + " values");
  };
  void* aux = nullptr;
  if (redisGetReplyFromReader(c, &aux) == REDIS_ERR)
    return count && *count > kMaxRedisReplyObjects ? over_objects() : REDIS_ERR;
  if (!aux) {
    int written = 0;
    do {
      if (redisBufferWrite(c, &written) == REDIS_ERR) return REDIS_ERR;
    } while (!written);
    // The reply as a whole: the connection's timeout (each read's bound), at least a second (a
    // large reply from a healthy server may take longer than one read may wait).
    const auto timeout = c->timeout ? std::chrono::seconds(c->timeout->tv_sec) +
                                          std::chrono::microseconds(c->timeout->tv_usec)
                                    : std::chrono::microseconds(0);
    const auto deadline = std::chrono::steady_clock::now() +
                          std::max<std::chrono::microseconds>(timeout, std::chrono::seconds(1));
    std::size_t received = 0;
    do {
      const std::size_t before = c->reader->len;
      if (redisBufferRead(c) == REDIS_ERR) return REDIS_ERR;
      received += c->reader->len - std::min(before, c->reader->len);
      if (received > kMaxRedisReplyBytes)
        return fail(c, REDIS_ERR_IO,
                    "reply over " + std::to_string(kMaxRedisReplyBytes >> 20) + " MiB");
      if (redisGetReplyFromReader(c, &aux) == REDIS_ERR)
        return count && *count > kMaxRedisReplyObjects ? over_objects() : REDIS_ERR;
      if (!aux && std::chrono::steady_clock::now() >= deadline)
        return fail(c, REDIS_ERR_IO, "reply not whole within the timeout");
    } while (!aux);
  }
  if (watch && watch->link && static_cast<redisReply*>(aux)->type == REDIS_REPLY_ERROR)
    watch->link->error_reply(redis_text(static_cast<redisReply*>(aux)));
  if (reply)
    *reply = aux;
  else
    freeReplyObject(aux);
  return REDIS_OK;
}

redisReply* redis_command(redisContext* c, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  const int appended = redisvAppendCommand(c, format, ap);
  va_end(ap);
  void* reply = nullptr;
  if (appended != REDIS_OK || redis_get_reply(c, &reply) != REDIS_OK) return nullptr;
  return static_cast<redisReply*>(reply);
}

redisReply* redis_command_argv(redisContext* c, int argc, const char** argv, const size_t* lens) {
  void* reply = nullptr;
  if (redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK ||
      redis_get_reply(c, &reply) != REDIS_OK)
    return nullptr;
  return static_cast<redisReply*>(reply);
}

std::string_view redis_text(const redisReply* r) {
  return r && r->str ? std::string_view(r->str, r->len) : std::string_view();
}

bool is_stream_id(std::string_view id) {
  auto number = [](std::string_view digits) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    return !digits.empty() && ec == std::errc() && end == digits.data() + digits.size();
  };
  const auto dash = id.find('-');
  if (dash == std::string_view::npos) return number(id);
  return number(id.substr(0, dash)) && number(id.substr(dash + 1));
}

RedisLink::RedisLink(RedisAddress address, std::string what, std::string consequence)
    : address_(std::move(address)), what_(std::move(what)), consequence_(std::move(consequence)) {}

RedisLink::~RedisLink() {
  if (ctx_) redisFree(ctx_);
}

void RedisLink::error_reply(std::string_view text) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  if (text == last_error_reply_ && now - last_error_log_ < std::chrono::minutes(1)) return;
  last_error_reply_ = std::string(text);
  last_error_log_ = now;
  spdlog::warn("{}: redis at {} refused a command ({}); {}", what_, address_.url, text,
               consequence_);
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
  // Count the values of every reply (redis_get_reply). Set up once: static initialisation order
  // cannot be relied on for hiredis's own table, and every context shares it.
  static const bool counted = [c] {
    hiredis_functions = c->reader->fn;
    counted_functions = *hiredis_functions;
    counted_functions.createString = counted_string;
    counted_functions.createArray = counted_array;
    counted_functions.createInteger = counted_integer;
    counted_functions.createNil = counted_nil;
    return true;
  }();
  (void)counted;
  c->reader->fn = &counted_functions;
  reply_watch_.link = nullptr;  // the set-up's errors are the connection's: down() says them
  c->reader->privdata = &reply_watch_;
  // A server that takes the connection and refuses every command (it wants a password, it is
  // loading) is not reachable: said once, with its own words, not as a recovery every second.
  const std::string select = "SELECT " + std::to_string(address_.db);
  for (const std::string& command : {address_.db != 0 ? select : std::string(), std::string("PING")}) {
    if (command.empty()) continue;
    auto* r = redis_command(c, command.c_str());
    std::string why;
    if (!r)
      why = c->errstr[0] ? c->errstr : "no reply";
    else if (r->type == REDIS_REPLY_ERROR)
      why = command.substr(0, command.find(' ')) + ": " + std::string(redis_text(r));
    if (r) freeReplyObject(r);
    if (!why.empty()) {
      redisFree(c);
      down(why);
      return nullptr;
    }
  }
  reply_watch_.link = report_error_replies_ ? this : nullptr;
  ctx_ = c;
  ++connections_;
  if (!up_) spdlog::info("{}: redis at {} reachable again", what_, address_.url);
  up_ = true;
  return ctx_;
}

}  // namespace switchboard
