// Virtual API keys: secrets and their hashes, permissions, the SQLite key store, the usage meter.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <thread>

#include "access/key.h"
#include "access/key_store.h"
#include "access/meter.h"
#include "access/service.h"
#include "access/settings.h"
#include "access/unknown_names.h"
#include "config/config.h"

namespace switchboard::access {
namespace {

std::string temp_db(const char* name) {
  auto path = std::filesystem::temp_directory_path() /
              (std::string("sb_keys_") + name + "_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  return path.string();
}

TEST(AccessKey, SecretsAreRandomAndPrefixed) {
  const std::string a = generate_secret(), b = generate_secret();
  EXPECT_TRUE(a.starts_with("sk-sb-"));
  EXPECT_EQ(a.size(), 6u + 48u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 6), std::string::npos);
}

TEST(AccessKey, HashIsSha256Hex) {
  // Known vectors (FIPS 180-2).
  EXPECT_EQ(hash_secret(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string s = generate_secret();
  EXPECT_EQ(hash_secret(s), hash_secret(s));
  EXPECT_NE(hash_secret(s), hash_secret(s + "x"));
}

TEST(AccessKey, PermissionsByName) {
  Key open;
  EXPECT_TRUE(open.may_name("auto", true));
  EXPECT_TRUE(open.may_name("gpt-4", false));
  EXPECT_TRUE(open.may_use_objective("quality"));
  Key routes_only;
  routes_only.allow.routes = {"auto"};
  EXPECT_TRUE(routes_only.may_name("auto", true));
  EXPECT_FALSE(routes_only.may_name("other", true));
  EXPECT_FALSE(routes_only.may_name("gpt-4", false)) << "a restricted key names only what it lists";
  Key any_model;
  any_model.allow.models = {"*"};
  EXPECT_TRUE(any_model.may_name("gpt-4", false));
  EXPECT_FALSE(any_model.may_name("auto", true));
  Key cheap;
  cheap.allow.objectives = {"cost", "balanced"};
  EXPECT_TRUE(cheap.may_use_objective("cost"));
  EXPECT_FALSE(cheap.may_use_objective("quality"));
  EXPECT_FALSE(cheap.may_use_objective("lambda"));
}

TEST(AccessKey, SpecsAreValidated) {
  KeySpec s;
  s.name = "ok-name_1.2";
  EXPECT_FALSE(validate(s));
  s.name = "";
  EXPECT_TRUE(validate(s));
  s.name = "bad name";
  EXPECT_TRUE(validate(s));
  s.name = "x";
  s.allow.objectives = {"speed"};
  auto e = validate(s);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("speed"), std::string::npos);
  s.allow.objectives = {};
  s.limits.usd_per_day = -1;
  EXPECT_TRUE(validate(s));
  // Bounded above too (an INT64_MAX rpm overflowed the remaining-requests header).
  s.limits.usd_per_day = 0;
  s.limits.requests_per_minute = std::numeric_limits<std::int64_t>::max();
  ASSERT_TRUE(validate(s));
  EXPECT_NE(validate(s)->message.find("at most"), std::string::npos);
  s.limits.requests_per_minute = 1'000'000;
  s.limits.usd_per_month = 1e300;
  EXPECT_TRUE(validate(s));
  s.limits.usd_per_month = 1e6;
  EXPECT_FALSE(validate(s));
  // The team: one line of UTF-8 (a byte that is not aborted `keys list --json` for every key).
  s.team = "platform — ü";
  EXPECT_FALSE(validate(s));
  s.team = "bad\xff";
  ASSERT_TRUE(validate(s));
  EXPECT_NE(validate(s)->message.find("UTF-8"), std::string::npos);
  s.team = "two\nlines";
  EXPECT_TRUE(validate(s));
}

TEST(AccessKeyStore, CreateListRevokeAndNameReuse) {
  auto path = temp_db("store");
  auto store = KeyStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  KeySpec spec;
  spec.name = "ci";
  spec.team = "ml";
  spec.allow.routes = {"auto"};
  spec.limits.requests_per_minute = 5;
  spec.limits.usd_per_day = 1.5;
  auto v0 = (*store)->version();
  ASSERT_TRUE(v0);
  auto created = (*store)->create(spec);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->key.hash, hash_secret(created->secret));
  EXPECT_EQ(created->key.prefix, created->secret.substr(0, 12));
  auto v1 = (*store)->version();
  EXPECT_NE(*v0, *v1);

  // The secret is not stored anywhere in the file.
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(created->secret), std::string::npos);
  }

