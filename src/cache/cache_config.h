// The cache's settings, read from the `cache:` sections of the gateway config (the top-level one
// and each route's), checked here; every error starts with "file:line:col". Documented in
// docs/cache.md.
//
//   cache:                                   # top level, optional
//     redis: redis://127.0.0.1:6379/0        # shorthand: store "redis", the default of every route
//     stores:                                # named shared stores
//       shared: {redis: redis://10.0.0.5:6379, timeout_ms: 50, queue: 1024, prefix: "sb:cache:"}
//   routes:
//     - name: faq
//       cache:                               # or `cache: on` for the defaults
//         name: faq                          # routes naming the same cache share its entries
//         store: memory                      # memory (default without a top-level redis) | a store
//         semantic: true                     # also near-duplicates, not only exact repeats
//         threshold: 0.92                    # cosine; default kDefaultThreshold (docs/cache.md)
//         ttl_s: 3600
//         max_entries: 10000
//         max_bytes: 67108864
//         deterministic_only: true           # temperature 0/unset, no legacy functions, n = 1
//         tools: true                        # requests with tools, and tool-call answers (exact only)
//         scope: key                         # key | team | route: who shares answers (CacheScope)
//
// Routes sharing a cache must agree on its store and bounds (ttl_s, max_entries, max_bytes).
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "cache/store.h"
#include "config/config.h"
#include "switchboard/result.h"

namespace switchboard::cache {

// Chosen on the tuning half of tests/data/cache_pairs.jsonl (docs/cache.md): the lowest threshold
// (best hit rate) whose precision there is at least kTuningPrecision.
inline constexpr float kDefaultThreshold = 0.98f;
inline constexpr double kTuningPrecision = 0.95;

struct RedisSettings {
  std::string url;
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::chrono::milliseconds timeout{50};  // connect and each command; a lookup waits at most 2x
  std::size_t queue = 1024;               // jobs waiting for the Redis thread; more are bypassed
  std::string prefix = "sb:cache:";
};

struct CacheDef {
  std::string name;
  std::string store;  // "memory" or the name of a Redis store
  Limits limits;
  std::string where;  // of the first route naming it
};

// Who shares a cache's answers (with API keys; without them every request is everyone's):
// kKey — each key its own (default: a tenant's prompts and answers stay its own), kTeam — the
// keys of one team, kRoute — every caller of the routes naming the cache.
enum class CacheScope { kKey, kTeam, kRoute };

struct RouteCache {
  std::string cache;  // CacheDef::name
  CacheScope scope = CacheScope::kKey;
  bool semantic = true;
  float threshold = kDefaultThreshold;
  bool deterministic_only = true;
  bool tools = true;  // false: requests carrying `tools` bypass
};

struct CacheSettings {
  std::map<std::string, RedisSettings, std::less<>> stores;
  std::map<std::string, CacheDef, std::less<>> caches;
  std::map<std::string, RouteCache, std::less<>> routes;  // by route name; only cached routes
  bool any_semantic() const;
};

Result<CacheSettings> parse_cache_settings(const config::Config& config);
Result<RedisSettings> parse_redis_url(const std::string& url);

}  // namespace switchboard::cache
