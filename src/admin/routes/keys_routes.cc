// Virtual API key management on the admin listener (docs/keys.md, docs/admin.md):
//
//   GET    /admin/keys[?revoked=1]       the keys (never a hash or a secret)
//   POST   /admin/keys                   {"name", "team", "allow": {...}, "limits": {...}} -> 201
//                                        with the key and its secret (shown this once), and
//                                        `warnings` naming allowed routes/models the running
//                                        config lacks (access/unknown_names.h)
//   DELETE /admin/keys/{name or id}      revokes it
//   GET    /admin/usage?by=key|team|route|model|hour[&since_ms=N]
//
// The same operations as `switchboard keys`, on the keys database of the running config
// (`auth.keys_db`, else `store.sqlite`). Every call runs on the admin pool (SQLite blocks) and,
// after a change, tells the running gateways at once (AccessService::reload_all). Without an
// `auth:` section the routes answer 404 `auth_not_configured`.
#include <charconv>
#include <nlohmann/json.hpp>

#include "access/key.h"
#include "access/key_store.h"
#include "access/meter.h"
#include "access/service.h"
#include "access/settings.h"
#include "access/unknown_names.h"
#include "admin/admin_services.h"
#include "api/errors.h"
#include "api/json_util.h"

namespace switchboard::admin {
namespace {
using http::bhttp::verb;

http::Response error_reply(const Error& e) {
  return json_response(http_status(e.kind), api::error_json(e));
}

// The keys database of the running config, or the error to answer.
Result<std::string> keys_db(AdminServices& s) {
  const auto cfg = s.reloader.config();
  if (!cfg->sections.contains("auth"))
    return make_error(ErrorKind::kNotFound, "auth_not_configured",
                      "the running config has no auth: section (docs/keys.md)");
  auto settings = access::parse_access_settings(*cfg);
  if (!settings) return settings.error();
  return settings->keys_db;
}

Result<access::KeySpec> spec_from_body(std::string_view body) {
  // One object, nesting bounded, no key repeated at any depth (a repeated `usd_per_day` or
  // `allow` would otherwise be read by its last value, which a reviewer of the body may not see).
  auto parsed = api::parse_request_object(body);
  if (!parsed) return parsed.error();
  const nlohmann::json& j = *parsed;
  access::KeySpec spec;
  try {
    for (const auto& [k, v] : j.items())
      if (k != "name" && k != "team" && k != "allow" && k != "limits")
        return make_error(ErrorKind::kBadRequest, "invalid_key_spec", "unknown field: " + k);
    if (!j.contains("name") || !j["name"].is_string())
      return make_error(ErrorKind::kBadRequest, "invalid_key_spec", "name: a string is required");
    spec.name = j["name"].get<std::string>();
    if (j.contains("team")) {
      if (!j["team"].is_string())
        return make_error(ErrorKind::kBadRequest, "invalid_key_spec", "team must be a string");
      spec.team = j["team"].get<std::string>();
    }
    if (j.contains("allow")) {
      auto allow = access::parse_permissions(j["allow"]);
      if (!allow) return allow.error();
      spec.allow = std::move(*allow);
    }
    if (j.contains("limits")) {
      auto limits = access::parse_limits(j["limits"]);
      if (!limits) return limits.error();
      spec.limits = *limits;
    }
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kBadRequest, "invalid_key_spec", e.what());
  }
  return spec;
}

// Runs `work` (given the keys database) on the admin pool; answers its JSON with `status`.
// `work` is the caller's named local (no temporary with a destructor inside a co_await: GCC 12).
using StoreWork = std::function<Result<nlohmann::json>(const std::string&)>;
asio::awaitable<http::Response> with_store(AdminServices& s, unsigned status,
                                           const StoreWork& work) {
  auto db = keys_db(s);
  if (!db) co_return error_reply(db.error());
  const std::string path = *db;
  const std::function<Result<nlohmann::json>()> job = [&] { return work(path); };
  Result<nlohmann::json> got = co_await blocking<Result<nlohmann::json>>(s.pool, &job);
  if (!got) co_return error_reply(got.error());
  co_return json_response(status, got->dump());
}

const AdminRouteRegistrar kKeys("keys", [](AdminRoutes& routes, AdminServices& s) {
  routes.add(verb::get, "/admin/keys", [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
    const bool revoked = req.param("revoked") == "1" || req.param("revoked") == "true";
    const StoreWork work = [revoked](const std::string& db) -> Result<nlohmann::json> {
      auto store = access::KeyStore::open(db);
      if (!store) return store.error();
      auto keys = (*store)->list(revoked);
      if (!keys) return keys.error();
      nlohmann::json data = nlohmann::json::array();
      for (const auto& k : *keys) data.push_back(access::key_json(k));
      return nlohmann::json{{"object", "list"}, {"data", std::move(data)}};
    };
    co_return co_await with_store(s, 200, work);
  });
  routes.add(verb::post, "/admin/keys", [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
    auto spec = spec_from_body(req.http.body());
    if (!spec) co_return error_reply(spec.error());
    const std::vector<std::string> warnings =
        access::unknown_names(spec->allow, *s.reloader.config());
    const StoreWork work = [spec = *spec,
                            &warnings](const std::string& db) -> Result<nlohmann::json> {
      auto store = access::KeyStore::open(db);
      if (!store) return store.error();
      auto created = (*store)->create(spec);
      if (!created) return created.error();
      access::AccessService::reload_all();
      nlohmann::json out = access::key_json(created->key);
      out["secret"] = created->secret;
      if (!warnings.empty()) out["warnings"] = warnings;
      return out;
    };
    co_return co_await with_store(s, 201, work);
  });
  routes.add_prefix(
      verb::delete_, "/admin/keys/", [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
        const StoreWork work =
            [which = std::string(req.rest)](const std::string& db) -> Result<nlohmann::json> {
          auto store = access::KeyStore::open(db);
          if (!store) return store.error();
          auto revoked = (*store)->revoke(which);
          if (!revoked) return revoked.error();
          access::AccessService::reload_all();
          return access::key_json(*revoked);
        };
        co_return co_await with_store(s, 200, work);
      });
  routes.add(verb::get, "/admin/usage", [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
    std::string by(req.param("by").empty() ? std::string_view("key") : req.param("by"));
    std::int64_t since = 0;
    if (auto p = req.param("since_ms"); !p.empty()) {
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), since);
      if (ec != std::errc{} || end != p.data() + p.size())
        co_return error_reply(
            make_error(ErrorKind::kBadRequest, "invalid_request", "since_ms: a whole number"));
    }
    const StoreWork work = [by, since](const std::string& db) -> Result<nlohmann::json> {
      auto rows = access::query_usage(db, by, since);
      if (!rows) return rows.error();
      nlohmann::json data = nlohmann::json::array();
      for (const auto& r : *rows)
        data.push_back({{"group", r.group},
                        {"requests", r.requests},
                        {"refused", r.refused},
                        {"prompt_tokens", r.prompt_tokens},
                        {"completion_tokens", r.completion_tokens},
                        {"cost_usd", r.cost_usd}});
      return nlohmann::json{{"object", "list"}, {"by", by}, {"data", std::move(data)}};
    };
    co_return co_await with_store(s, 200, work);
  });
});

}  // namespace
}  // namespace switchboard::admin