  auto dup = (*store)->create(spec);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, "key_exists");
  // A name that looks like another key's id (which revoke() would also match) is refused.
  KeySpec lookalike = spec;
  lookalike.name = created->key.id;
  auto decoy = (*store)->create(lookalike);
  ASSERT_FALSE(decoy);
  EXPECT_EQ(decoy.error().code, "invalid_key_spec");
  EXPECT_NE(decoy.error().message.find("may not begin with 'key_'"), std::string::npos);

  auto keys = (*store)->list();
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].name, "ci");
  EXPECT_EQ((*keys)[0].team, "ml");
  EXPECT_EQ((*keys)[0].allow.routes, std::vector<std::string>{"auto"});
  EXPECT_EQ((*keys)[0].limits, spec.limits);

  auto revoked = (*store)->revoke("ci");
  ASSERT_TRUE(revoked);
  EXPECT_GT(revoked->revoked_ms, 0);
  EXPECT_NE(*(*store)->version(), *v1);
  EXPECT_TRUE((*store)->list()->empty());
  EXPECT_EQ((*store)->list(true)->size(), 1u);
  EXPECT_EQ((*store)->revoke("ci").error().code, "key_not_found");
  // A revoked key's name may be used again.
  auto again = (*store)->create(spec);
  ASSERT_TRUE(again);
  EXPECT_NE(again->key.id, created->key.id);
}

// Since session 28: revokes on several connections at once (admin API, CLI) wait for each other.
// Before, a revoke read in a read transaction and then wrote: SQLite refused the write at once
// ("database is locked", no busy wait) whenever another revoke had committed, and keys stayed
// active.
TEST(AccessKeyStore, ConcurrentRevokesAllLand) {
  auto path = temp_db("revokes");
  constexpr int kThreads = 8, kPerThread = 3;
  {
    auto store = KeyStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    for (int i = 0; i < kThreads * kPerThread; ++i) {
      KeySpec spec;
      spec.name = "k" + std::to_string(i);
      ASSERT_TRUE((*store)->create(spec));
    }
  }
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto store = KeyStore::open(path);
      if (!store) {
        failures[t] = store.error().message;
        return;
      }
      for (int i = 0; i < kPerThread; ++i)
        if (auto r = (*store)->revoke("k" + std::to_string(t * kPerThread + i)); !r)
          failures[t] += r.error().message + "; ";
    });
  for (auto& th : threads) th.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  auto store = KeyStore::open(path);
  ASSERT_TRUE(store);
  EXPECT_TRUE((*store)->list()->empty());
  EXPECT_EQ((*store)->list(true)->size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(AccessKey, UnknownNamesAreWarnings) {
  auto cfg = config::parse_config(
      "models:\n  - name: a\n    replicas: [{url: 'http://h:1', adapters: [a-sql]}]\n"
      "routes:\n  - name: auto\n    policy: {type: static, model: a}\n",
      "k.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  KeyPermissions allow;
  allow.routes = {"auto", "*", "atuo"};
  allow.models = {"a", "a-sql", "b"};
  const auto w = unknown_names(allow, **cfg);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], "route 'atuo' is not in the configuration (routes: auto)");
  EXPECT_EQ(w[1], "model 'b' is not in the configuration (models: a)");
}

