#include "admin/reloader.h"

#include "admin/config_mask.h"
#include "core/wall_clock.h"

#include "access/settings.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "pipeline/runtime.h"

namespace switchboard::admin {
Reloader::Reloader(std::string path, std::shared_ptr<const config::Config> loaded,
                   pipeline::Gateway& gateway)
    : path_(std::move(path)), gateway_(gateway), file_config_(loaded), startup_(std::move(loaded)) {
  loaded_at_ms_ = unix_ms();
}

std::shared_ptr<const config::Config> Reloader::config() const {
  std::lock_guard lock(mu_);
  return file_config_;
}

std::optional<Error> Reloader::would_not_start(const config::Config& c) {
  const auto bad = [](std::string message) {
    return make_error(ErrorKind::kBadRequest, "bad_config", std::move(message));
  };
  if (c.admin.enabled && !c.admin.key_env.empty()) {
    const char* key = std::getenv(c.admin.key_env.c_str());
    if (!key || !*key)
      return bad(c.admin.where + ": admin.key_env names $" + c.admin.key_env +
                 ", which is not set (or empty): the gateway would not start with this file");
  }
  std::error_code ec;
  if (!c.store.sqlite_path.empty() && std::filesystem::is_directory(c.store.sqlite_path, ec))
    return bad("store.sqlite " + c.store.sqlite_path +
               " is a directory: the gateway would not start with this file");
  return std::nullopt;
}

std::vector<std::string> Reloader::restart_only_changes(const config::Config& a,
                                                        const config::Config& b) {
  std::vector<std::string> out;
  const auto& s = a.server;
  const auto& t = b.server;
  if (s.host != t.host || s.port != t.port) out.push_back("listen");
  if (s.threads != t.threads || s.max_body_bytes != t.max_body_bytes ||
      s.max_header_bytes != t.max_header_bytes || s.idle_timeout != t.idle_timeout ||
      s.body_timeout != t.body_timeout || s.write_timeout != t.write_timeout ||
      s.drain_timeout != t.drain_timeout || s.max_connections != t.max_connections ||
      s.max_body_budget_bytes != t.max_body_budget_bytes ||
      s.upstream_idle_timeout != t.upstream_idle_timeout)
    out.push_back("server");
  if (a.store.sqlite_path != b.store.sqlite_path ||
      a.store.retention_days != b.store.retention_days || a.store.max_rows != b.store.max_rows)
    out.push_back("store");
  const auto& x = a.admin;
  const auto& y = b.admin;
  if (x.enabled != y.enabled || x.host != y.host || x.port != y.port || x.key_env != y.key_env ||
      x.public_metrics != y.public_metrics || x.public_decisions != y.public_decisions ||
      x.allowed_hosts != y.allowed_hosts)
    out.push_back("admin");
  // The key service runs on as it started while its database and Redis stay the same (a reload
  // that names others starts a new one); `auth.required` is the new runtime's at once.
  auto auth_a = access::parse_access_settings(a);
  auto auth_b = access::parse_access_settings(b);
  const auto same_redis = [](const auto& p, const auto& q) {
    return p.redis.has_value() == q.redis.has_value() &&
           (!p.redis || (p.redis->url == q.redis->url && p.redis->prefix == q.redis->prefix));
  };
  if (auth_a && auth_b && auth_a->configured && auth_b->configured &&
      auth_a->keys_db == auth_b->keys_db && same_redis(*auth_a, *auth_b)) {
    const auto& p = *auth_a;
    const auto& q = *auth_b;
    if (p.reload != q.reload || p.meter != q.meter ||
        p.usage_retention_days != q.usage_retention_days)
      out.push_back("auth");
    if (p.redis && (p.redis->fail_open != q.redis->fail_open || p.redis->sync != q.redis->sync ||
                    p.redis->timeout != q.redis->timeout))
      out.push_back("state");
  }
  return out;
}

Result<nlohmann::json> Reloader::reload(const std::string& trigger) {
  std::lock_guard one(reload_mu_);
  const auto started = std::chrono::steady_clock::now();
  auto fail = [&](Error e) -> Result<nlohmann::json> {
    failures_.fetch_add(1);
    // The message may quote config values: a URL's password is masked before it is logged or
    // shown (the admin API's answer, the dashboard), as /admin/config masks it.
    e.message = mask_urls_in(e.message);
    spdlog::error("reload ({}) refused, the running config keeps serving: {}", trigger, e.message);
    return e;
  };
  auto cfg = config::load_config(path_);
  if (!cfg) return fail(cfg.error());
  auto runtime = pipeline::build_runtime(*cfg);
  if (!runtime) return fail(runtime.error());
  const auto restart = restart_only_changes(*startup_, **cfg);
  // Settings that take effect at the next start: a file that could not start is refused now, not
  // found at the next restart.
  if (auto e = would_not_start(**cfg)) return fail(*e);
  const std::size_t models = (*cfg)->models.size(), routes = (*cfg)->routes.size();
  const std::size_t carried = gateway_.replace_runtime(std::move(*runtime));
  {
    std::lock_guard lock(mu_);
    file_config_ = *cfg;
  }
  const auto generation = generation_.fetch_add(1) + 1;
  loaded_at_ms_ = unix_ms();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::string restart_text;
  for (const auto& r : restart) restart_text += (restart_text.empty() ? "" : ", ") + r;
  if (!restart.empty())
    spdlog::warn("reload ({}): {} changed in {}; it takes effect only on restart", trigger,
                 restart_text, path_);
  spdlog::info("reload ({}) #{}: {} models, {} routes, {} replicas kept their state, {:.0f} ms",
               trigger, generation, models, routes, carried, ms);
  return nlohmann::json{{"status", "reloaded"},
                        {"generation", generation},
                        {"source", path_},
                        {"ms", ms},
                        {"models", models},
                        {"routes", routes},
                        {"carried_replicas", carried},
                        {"restart_required", restart}};
}

}  // namespace switchboard::admin
