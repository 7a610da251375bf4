// `switchboard keys create|list|revoke|usage`: virtual API keys (docs/keys.md), in the SQLite file
// the gateway reads them from: --db PATH, or the `auth.keys_db` (default `store.sqlite`) of
// --config FILE. A running gateway sees a change within `auth.reload_ms` (1 s by default).
//
//   switchboard keys create --config gw.yaml --name ci --team ml --routes auto --rpm 60
//       --tpm 100000 --usd-per-day 5 --usd-per-month 100 --objectives balanced,cost   (one line)
//   switchboard keys list --config gw.yaml [--all] [--json]
//   switchboard keys revoke --config gw.yaml ci
//   switchboard keys usage --config gw.yaml --by team --days 7
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <sstream>

#include "access/key_store.h"
#include "access/meter.h"
#include "access/settings.h"
#include "access/unknown_names.h"
#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/number_checks.h"
#include "config/config.h"
#include "core/wall_clock.h"

namespace switchboard::cli {
namespace {

struct KeysOptions {
  std::string config, db;
  access::KeySpec spec;
  std::string routes, models, objectives;
  bool json = false, all = false;
  std::string target;      // revoke
  std::string by = "key";  // usage
  double days = 1;
};

std::vector<std::string> split(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream in(csv);
  std::string item;
  while (std::getline(in, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The keys database: --db, else the config's auth.keys_db (default store.sqlite).
std::optional<std::string> db_path(const KeysOptions& o) {
  if (!o.db.empty()) return o.db;
  if (o.config.empty()) {
    fmt::print(stderr, "switchboard keys: give --config FILE or --db PATH\n");
    return std::nullopt;
  }
  auto cfg = config::load_config(o.config);
  if (!cfg) {
    fmt::print(stderr, "switchboard keys: {}\n", cfg.error().message);
    return std::nullopt;
  }
  auto s = access::parse_access_settings(**cfg);
  if (!s) {
    fmt::print(stderr, "switchboard keys: {}\n", s.error().message);
    return std::nullopt;
  }
  return s->keys_db;
}

// Only `create` makes a key database: listing, revoking or reading usage from a path that holds
// none (a typo, a relative path read from another directory) said "no keys" and left an empty
// database there.
bool exists_or_say(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return true;
  fmt::print(stderr,
             "switchboard keys: no key database at {} (keys are created with `switchboard keys "
             "create`; a relative path is read from the current directory)\n",
             path);
  return false;
}

// The keys store named by --db or the config, or nullptr after printing why it cannot be opened.
// `create`: made when absent.
std::unique_ptr<access::KeyStore> open_store(const KeysOptions& o, bool create = false) {
  auto path = db_path(o);
  if (!path) return nullptr;
  if (!create && !exists_or_say(*path)) return nullptr;
  auto store = access::KeyStore::open(*path);
  if (!store) {
    fmt::print(stderr, "switchboard keys: {}\n", store.error().message);
    return nullptr;
  }
  return std::move(*store);
}

// An empty list: "*" (anything), or "-" (nothing) when the other list of names restricts the key.
std::string list_text(const std::vector<std::string>& v, bool restricted = false) {
  if (v.empty()) return restricted ? "-" : "*";
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string limit_text(const access::KeyLimits& l) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
  if (l.requests_per_minute) add(fmt::format("{} rpm", l.requests_per_minute));
  if (l.tokens_per_minute) add(fmt::format("{} tpm", l.tokens_per_minute));
  if (l.usd_per_day > 0) add(fmt::format("${}/day", l.usd_per_day));
  if (l.usd_per_month > 0) add(fmt::format("${}/month", l.usd_per_month));
  return out.empty() ? "none" : out;
}

int create(KeysOptions o) {
  o.spec.allow.routes = split(o.routes);
  o.spec.allow.models = split(o.models);
  o.spec.allow.objectives = split(o.objectives);
  if (!o.config.empty()) {
    // Names the configuration lacks are warned about (the route may come later), not refused.
    if (auto cfg = config::load_config(o.config))
      for (const auto& w : access::unknown_names(o.spec.allow, **cfg))
        fmt::print(stderr, "switchboard keys: warning: {}\n", w);
  }
  auto store = open_store(o, /*create=*/true);
  if (!store) return 1;
  auto created = store->create(o.spec);
  if (!created) {
    fmt::print(stderr, "switchboard keys: {}\n", created.error().message);
    return 1;
  }
  if (o.json) {
    nlohmann::json j = {{"key", access::key_json(created->key)}, {"secret", created->secret}};
    fmt::print("{}\n", json_text(j));
    return 0;
  }
  const auto& k = created->key;
  fmt::print("created key '{}' ({}), team '{}'\n", k.name, k.id, k.team);
  fmt::print("  routes {}  models {}  objectives {}  limits {}\n",
             list_text(k.allow.routes, !k.allow.models.empty()),
             list_text(k.allow.models, !k.allow.routes.empty()), list_text(k.allow.objectives),
             limit_text(k.limits));
  fmt::print(
      "\n  {}\n\nThis secret is shown only now; store it safely (the gateway keeps its "
      "SHA-256 only).\n",
      created->secret);
  return 0;
}

int list(const KeysOptions& o) {
  auto store = open_store(o);
  if (!store) return 1;
  auto keys = store->list(o.all);
  if (!keys) {
    fmt::print(stderr, "switchboard keys: {}\n", keys.error().message);
    return 1;
  }
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& k : *keys) arr.push_back(access::key_json(k));
    fmt::print("{}\n", json_text(arr));
    return 0;
  }
  fmt::print("{:<20} {:<14} {:<21} {:<12} {:<16} {:<16} {:<12} {}\n", "NAME", "TEAM", "ID",
             "PREFIX", "ROUTES", "MODELS", "OBJECTIVES", "LIMITS");
  for (const auto& k : *keys)
    fmt::print("{:<20} {:<14} {:<21} {:<12} {:<16} {:<16} {:<12} {}{}\n", k.name, k.team, k.id,
               k.prefix, list_text(k.allow.routes, !k.allow.models.empty()),
               list_text(k.allow.models, !k.allow.routes.empty()), list_text(k.allow.objectives),
               limit_text(k.limits),
               !k.active()          ? "  (revoked)"
               : !k.refused.empty() ? "  (REFUSED: " + k.refused + ")"
                                    : std::string());
  return 0;
}

int revoke(const KeysOptions& o) {
  auto store = open_store(o);
  if (!store) return 1;
  auto k = store->revoke(o.target);
  if (!k) {
    fmt::print(stderr, "switchboard keys: {}\n", k.error().message);
    return 1;
  }
  fmt::print("revoked key '{}' ({})\n", k->name, k->id);
  return 0;
}

int usage(const KeysOptions& o) {
  auto path = db_path(o);
  if (!path) return 2;
  if (!exists_or_say(*path)) return 1;
  const auto now = unix_ms();
  auto rows =
      access::query_usage(*path, o.by, now - static_cast<std::int64_t>(o.days * 86'400'000));
  if (!rows) {
    fmt::print(stderr, "switchboard keys: {}\n", rows.error().message);
    return 1;
  }
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : *rows)
      arr.push_back({{o.by, r.group},
                     {"requests", r.requests},
                     {"refused", r.refused},
                     {"prompt_tokens", r.prompt_tokens},
                     {"completion_tokens", r.completion_tokens},
                     {"cost_usd", r.cost_usd}});
    fmt::print("{}\n", json_text(arr));
    return 0;
  }
  fmt::print("{:<28} {:>9} {:>8} {:>12} {:>12} {:>12}\n", o.by, "requests", "refused", "prompt_tok",
             "complet_tok", "cost_usd");
  for (const auto& r : *rows)
    fmt::print("{:<28} {:>9} {:>8} {:>12} {:>12} {:>12.6f}\n", r.group.empty() ? "(none)" : r.group,
               r.requests, r.refused, r.prompt_tokens, r.completion_tokens, r.cost_usd);
  return 0;
}

const CommandRegistrar kKeys(
    "keys", "Create, list and revoke virtual API keys; show usage", [](CLI::App& app) {
      auto o = std::make_shared<KeysOptions>();
      app.require_subcommand(1);
      auto common = [o](CLI::App* sub) {
        sub->add_option("-c,--config", o->config,
                        "gateway config (its auth.keys_db or store.sqlite)");
        sub->add_option("--db", o->db, "the keys database (SQLite file), instead of --config");
        sub->add_flag("--json", o->json, "JSON output");
      };
      CLI::App* c = app.add_subcommand("create", "Create a key; prints its secret once");
      common(c);
      c->add_option("--name", o->spec.name, "unique name (letters, digits, _ - .)")->required();
      c->add_option("--team", o->spec.team, "team");
      c->add_option("--routes", o->routes, "routes it may name, comma-separated (default: any)");
      c->add_option("--models", o->models, "models it may name directly, comma-separated");
      c->add_option("--objectives", o->objectives,
                    "of quality,balanced,cost,lambda,max_cost (default: all)");
      c->add_option("--rpm", o->spec.limits.requests_per_minute, "requests per minute (0 = none)");
      c->add_option("--tpm", o->spec.limits.tokens_per_minute, "tokens per minute (0 = none)");
      c->add_option("--usd-per-day", o->spec.limits.usd_per_day, "budget per UTC day (0 = none)");
      c->add_option("--usd-per-month", o->spec.limits.usd_per_month,
                    "budget per UTC month (0 = none)");
      CLI::App* l = app.add_subcommand("list", "List keys (never their secrets)");
      common(l);
      l->add_flag("--all", o->all, "include revoked keys");
      CLI::App* r = app.add_subcommand("revoke", "Revoke a key by name or id");
      common(r);
      r->add_option("key", o->target, "name or id")->required();
      CLI::App* u = app.add_subcommand("usage", "Metered usage (tokens, USD) by key, team, ...");
      common(u);
      u->add_option("--by", o->by, "key, team, route, model or hour (default key)");
      u->add_option("--days", o->days, "the last N days (default 1)")
          ->check(finite_number(true) & CLI::Range(0.0, 36500.0));
      return [o, c, l, r] {
        if (c->parsed()) return create(*o);
        if (l->parsed()) return list(*o);
        if (r->parsed()) return revoke(*o);
        return usage(*o);
      };
    });

}  // namespace
}  // namespace switchboard::cli