TEST(AccessService, FindsActiveKeysByTheirSecretOnly) {
  AccessSettings settings;
  settings.configured = true;
  settings.keys_db = temp_db("service");
  settings.meter = false;
  auto store = KeyStore::open(settings.keys_db);
  KeySpec spec;
  spec.name = "app";
  spec.team = "web";
  auto created = (*store)->create(spec);
  ASSERT_TRUE(created);
  auto service = AccessService::acquire(settings);
  ASSERT_TRUE(service) << service.error().message;
  auto found = (*service)->find(created->secret);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->key.name, "app");
  EXPECT_EQ(found->label, "app");
  EXPECT_FALSE((*service)->find(created->secret + "0"));
  EXPECT_FALSE((*service)->find("sk-other"));
  EXPECT_FALSE((*service)->find(found->key.hash)) << "the hash is not a secret";
  // The same settings give the same service (a config reload keeps its counters).
  auto same = AccessService::acquire(settings);
  EXPECT_EQ(same->get(), service->get());
  // Revoked elsewhere: gone after a reload.
  ASSERT_TRUE((*store)->revoke("app"));
  EXPECT_FALSE((*service)->reload_keys());
  EXPECT_FALSE((*service)->find(created->secret));
}

// A row whose limits were edited by hand into the wrong types threw out of the key store's reader:
// the key registry's thread then terminated the gateway a few seconds later, and start-up aborted.
// A row the store cannot read (limits or permissions) is listed as refused and never served — served
// without them it would be unbounded; the other keys are served.
TEST(AccessKeyStore, AKeyWithAnUnreadableStoredRowIsRefusedNotACrash) {
  EXPECT_FALSE(limits_from_json(nlohmann::json::parse(R"({"usd_per_day":"5"})")));
  EXPECT_FALSE(limits_from_json(nlohmann::json::parse(R"({"requests_per_minute":1.5})")));
  EXPECT_FALSE(limits_from_json(nlohmann::json::parse(R"({"tokens_per_minute":-1})")));
  EXPECT_FALSE(limits_from_json(nlohmann::json::parse("[1]")));
  EXPECT_FALSE(limits_from_json(nlohmann::json::parse("{", nullptr, false))) << "truncated";
  EXPECT_EQ(limits_from_json(nlohmann::json::parse(R"({"usd_per_day":2,"requests_per_minute":3})"))
                ->usd_per_day,
            2.0);
  EXPECT_EQ(*limits_from_json(nlohmann::json::object()), KeyLimits{});
  EXPECT_FALSE(permissions_from_json(nlohmann::json::parse(R"({"routes":"onlythis"})")));
  EXPECT_FALSE(permissions_from_json(nlohmann::json::parse(R"({"models":["a",7]})")));
  EXPECT_FALSE(permissions_from_json(nlohmann::json::parse("7")));
  EXPECT_EQ(permissions_from_json(nlohmann::json::parse(R"({"routes":["r"],"models":[]})"))->routes,
            std::vector<std::string>{"r"});

  AccessSettings settings;
  settings.configured = true;
  settings.keys_db = temp_db("damaged");
  settings.meter = false;
  auto store = KeyStore::open(settings.keys_db);
  ASSERT_TRUE(store);
  KeySpec spec;
  spec.limits.usd_per_day = 1;
  spec.allow.routes = {"onlythis"};
  std::map<std::string, std::string> secrets;
  for (const char* name : {"bad_limits", "cut_limits", "bad_allow", "fine"}) {
    spec.name = name;
    auto created = (*store)->create(spec);
    ASSERT_TRUE(created);
    secrets[name] = created->secret;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(settings.keys_db.c_str(), &db), SQLITE_OK);
  for (const char* edit :
       {"UPDATE api_keys SET limits = '{\"usd_per_day\":\"5\"}' WHERE name = 'bad_limits'",
        "UPDATE api_keys SET limits = '{\"usd_per_day\":1,' WHERE name = 'cut_limits'",
        "UPDATE api_keys SET allow = '{\"routes\":\"onlythis\"}' WHERE name = 'bad_allow'",
        "UPDATE api_keys SET updated_ms = updated_ms + 1000"})
    ASSERT_EQ(sqlite3_exec(db, edit, nullptr, nullptr, nullptr), SQLITE_OK) << edit;
  sqlite3_close(db);
  auto listed = (*store)->list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 4u) << "refused keys are listed (active, not revoked)";
  for (const auto& k : *listed) {
    EXPECT_TRUE(k.active()) << k.name;
    EXPECT_EQ(k.refused.empty(), k.name == "fine") << k.name;
    EXPECT_EQ(access::key_json(k).contains("refused"), k.name != "fine") << k.name;
  }
  auto service = AccessService::acquire(settings);
  ASSERT_TRUE(service) << service.error().message;
  for (const auto& [name, secret] : secrets)
    EXPECT_EQ(bool((*service)->find(secret)), name == "fine") << name;
  // Revoked, its name can be issued again.
  ASSERT_TRUE((*store)->revoke("bad_allow"));
  spec.name = "bad_allow";
  EXPECT_TRUE((*store)->create(spec));
}

