#include "cache/redis_store.h"
#include "core/wall_clock.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstring>

namespace switchboard::cache {
namespace {

struct RedisDown {
  std::string why;
};

struct ReplyPtr {
  redisReply* r = nullptr;
  ~ReplyPtr() {
    if (r) freeReplyObject(r);
  }
  redisReply* operator->() const { return r; }
};

std::string features_bytes(const Features& f) {
  std::string out;
  auto put32 = [&](std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  auto put_vec = [&](const std::vector<std::uint64_t>& v) {
    put32(static_cast<std::uint32_t>(v.size()));
    out.append(reinterpret_cast<const char*>(v.data()), v.size() * 8);
  };
  put32(static_cast<std::uint32_t>(f.negations));
  put_vec(f.numbers);
  put_vec(f.polarity);
  put_vec(f.entities);
  put_vec(f.operators);
  out.append(reinterpret_cast<const char*>(&f.unknown), 8);
  return out;
}

std::optional<Features> features_from(std::string_view b) {
  Features f;
  std::size_t pos = 0;
  auto get32 = [&](std::uint32_t& v) {
    if (pos + 4 > b.size()) return false;
    std::memcpy(&v, b.data() + pos, 4);
    pos += 4;
    return true;
  };
  auto get_vec = [&](std::vector<std::uint64_t>& v) {
    std::uint32_t n = 0;
    if (!get32(n) || pos + std::size_t{n} * 8 > b.size()) return false;
    v.resize(n);
    // memcpy from/to a null pointer is undefined even for 0 bytes (UBSan, integration.cache_redis).
    if (n > 0) std::memcpy(v.data(), b.data() + pos, std::size_t{n} * 8);
    pos += std::size_t{n} * 8;
    return true;
  };
  std::uint32_t neg = 0;
  // An entry written before operators (or unknown words) were kept has none: unusable (it
  // expires), never a match.
  if (!get32(neg) || !get_vec(f.numbers) || !get_vec(f.polarity) || !get_vec(f.entities) ||
      !get_vec(f.operators) || pos + 8 > b.size())
    return std::nullopt;
  std::memcpy(&f.unknown, b.data() + pos, 8);
  f.negations = static_cast<int>(neg);
  return f;
}

std::string_view str(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return {r->str, r->len};
}

}  // namespace

RedisStore::RedisStore(RedisSettings settings, std::string cache_name, Limits limits,
                       std::size_t dim)
    : settings_(std::move(settings)),
      prefix_(settings_.prefix + cache_name + ":"),
      limits_(limits),
      link_(RedisAddress{settings_.url, settings_.host, settings_.port, settings_.db,
                         settings_.timeout},
            "cache", "requests bypass the cache until it is back"),
      index_(dim) {
  thread_ = std::thread([this] { loop(); });
}

RedisStore::~RedisStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool RedisStore::submit(std::function<void()> run) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= settings_.queue) return false;
    queue_.push_back({Clock::now(), std::move(run)});
  }
  wake_.notify_one();
  return true;
}

void RedisStore::loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.run();
  }
}

bool RedisStore::connected() {
  ctx_ = link_.get();
  if (!ctx_) return false;
  if (link_.connections() != connection_) {
    // A new connection may be to a restarted (emptied) server: resync the local index from
    // scratch.
    connection_ = link_.connections();
    index_.clear();
    label_of_.clear();
    id_of_.clear();
    synced_seq_ = 0;
  }
  return true;
}

namespace {
// One command; throws RedisDown (and drops the connection) on an I/O error or timeout.
ReplyPtr command(RedisLink& link, redisContext*& ctx, std::initializer_list<std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = redis_command_argv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (!r) {
    std::string why = ctx->errstr[0] ? ctx->errstr : "no reply";
    link.down(why);  // frees the connection; logged once per outage
    ctx = nullptr;
    throw RedisDown{why};
  }
  return ReplyPtr{r};
}
}  // namespace

void RedisStore::forget(const std::string& id) {
  auto it = label_of_.find(id);
  if (it == label_of_.end()) return;
  index_.remove(it->second);
  id_of_.erase(it->second);
  label_of_.erase(it);
}

void RedisStore::sync() {
  if (index_.size() > 2 * limits_.max_entries + 16) {  // entries evicted elsewhere pile up: restart
    index_.clear();
    label_of_.clear();
    id_of_.clear();
    synced_seq_ = 0;
  }
  // In pages, and a bounded number of them per call: a large log read at once was one reply past
  // the Redis reply bounds (core/redis_link.h), and one call that long would hold the lookups
  // queued behind it. What is left is read by the next calls.
  constexpr int kPage = 2000, kPagesPerSync = 8;
  for (int page = 0; page < kPagesPerSync; ++page)
    if (sync_page(kPage) < static_cast<std::size_t>(kPage)) return;
}

