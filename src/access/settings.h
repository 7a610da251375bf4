// The access settings from the gateway config (docs/keys.md); errors start with "file:line:col".
//
//   auth:
//     required: false        # true: every request needs a key (401 without one); false (default):
//                            # requests without a key (or with an unknown one) are served as today
//     keys_db: ./keys.db     # SQLite file of keys and usage; default: store.sqlite
//     reload_ms: 1000        # how often the gateway looks for keys created or revoked elsewhere
//     meter: true            # usage rows (key, team, route, model, hour) in keys_db
//     usage_retention_days: 400  # usage rows older than this are deleted (hourly); 0 keeps all
//   state:
//     redis: redis://127.0.0.1:6379/0   # share rate-limit and budget counters between gateways
//     fail_open: true        # Redis unreachable: keep serving on local counters (false: 503)
//     sync_ms: 20            # longest a local count waits before it is sent to Redis
//     timeout_ms: 100        # connect and each round trip of the sync thread
//     prefix: "sb:rl:"
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "config/config.h"
#include "switchboard/result.h"

namespace switchboard::access {

struct RedisSettings {
  std::string url;
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string prefix = "sb:rl:";
  bool fail_open = true;
  std::chrono::milliseconds sync{20};
  std::chrono::milliseconds timeout{100};
};

struct AccessSettings {
  bool configured = false;  // an `auth:` section is present
  bool required = false;
  std::string keys_db;
  std::chrono::milliseconds reload{1000};
  bool meter = true;
  std::int64_t usage_retention_days = 400;  // 0: never pruned; else >= 32
  std::optional<RedisSettings> redis;  // `state: {redis: ...}`
};

Result<AccessSettings> parse_access_settings(const config::Config& config);
// "redis://HOST[:PORT][/DB]".
Result<RedisSettings> parse_redis_url(const std::string& url);

}  // namespace switchboard::access