TEST(AccessMeter, SumsUsagePerHourKeyTeamRouteAndModel) {
  auto path = temp_db("meter");
  {
    auto meter = Meter::open(path);
    ASSERT_TRUE(meter) << meter.error().message;
    const std::int64_t t = 1'764'633'600'000;  // 2025-12-02T00:00Z
    (*meter)->record({t, "a", "ml", "auto", "big", false, 10, 5, 0.25, ""});
    (*meter)->record({t + 1000, "a", "ml", "auto", "big", false, 20, 5, 0.5, ""});
    (*meter)->record({t + 2000, "b", "web", "auto", "small", true, 0, 0, 0, ""});
    (*meter)->flush();
    (*meter)->record({t + 3000, "a", "ml", "direct", "small", false, 1, 1, 0.01, ""});
  }  // the destructor writes the rest
  auto by_key = query_usage(path, "key", 0);
  ASSERT_TRUE(by_key) << by_key.error().message;
  ASSERT_EQ(by_key->size(), 2u);
  EXPECT_EQ((*by_key)[0].group, "a");
  EXPECT_EQ((*by_key)[0].requests, 3);
  EXPECT_EQ((*by_key)[0].prompt_tokens, 31);
  EXPECT_NEAR((*by_key)[0].cost_usd, 0.76, 1e-9);
  EXPECT_EQ((*by_key)[1].refused, 1);
  auto by_model = query_usage(path, "model", 0);
  ASSERT_EQ(by_model->size(), 2u);
  EXPECT_EQ((*by_model)[0].group, "big");
  EXPECT_FALSE(query_usage(path, "key; DROP TABLE usage", 0));
  EXPECT_EQ(usage_hour(1'764'633'600'000 + 3'600'000 * 13 + 5), "2025-12-02T13");
}

// Budgets are restored per key id: a key re-created under a revoked key's name starts from zero.
// A usage table made before rows carried ids is rebuilt with the column, its rows kept; they count
// for the key of that name from the hour it was created on.
TEST(AccessMeter, SpendIsRestoredByKeyIdAndOlderTablesAreMigrated) {
  auto path = temp_db("meter_key_id");
  const std::int64_t day = 1'764'633'600'000;  // 2025-12-02T00:00Z
  const std::int64_t hour = 3'600'000;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE usage (hour TEXT NOT NULL, key TEXT NOT NULL, team TEXT "
                           "NOT NULL, route TEXT NOT NULL, model TEXT NOT NULL, requests INTEGER "
                           "NOT NULL, refused INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, "
                           "completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, PRIMARY "
                           "KEY (hour, key, team, route, model)) WITHOUT ROWID;"
                           "INSERT INTO usage VALUES ('2025-12-02T01','app','','auto','m',1,0,1,1,"
                           "0.5),('2025-12-02T05','app','','auto','m',1,0,1,1,0.25);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  {
    auto meter = Meter::open(path);  // migrates
    ASSERT_TRUE(meter) << meter.error().message;
    UsageEvent old_key{day + 6 * hour, "app", "", "auto", "m", false, 1, 1, 2.0, ""};
    old_key.key_id = "key_old";
    UsageEvent new_key{day + 7 * hour, "app", "", "auto", "m", false, 1, 1, 0.125, ""};
    new_key.key_id = "key_new";
    (*meter)->record(old_key);
    (*meter)->record(new_key);
  }
  auto by_key = query_usage(path, "key", 0);
  ASSERT_TRUE(by_key) << by_key.error().message;
  ASSERT_EQ(by_key->size(), 1u);
  EXPECT_NEAR((*by_key)[0].cost_usd, 2.875, 1e-9) << "reports still sum by name, old rows kept";

  Key legacy, reborn;
  legacy.id = "key_legacy";  // the key that made the rows without ids (created before them)
  legacy.name = "app";
  legacy.created_ms = day;
  reborn.id = "key_new";
  reborn.name = "app";
  reborn.created_ms = day + 7 * hour;
  auto spend = query_key_spend(path, {reborn}, day, day - 5 * 86'400'000);
  ASSERT_TRUE(spend) << spend.error().message;
  ASSERT_EQ(spend->count("key_new"), 1u);
  EXPECT_NEAR(spend->at("key_new").today_usd, 0.125, 1e-9)
      << "neither the revoked key's spend (id key_old) nor rows from before its creation";
  spend = query_key_spend(path, {legacy}, day + 2 * hour, day);
  ASSERT_TRUE(spend);
  EXPECT_NEAR(spend->at("key_legacy").month_usd, 0.75, 1e-9) << "rows without an id, by name";
  EXPECT_NEAR(spend->at("key_legacy").today_usd, 0.25, 1e-9) << "from the day's first hour on";
  ASSERT_TRUE(KeyStore::open(path));
  spend = query_key_spend(path, {reborn}, day, day - 5 * 86'400'000);
  ASSERT_TRUE(spend);
  EXPECT_NEAR(spend->at("key_new").today_usd, 0.125, 1e-9) << "opening a migrated file again keeps ids";
}