std::size_t RedisStore::sync_page(int count) {
  const std::string from = "(" + std::to_string(static_cast<long long>(synced_seq_));
  const std::string log = prefix_ + "log";
  const std::string limit = std::to_string(count);
  ReplyPtr ids = command(link_, ctx_,
                         {"ZRANGEBYSCORE", log, from, "+inf", "WITHSCORES", "LIMIT", "0", limit});
  if (ids->type != REDIS_REPLY_ARRAY) return 0;
  for (std::size_t i = 0; i + 1 < ids->elements; i += 2) {
    const std::string id(str(ids->element[i]));
    const double seq = std::strtod(std::string(str(ids->element[i + 1])).c_str(), nullptr);
    synced_seq_ = std::max(synced_seq_, seq);
    if (label_of_.count(id)) continue;
    const std::string key = prefix_ + "e:" + id;
    ReplyPtr m = command(link_, ctx_, {"HMGET", key, "p", "f", "v"});
    if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
        m->element[0]->type != REDIS_REPLY_STRING) {
      // Expired or evicted: drop it from the log and the LRU set too.
      command(link_, ctx_, {"ZREM", log, id});
      command(link_, ctx_, {"ZREM", prefix_ + "lru", id});
      continue;
    }
    const std::string_view p = str(m->element[0]), f = str(m->element[1]), v = str(m->element[2]);
    std::uint64_t partition = 0;
    std::from_chars(p.data(), p.data() + p.size(), partition);
    auto features = features_from(f);
    if (!features || v.size() != index_.dim() * sizeof(float)) continue;
    std::vector<float> emb(index_.dim());
    std::memcpy(emb.data(), v.data(), v.size());
    if (!unit_embedding(emb)) continue;  // NaN or not normalised: it would match anything
    const std::uint64_t label = next_label_++;
    index_.add(label, partition, std::move(*features), emb);
    label_of_[id] = label;
    id_of_[label] = id;
  }
  return ids->elements / 2;
}

std::optional<Hit> RedisStore::find(const Query& q) {
  auto fetch = [&](const std::string& id, float sim, bool exact) -> std::optional<Hit> {
    ReplyPtr a = command(link_, ctx_, {"HGET", prefix_ + "e:" + id, "a"});
    auto answer = Answer::deserialise(str(a.r));
    if (!answer) return std::nullopt;
    const std::string now = std::to_string(unix_ms());
    command(link_, ctx_, {"ZADD", prefix_ + "lru", now, id});
    return Hit{id, sim, exact, std::move(*answer)};
  };
  ReplyPtr x = command(link_, ctx_, {"GET", prefix_ + "x:" + q.exact.hex()});
  if (auto id = str(x.r); !id.empty()) {
    if (auto hit = fetch(std::string(id), 1.0f, true)) return hit;
  }
  if (q.embedding.empty()) return std::nullopt;
  sync();
  for (const auto& c : index_.search(q.embedding, q.partition, q.features, q.threshold)) {
    const std::string id = id_of_.at(c.label);
    if (auto hit = fetch(id, c.similarity, false)) return hit;
    forget(id);  // expired or evicted by another gateway
  }
  return std::nullopt;
}

void RedisStore::put(const Entry& e) {
  const std::string id = new_entry_id();
  const std::string key = prefix_ + "e:" + id, xkey = prefix_ + "x:" + e.exact.hex();
  const std::string ttl = std::to_string(std::max<long long>(1, limits_.ttl.count()));
  const std::string partition = std::to_string(e.partition);
  const std::string features = features_bytes(e.features);
  const std::string_view emb(reinterpret_cast<const char*>(e.embedding.data()),
                             e.embedding.size() * sizeof(float));
  const std::string answer = e.answer.serialise();
  const std::string exact = e.exact.hex();
  command(link_, ctx_, {"HSET", key, "x", exact, "p", partition, "f", features, "v", emb, "a", answer});
  command(link_, ctx_, {"PEXPIRE", key, ttl});
  command(link_, ctx_, {"SET", xkey, id, "PX", ttl});
  ReplyPtr seq = command(link_, ctx_, {"INCR", prefix_ + "seq"});
  const std::string seq_s = std::to_string(seq->type == REDIS_REPLY_INTEGER ? seq->integer : 0);
  if (!e.embedding.empty()) command(link_, ctx_, {"ZADD", prefix_ + "log", seq_s, id});
  const std::string now = std::to_string(unix_ms());
  command(link_, ctx_, {"ZADD", prefix_ + "lru", now, id});
  ReplyPtr n = command(link_, ctx_, {"ZCARD", prefix_ + "lru"});
  if (n->type == REDIS_REPLY_INTEGER &&
      static_cast<std::size_t>(n->integer) > limits_.max_entries) {
    const std::string excess =
        std::to_string(static_cast<std::size_t>(n->integer) - limits_.max_entries);
    ReplyPtr old = command(link_, ctx_, {"ZPOPMIN", prefix_ + "lru", excess});
    if (old->type == REDIS_REPLY_ARRAY) {
      for (std::size_t i = 0; i + 1 < old->elements; i += 2) {
        const std::string victim(str(old->element[i]));
        command(link_, ctx_, {"DEL", prefix_ + "e:" + victim});
        command(link_, ctx_, {"ZREM", prefix_ + "log", victim});
        forget(victim);
      }
    }
  }
}

bool RedisStore::lookup(Query q, Done done) {
  return submit([this, q = std::move(q), done = std::move(done), queued = Clock::now()]() {
    if (Clock::now() - queued > settings_.timeout) {
      done(make_error(ErrorKind::kUpstreamTimeout, "cache_timeout", "redis queue too slow"));
      return;
    }
    if (!connected()) {
      done(make_error(ErrorKind::kUnavailable, "cache_unavailable", "redis unreachable"));
      return;
    }
    try {
      done(find(q));
    } catch (const RedisDown& d) {
      done(make_error(ErrorKind::kUnavailable, "cache_unavailable", "redis: " + d.why));
    }
  });
}

void RedisStore::insert(Entry e) {
  submit([this, e = std::move(e)]() {
    if (!connected()) return;
    try {
      put(e);
    } catch (const RedisDown&) {
      // Logged by the link (once per outage); the entry is not stored.
    }
  });
}

}  // namespace switchboard::cache
