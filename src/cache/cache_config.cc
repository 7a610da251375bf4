#include "cache/cache_config.h"

#include <cmath>
#include <set>

#include "core/redis_link.h"

namespace switchboard::cache {
namespace {

struct Bad {
  std::string message;
};

class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}
  std::string where(const YAML::Node& n) const {
    auto m = n.Mark();
    if (m.is_null()) return source_;
    return source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& why) const {
    throw Bad{where(n) + ": " + why};
  }
  void keys(const YAML::Node& n, const std::set<std::string>& allowed,
            const std::string& what) const {
    if (!n.IsMap()) fail(n, what + " must be a mapping");
    for (const auto& kv : n) {
      const auto k = kv.first.as<std::string>();
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + k + "' in " + what + " (known: " + list + ")");
      }
    }
  }
  std::string str(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + " must be a string");
    return n.as<std::string>();
  }
  bool boolean(const YAML::Node& n, const std::string& what) const {
    bool b = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b))
      fail(n, what + " must be true or false");
    return b;
  }
  double number(const YAML::Node& n, const std::string& what, double lo, double hi) const {
    double d = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, d) || !std::isfinite(d) || d < lo ||
        d > hi)
      fail(n, what + " must be a number in [" + fmt(lo) + ", " + fmt(hi) + "]");
    return d;
  }
  static std::string fmt(double d) {
    std::string s = std::to_string(d);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

 private:
  const std::string& source_;
};

RedisSettings redis_store(const Reader& r, const YAML::Node& n) {
  YAML::Node url_node = n.IsMap() ? n["redis"] : n;
  if (n.IsMap()) r.keys(n, {"redis", "timeout_ms", "queue", "prefix"}, "a cache store");
  if (!url_node) r.fail(n, "a cache store needs `redis: URL`");
  auto parsed = parse_redis_url(r.str(url_node, "redis"));
  if (!parsed) r.fail(url_node, parsed.error().message);
  RedisSettings s = std::move(*parsed);
  if (n.IsMap()) {
    if (n["timeout_ms"])
      s.timeout = std::chrono::milliseconds(
          static_cast<long>(r.number(n["timeout_ms"], "timeout_ms", 1, 60'000)));
    if (n["queue"]) s.queue = static_cast<std::size_t>(r.number(n["queue"], "queue", 1, 1'000'000));
    if (n["prefix"]) s.prefix = r.str(n["prefix"], "prefix");
  }
  return s;
}

}  // namespace

bool CacheSettings::any_semantic() const {
  for (const auto& [_, rc] : routes)
    if (rc.semantic) return true;
  return false;
}

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

Result<CacheSettings> parse_cache_settings(const config::Config& config) {
  CacheSettings out;
  const Reader r(config.source);
  try {
    std::string default_store = "memory";
    if (auto it = config.sections.find("cache"); it != config.sections.end() && it->second) {
      const YAML::Node& top = it->second;
      r.keys(top, {"redis", "stores"}, "the cache section");
      if (top["redis"]) {
        out.stores["redis"] = redis_store(r, top["redis"]);
        default_store = "redis";
      }
      if (const YAML::Node stores = top["stores"]) {
        if (!stores.IsMap()) r.fail(stores, "cache.stores must be a mapping of names to stores");
        for (const auto& kv : stores) {
          const auto name = kv.first.as<std::string>();
          if (name == "memory") r.fail(kv.first, "'memory' is the in-process store's name");
          if (out.stores.count(name)) r.fail(kv.first, "cache store '" + name + "' defined twice");
          out.stores[name] = redis_store(r, kv.second);
        }
      }
    }
    for (const auto& route : config.routes) {
      auto it = route.sections.find("cache");
      if (it == route.sections.end() || !it->second) continue;
      const YAML::Node& n = it->second;
      RouteCache rc;
      CacheDef def;
      def.name = route.name;
      def.store = default_store;
      def.where = r.where(n);
      if (n.IsScalar()) {
        if (!r.boolean(n, "cache")) continue;
      } else {
        r.keys(n,
               {"enabled", "name", "store", "semantic", "threshold", "ttl_s", "max_entries",
                "max_bytes", "deterministic_only", "tools", "scope"},
               "a route's cache section");
        if (n["enabled"] && !r.boolean(n["enabled"], "enabled")) continue;
        if (n["name"]) def.name = r.str(n["name"], "name");
        if (n["store"]) {
          def.store = r.str(n["store"], "store");
          if (def.store != "memory" && !out.stores.count(def.store))
            r.fail(n["store"], "no cache store '" + def.store +
                                   "' (define it under the top-level cache.stores)");
        }
        if (n["semantic"]) rc.semantic = r.boolean(n["semantic"], "semantic");
        if (n["threshold"])
          rc.threshold = static_cast<float>(r.number(n["threshold"], "threshold", 0.5, 1.0));
        if (n["ttl_s"])
          def.limits.ttl = std::chrono::milliseconds(
              static_cast<long long>(1000 * r.number(n["ttl_s"], "ttl_s", 0.001, 365.0 * 86400)));
        if (n["max_entries"])
          def.limits.max_entries =
              static_cast<std::size_t>(r.number(n["max_entries"], "max_entries", 1, 1e8));
        if (n["max_bytes"])
          def.limits.max_bytes =
              static_cast<std::size_t>(r.number(n["max_bytes"], "max_bytes", 4096, 1e12));
        if (n["deterministic_only"])
          rc.deterministic_only = r.boolean(n["deterministic_only"], "deterministic_only");
        if (n["tools"]) rc.tools = r.boolean(n["tools"], "tools");
        if (n["scope"]) {
          const std::string scope = r.str(n["scope"], "scope");
          if (scope == "key") rc.scope = CacheScope::kKey;
          else if (scope == "team") rc.scope = CacheScope::kTeam;
          else if (scope == "route") rc.scope = CacheScope::kRoute;
          else r.fail(n["scope"], "cache.scope must be key, team or route, not '" + scope + "'");
        }
      }
      rc.cache = def.name;
      if (auto c = out.caches.find(def.name); c != out.caches.end()) {
        const CacheDef& o = c->second;
        if (o.store != def.store || o.limits.ttl != def.limits.ttl ||
            o.limits.max_entries != def.limits.max_entries ||
            o.limits.max_bytes != def.limits.max_bytes)
          r.fail(n, "route '" + route.name + "' shares cache '" + def.name + "' with " + o.where +
                        " but not its store and bounds (store, ttl_s, max_entries, max_bytes)");
      } else {
        out.caches.emplace(def.name, def);
      }
      out.routes.emplace(route.name, rc);
    }
  } catch (const Bad& b) {
    return make_error(ErrorKind::kBadRequest, "bad_config", b.message);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      config.source + ": cache section: " + e.what());
  }
  return out;
}

}  // namespace switchboard::cache