// While writes fail, a failed batch goes back beside the rows that arrived meanwhile: together
// they stay within max_rows (new rows beyond it are dropped and counted, never the spend of a row
// already waiting).
TEST(AccessMeter, RowsWaitingStayBoundedWhileWritesFail) {
  auto path = temp_db("meter_bound");
  MeterOptions options;
  options.busy_timeout = std::chrono::milliseconds(100);
  options.max_rows = 10;
  auto meter = Meter::open(path, options);
  ASSERT_TRUE(meter) << meter.error().message;
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::int64_t t = 1'764'633'600'000;
  std::size_t most = 0;
  for (int i = 0; i < 60; ++i) {  // ~3 s: three failed rounds, each with new distinct rows
    for (int j = 0; j < 3; ++j)
      (*meter)->record({t, "k" + std::to_string(i * 3 + j), "ml", "auto", "big", false, 1, 1, 0, ""});
    most = std::max(most, (*meter)->waiting());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE((*meter)->write_failures(), 2u);
  EXPECT_LE(most, 10u);
  EXPECT_GT((*meter)->dropped(), 0u);
  EXPECT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
}

TEST(AccessMeter, RowsOlderThanTheRetentionAreDeleted) {
  auto path = temp_db("meter_retention");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  {
    auto meter = Meter::open(path);  // no retention: everything is kept
    ASSERT_TRUE(meter) << meter.error().message;
    (*meter)->record({now - 5 * 86'400'000LL, "old", "ml", "auto", "big", false, 1, 1, 0.1, ""});
    (*meter)->record({now, "new", "ml", "auto", "big", false, 1, 1, 0.1, ""});
  }
  ASSERT_EQ(query_usage(path, "key", 0)->size(), 2u);
  MeterOptions options;
  options.retention = std::chrono::hours(48);
  auto meter = Meter::open(path, options);
  ASSERT_TRUE(meter) << meter.error().message;
  (*meter)->flush();  // the first round prunes
  EXPECT_EQ((*meter)->pruned(), 1u);
  auto left = query_usage(path, "key", 0);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].group, "new");
}

// Spend recorded while another connection holds the database's write lock is kept and added
// later — never lost — and a stop while it is held waits for it within the grace.
TEST(AccessMeter, SpendRecordedWhileTheDatabaseIsLockedIsWrittenOnceItIsFree) {
  auto path = temp_db("meter_locked");
  MeterOptions options;
  options.busy_timeout = std::chrono::milliseconds(20);
  auto meter = Meter::open(path, options);
  ASSERT_TRUE(meter) << meter.error().message;
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::int64_t t = 1'764'633'600'000;
  (*meter)->record({t, "a", "ml", "auto", "big", false, 10, 5, 0.25, ""});
  for (int i = 0; i < 500 && (*meter)->write_failures() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GT((*meter)->write_failures(), 0u);
  (*meter)->record({t + 1000, "a", "ml", "auto", "big", false, 20, 5, 0.5, ""});  // sums with it
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  });
  meter->reset();  // stops while the lock is still held
  releaser.join();
  sqlite3_close(other);
  auto by_key = query_usage(path, "key", 0);
  ASSERT_TRUE(by_key) << by_key.error().message;
  ASSERT_EQ(by_key->size(), 1u);
  EXPECT_EQ((*by_key)[0].requests, 2);
  EXPECT_EQ((*by_key)[0].prompt_tokens, 30);
  EXPECT_NEAR((*by_key)[0].cost_usd, 0.75, 1e-9);
}

