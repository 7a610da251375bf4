#include "access/settings.h"

#include <set>

#include "core/redis_link.h"

namespace switchboard::access {
namespace {

struct Bad {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}
  [[noreturn]] void fail(const YAML::Node& n, const std::string& why) const {
    auto m = n.Mark();
    std::string where = source_;
    if (!m.is_null())
      where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    throw Bad{where + ": " + why};
  }
  void keys(const YAML::Node& n, std::initializer_list<const char*> allowed,
            const std::string& what) const {
    if (!n.IsMap()) fail(n, what + " must be a mapping");
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : n) {
      const auto k = kv.first.as<std::string>();
      if (!ok.count(k)) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + k + "' in " + what + " (allowed: " + list + ")");
      }
    }
  }
  bool boolean(const YAML::Node& n, const std::string& what) const {
    try {
      if (n.IsScalar()) return n.as<bool>();
    } catch (const YAML::Exception&) {
    }
    fail(n, what + " must be true or false");
  }
  std::string str(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar() || n.Scalar().empty()) fail(n, what + " must be a non-empty string");
    return n.Scalar();
  }
  std::chrono::milliseconds millis(const YAML::Node& n, const std::string& what) const {
    std::int64_t v = 0;
    try {
      if (n.IsScalar()) v = n.as<std::int64_t>();
    } catch (const YAML::Exception&) {
    }
    if (v <= 0) fail(n, what + " must be a whole number of milliseconds > 0");
    return std::chrono::milliseconds(v);
  }
  std::int64_t whole(const YAML::Node& n, const std::string& what, std::int64_t min) const {
    std::int64_t v = -1;
    try {
      if (n.IsScalar()) v = n.as<std::int64_t>();
    } catch (const YAML::Exception&) {
    }
    if (v != 0 && v < min) fail(n, what + " must be 0 or a whole number >= " + std::to_string(min));
    return v;
  }

 private:
  std::string source_;
};

}  // namespace

Result<RedisSettings> parse_redis_url(const std::string& url) {
  auto address = parse_redis_address(url);
  if (!address) return address.error();
  RedisSettings s;
  s.url = address->url;
  s.host = address->host;
  s.port = address->port;
  s.db = address->db;
  return s;
}

Result<AccessSettings> parse_access_settings(const config::Config& config) {
  AccessSettings out;
  out.keys_db = config.store.sqlite_path;
  Reader r(config.source);
  try {
    if (auto it = config.sections.find("auth"); it != config.sections.end()) {
      const YAML::Node& a = it->second;
      out.configured = true;
      if (!a.IsNull()) {
        r.keys(a, {"required", "keys_db", "reload_ms", "meter", "usage_retention_days"},
               "the auth section");
        if (a["required"]) out.required = r.boolean(a["required"], "auth.required");
        if (a["keys_db"]) out.keys_db = r.str(a["keys_db"], "auth.keys_db");
        if (a["reload_ms"]) out.reload = r.millis(a["reload_ms"], "auth.reload_ms");
        if (a["meter"]) out.meter = r.boolean(a["meter"], "auth.meter");
        // At least a month and a day: budgets are restored from this month's rows at start-up.
        if (a["usage_retention_days"])
          out.usage_retention_days =
              r.whole(a["usage_retention_days"], "auth.usage_retention_days", 32);
      }
    }
    if (auto it = config.sections.find("state"); it != config.sections.end()) {
      const YAML::Node& st = it->second;
      r.keys(st, {"redis", "fail_open", "sync_ms", "timeout_ms", "prefix"}, "the state section");
      if (!st["redis"]) r.fail(st, "state needs `redis: URL` (redis://HOST:PORT[/DB])");
      auto parsed = parse_redis_url(r.str(st["redis"], "state.redis"));
      if (!parsed) r.fail(st["redis"], parsed.error().message);
      RedisSettings rs = *parsed;
      if (st["fail_open"]) rs.fail_open = r.boolean(st["fail_open"], "state.fail_open");
      if (st["sync_ms"]) rs.sync = r.millis(st["sync_ms"], "state.sync_ms");
      if (st["timeout_ms"]) rs.timeout = r.millis(st["timeout_ms"], "state.timeout_ms");
      if (st["prefix"]) rs.prefix = r.str(st["prefix"], "state.prefix");
      out.redis = std::move(rs);
    }
  } catch (const Bad& b) {
    return make_error(ErrorKind::kBadRequest, "bad_config", b.message);
  }
  return out;
}

}  // namespace switchboard::access