TEST(AccessKey, AKeySpecFromAClientIsStrict) {
  using nlohmann::json;
  // Each of these used to give an unrestricted key or no limit, silently.
  for (const char* bad : {R"({"routes":"cheap-route"})", R"({"route":["cheap-route"]})",
                          R"(["cheap-route"])", R"({"routes":[1]})", R"({"models":[""]})"}) {
    auto r = parse_permissions(json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid_key_spec");
  }
  for (const char* bad : {R"({"request_per_minute":5})", R"({"requests_per_minute":0.9})",
                          R"({"tokens_per_minute":-1})", R"({"usd_per_day":"5"})", R"(5)"}) {
    auto r = parse_limits(json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("limits"), std::string::npos) << r.error().message;
  }
  auto allow = parse_permissions(json::parse(R"({"routes":["cheap-route"],"objectives":["cost"]})"));
  ASSERT_TRUE(allow.ok()) << allow.error().message;
  EXPECT_EQ(allow->routes, std::vector<std::string>{"cheap-route"});
  auto limits = parse_limits(json::parse(R"({"requests_per_minute":1,"usd_per_day":2.5})"));
  ASSERT_TRUE(limits.ok()) << limits.error().message;
  EXPECT_EQ(limits->requests_per_minute, 1);
  EXPECT_DOUBLE_EQ(limits->usd_per_day, 2.5);
}

}  // namespace
}  // namespace switchboard::access

namespace switchboard::access {
namespace {

Result<AccessSettings> settings_of(const std::string& extra) {
  const std::string yaml =
      "models:\n  - name: m\n    replicas: [{url: 'http://127.0.0.1:1'}]\n" + extra;
  auto cfg = config::parse_config(yaml, "gw.yaml");
  if (!cfg) return cfg.error();
  return parse_access_settings(**cfg);
}

TEST(AccessSettings, DefaultsAndErrorsWithTheirPlace) {
  auto none = settings_of("");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->configured);
  auto on = settings_of(
      "auth: {required: true, reload_ms: 250}\nstate: {redis: 'redis://10.0.0.5:6380/2', "
      "fail_open: false}\n");
  ASSERT_TRUE(on) << on.error().message;
  EXPECT_TRUE(on->configured);
  EXPECT_TRUE(on->required);
  EXPECT_EQ(on->keys_db, "./switchboard.db") << "the decision store's file by default";
  EXPECT_EQ(on->reload.count(), 250);
  ASSERT_TRUE(on->redis);
  EXPECT_EQ(on->redis->host, "10.0.0.5");
  EXPECT_EQ(on->redis->port, 6380);
  EXPECT_EQ(on->redis->db, 2);
  EXPECT_FALSE(on->redis->fail_open);
  auto bad = settings_of("auth:\n  required: maybe\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("gw.yaml:5:", 0), 0u) << bad.error().message;
  auto unknown = settings_of("auth: {requred: true}\n");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown key 'requred'"), std::string::npos);
  auto url = settings_of("auth: {}\nstate: {redis: 'http://x'}\n");
  ASSERT_FALSE(url);
  EXPECT_NE(url.error().message.find("redis://"), std::string::npos);
  EXPECT_EQ(on->usage_retention_days, 400);
  auto keep = settings_of("auth: {usage_retention_days: 0}\n");
  ASSERT_TRUE(keep) << keep.error().message;
  EXPECT_EQ(keep->usage_retention_days, 0);
  auto short_retention = settings_of("auth: {usage_retention_days: 7}\n");
  ASSERT_FALSE(short_retention) << "a budget month needs its rows";
  EXPECT_NE(short_retention.error().message.find(">= 32"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::access
