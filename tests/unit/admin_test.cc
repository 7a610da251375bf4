// The admin listener's pieces without a server: the time-series ring, config masking, the decision
// search, the admin config section, and what a reload carries over (docs/admin.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "admin/admin_routes.h"
#include "admin/config_mask.h"
#include "admin/reloader.h"
#include "admin/timeseries.h"
#include "config/config.h"
#include "pipeline/runtime.h"
#include "pipeline/runtime_reload.h"
#include "store/decision_query.h"
#include "store/decision_store.h"

using namespace switchboard;

namespace {

store::DecisionRecord rec(std::string route, std::string model, double ms, double cost,
                          std::string outcome = "ok") {
  store::DecisionRecord r;
  r.id = store::new_decision_id();
  r.route = std::move(route);
  r.model = std::move(model);
  r.latency_ms = ms;
  r.cost_usd = cost;
  r.outcome = std::move(outcome);
  r.status = r.outcome == "ok" ? 200 : 502;
  return r;
}

}  // namespace

TEST(AdminTimeSeries, CountsRatesPercentilesSpendAndMixPerWindow) {
  admin::TimeSeries ts(60);
  const std::int64_t now = 1'000'000;
  for (int i = 0; i < 100; ++i) ts.add(rec("auto", "m1", 10 + i, 0.001), "team-a", now - 5);
  for (int i = 0; i < 10; ++i) ts.add(rec("auto", "m2", 500, 0.01, "upstream_error"), {}, now - 1);
  auto cached = rec("c", "m1", 1, 0);
  cached.cache.emplace();
  cached.cache->status = "hit";
  ts.add(cached, {}, now);
  auto missed = rec("c", "m1", 1, 0);
  missed.cache.emplace();
  missed.cache->status = "miss";
  ts.add(missed, {}, now);

  // A cascade: its calls' costs go to the models called.
  auto cascade = rec("cascade", "m2", 30, 0.0);
  cascade.calls.resize(2);
  cascade.calls[0].model = "m3";
  cascade.calls[0].cost_usd = 0.25;
  cascade.calls[1].model = "m2";
  cascade.calls[1].cost_usd = 0.5;
  cascade.cost_usd = 0.75;
  ts.add(cascade, {}, now - 20);
  auto c = ts.snapshot(now - 20, 1, 1);
  EXPECT_NEAR(c["cost_usd"]["by_model"]["m3"][0].get<double>(), 0.25, 1e-12);
  EXPECT_NEAR(c["cost_usd"]["by_model"]["m2"][0].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(c["cost_usd"]["by_route"]["cascade"][0].get<double>(), 0.75, 1e-12);

  auto j = ts.snapshot(now, 10, 5);
  ASSERT_EQ(j["t"].size(), 2u);
  EXPECT_EQ(j["t"][0], now - 9);
  EXPECT_DOUBLE_EQ(j["requests_per_s"][0].get<double>(), 100.0 / 5);
  EXPECT_DOUBLE_EQ(j["requests_per_s"][1].get<double>(), 12.0 / 5);
  EXPECT_DOUBLE_EQ(j["error_rate"][0].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(j["error_rate"][1].get<double>(), 10.0 / 12);
  // Latencies 10..109 ms: the median near 60 ms (within a 25 % bucket).
  const double p50 = j["p50_ms"][0].get<double>();
  EXPECT_GT(p50, 48);
  EXPECT_LT(p50, 75);
  EXPECT_GT(j["p99_ms"][1].get<double>(), 400);
  EXPECT_DOUBLE_EQ(j["cache_hit_rate"][1].get<double>(), 0.5);
  EXPECT_TRUE(j["cache_hit_rate"][0].is_null());
  EXPECT_NEAR(j["cost_usd"]["by_model"]["m1"][0].get<double>(), 0.1, 1e-12);
  EXPECT_NEAR(j["cost_usd"]["by_model"]["m2"][1].get<double>(), 0.1, 1e-12);
  EXPECT_NEAR(j["cost_usd"]["by_key"]["team-a"][0].get<double>(), 0.1, 1e-12);
  EXPECT_EQ(j["mix"]["auto"]["m1"], 100);
  EXPECT_EQ(j["mix"]["auto"]["m2"], 10);
  EXPECT_EQ(j["totals"]["requests"], 112);
  EXPECT_EQ(j["totals"]["errors"], 10);
  // Out of the window: nothing.
  auto later = ts.snapshot(now + 100, 10, 5);
  EXPECT_EQ(later["totals"]["requests"], 0);
}

TEST(AdminTimeSeries, MemoryIsBoundedByLabelsAndRing) {
  admin::TimeSeries ts(10, 4);
  const std::int64_t now = 5000;
  for (int i = 0; i < 50; ++i)
    ts.add(rec("route" + std::to_string(i), "model" + std::to_string(i), 5, 0.5), {}, now);
  auto j = ts.snapshot(now, 10, 10);
  EXPECT_EQ(j["cost_usd"]["by_model"].size(), 5u);  // 4 labels + (other)
  EXPECT_TRUE(j["cost_usd"]["by_model"].contains("(other)"));
  EXPECT_NEAR(j["totals"]["cost_usd"].get<double>(), 25.0, 1e-9);
  EXPECT_LE(j["mix"].size(), 4u);
  // A second 10 s later reuses the slot: the old second is gone.
  ts.add(rec("r", "m", 5, 0), {}, now + 10);
  EXPECT_EQ(ts.snapshot(now + 10, 10, 10)["totals"]["requests"], 1);
}

TEST(AdminConfigMask, URLsQuotedInFreeTextLoseTheirPasswords) {
  // A refused reload's message quotes config values; it is logged and shown on the dashboard.
  EXPECT_EQ(admin::mask_urls_in("cfg.yaml:3:9: state.redis: cannot use redis://:hunter2@10.0.0.5:6379/0 (auth)"),
            "cfg.yaml:3:9: state.redis: cannot use redis://***@10.0.0.5:6379/0 (auth)");
  EXPECT_EQ(admin::mask_urls_in("url 'https://svc:pw@up.example/v1' and \"http://u:p@h\", http://plain/x"),
            "url 'https://***@up.example/v1' and \"http://***@h\", http://plain/x");
  EXPECT_EQ(admin::mask_urls_in("no url here"), "no url here");
}

TEST(AdminConfigMask, MasksSecretsButShowsVariableNames) {
  auto j = admin::masked_config_text(R"(
models:
  - name: m
    max_tokens: 100
    replicas:
      - {url: "https://user:hunter2@api.example.com/v1", api_key_env: OPENAI_KEY, api_key: sk-live-1}
state: {redis: "redis://:p4ss@10.0.0.1:6379/0"}
admin: {listen: 127.0.0.1:9090, key_env: ADMIN_KEY}
auth: {keys: [a, b], token: abc, client_secret: s}
)");
  const auto text = j.dump();
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_EQ(text.find("sk-live-1"), std::string::npos);
  EXPECT_EQ(text.find("p4ss"), std::string::npos);
  EXPECT_EQ(j["models"][0]["replicas"][0]["url"], "https://***@api.example.com/v1");
  EXPECT_EQ(j["models"][0]["replicas"][0]["api_key_env"], "OPENAI_KEY");
  EXPECT_EQ(j["models"][0]["replicas"][0]["api_key"], "***");
  EXPECT_EQ(j["models"][0]["max_tokens"], 100);
  EXPECT_EQ(j["admin"]["key_env"], "ADMIN_KEY");
  EXPECT_EQ(j["auth"]["keys"].size(), 2u);
  EXPECT_EQ(j["auth"]["token"], "***");
  EXPECT_EQ(j["auth"]["client_secret"], "***");
  EXPECT_EQ(j["state"]["redis"], "redis://***@10.0.0.1:6379/0");
}

TEST(AdminRoutes, ExactThenLongestPrefixAndMethodNotAllowed) {
  admin::AdminRoutes routes;
  using boost::beast::http::verb;
  admin::AdminHandler h = [](admin::AdminRequest&) -> boost::asio::awaitable<http::Response> {
    co_return http::Response{};
  };
  routes.add(verb::get, "/admin/decisions", h);
  routes.add_prefix(verb::get, "/admin/decisions/", h);
  routes.add_prefix(verb::get, "/dashboard/", h, true);
  auto m = routes.find(verb::get, "/admin/decisions/dec_1");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.rest, "dec_1");
  EXPECT_FALSE(m.open);
  EXPECT_TRUE(routes.find(verb::get, "/dashboard/app.js").open);
  auto post = routes.find(verb::post, "/admin/decisions");
  EXPECT_EQ(post.handler, nullptr);
  EXPECT_TRUE(post.path_known);
  EXPECT_FALSE(routes.find(verb::get, "/nope").path_known);
  auto q = parse_query("id=dec%5F1&model=a%2Fb+c&empty=&x");
  EXPECT_EQ(q["id"], "dec_1");
  EXPECT_EQ(q["model"], "a/b c");
  EXPECT_EQ(q["empty"], "");
  EXPECT_TRUE(q.count("x"));
}

TEST(QueryString, TargetsIntegersAndFlags) {
  EXPECT_EQ(query_of("/v1/models?limit=2&after_id=a"), "limit=2&after_id=a");
  EXPECT_EQ(query_of("/v1/models"), "");
  EXPECT_EQ(bounded_integer("1", 1, 100), 1u);
  EXPECT_EQ(bounded_integer("100", 1, 100), 100u);
  EXPECT_EQ(bounded_integer("007", 1, 100), 7u);
  for (const char* bad : {"0", "101", "", "-1", "+5", " 5", "5 ", "1e2", "0x10", "9999999999"})
    EXPECT_FALSE(bounded_integer(bad, 1, 100)) << bad;
  EXPECT_TRUE(query_flag("true"));
  EXPECT_TRUE(query_flag("1"));
  EXPECT_FALSE(query_flag("false"));
  EXPECT_FALSE(query_flag("yes"));
}

TEST(DecisionQuery, FiltersAndPagesNewestFirst) {
  auto path =
      (std::filesystem::temp_directory_path() / ("sb_query_" + std::to_string(::getpid()) + ".db"))
          .string();
  std::filesystem::remove(path);
  std::vector<std::string> ids;
  {
    auto s = store::DecisionStore::open(path);
    ASSERT_TRUE(s);
    for (int i = 0; i < 7; ++i) {
      auto r = rec(i % 2 ? "auto" : "best", i % 2 ? "m1" : "m2", 10, 0.1,
                   i == 3 ? "upstream_error" : "ok");
      r.time_ms = 1'700'000'000'000 + i;
      ids.push_back(r.id);
      (*s)->record(std::move(r));
      usleep(2000);  // ids sort by millisecond
    }
    (*s)->flush();
  }
  store::DecisionQuery q;
  auto all = store::search_decisions(path, q);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ((*all)["data"].size(), 7u);
  EXPECT_EQ((*all)["data"][0]["id"], ids.back());
  EXPECT_TRUE((*all)["next"].is_null());
  q.route = "auto";
  EXPECT_EQ((*store::search_decisions(path, q))["data"].size(), 3u);
  q.outcome = "upstream_error";
  auto failed = *store::search_decisions(path, q);
  ASSERT_EQ(failed["data"].size(), 1u);
  EXPECT_EQ(failed["data"][0]["id"], ids[3]);
  EXPECT_EQ(failed["data"][0]["status"], 502);
  store::DecisionQuery page;
  page.limit = 3;
  std::vector<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    auto p = *store::search_decisions(path, page);
    for (auto& d : p["data"]) seen.push_back(d["id"]);
    if (p["next"].is_null()) break;
    page.before = p["next"];
  }
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend()));
  store::DecisionQuery by_status;
  by_status.status = 502;
  EXPECT_EQ((*store::search_decisions(path, by_status))["data"].size(), 1u);
  store::DecisionQuery by_key;
  by_key.key = "team";  // no key column: nothing
  EXPECT_EQ((*store::search_decisions(path, by_key))["data"].size(), 0u);
  EXPECT_FALSE(store::search_decisions("/nonexistent/x.db", q));
  std::filesystem::remove(path);
}

TEST(AdminConfig, ParsesTheSectionAndNamesMistakes) {
  auto ok = config::parse_config(R"(
models:
  - name: m
    replicas: [{url: "http://127.0.0.1:1"}]
admin: {listen: 127.0.0.1:9191, key_env: K, public_metrics: true, allowed_hosts: [admin.internal]}
)",
                                 "a.yaml");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE((*ok)->admin.enabled);
  EXPECT_EQ((*ok)->admin.port, 9191);
  EXPECT_EQ((*ok)->admin.key_env, "K");
  EXPECT_TRUE((*ok)->admin.public_metrics_served());
  EXPECT_FALSE((*ok)->admin.public_decisions_served());
  EXPECT_EQ((*ok)->admin.allowed_hosts, std::vector<std::string>{"admin.internal"});
  EXPECT_NE((*ok)->text.find("9191"), std::string::npos);
  auto host_with_port = config::parse_config(
      "models:\n  - name: m\n    replicas: [{url: \"http://127.0.0.1:1\"}]\nadmin: {listen: "
      "127.0.0.1:1, allowed_hosts: [\"admin.internal:9090\"]}\n",
      "d.yaml");
  ASSERT_FALSE(host_with_port);
  EXPECT_NE(host_with_port.error().message.find("without port or scheme"), std::string::npos);
  auto bad = config::parse_config(
      "models:\n  - name: m\n    replicas: [{url: \"http://127.0.0.1:1\"}]\nadmin:\n  listen: "
      "nope\n",
      "b.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("b.yaml:5:11: admin.listen", 0), 0u) << bad.error().message;
  auto flag = config::parse_config(
      "models:\n  - name: m\n    replicas: [{url: \"http://127.0.0.1:1\"}]\nadmin: {listen: "
      "127.0.0.1:1, public_metrics: maybe}\n",
      "c.yaml");
  ASSERT_FALSE(flag);
  EXPECT_NE(flag.error().message.find("c.yaml:4:"), std::string::npos);
  EXPECT_NE(flag.error().message.find("true or false"), std::string::npos);
}

TEST(RuntimeReload, UnchangedReplicasKeepHealthAndPoolKeys) {
  auto parse = [](const char* text) {
    auto c = config::parse_config(text, "r.yaml");
    EXPECT_TRUE(c) << c.error().message;
    auto rt = pipeline::build_runtime(*c);
    EXPECT_TRUE(rt) << rt.error().message;
    return std::move(*rt);
  };
  auto old = parse(R"(
models:
  - name: a
    health_check: {path: /health}
    load_metrics: {path: /metrics}
    replicas: [{url: "http://127.0.0.1:1"}, {url: "http://127.0.0.1:2"}]
  - name: b
    replicas: [{url: "http://127.0.0.1:3"}]
)");
  auto& a0 = *old->models.at("a").replicas[0];
  a0.health.down = true;
  a0.health.ejected_until_ms = 12345;
  a0.health.consecutive_failures = 3;
  old->models.at("a").replicas[1]->health.ejections = 2;
  // a's second replica moved to another port; b is gone; c is new.
  a0.reported.waiting = 40;
  a0.reported.running = 2;
  auto fresh = parse(R"(
models:
  - name: a
    health_check: {path: /health}
    load_metrics: {path: /metrics}
    replicas: [{url: "http://127.0.0.1:1"}, {url: "http://127.0.0.1:9"}]
  - name: c
    replicas: [{url: "http://127.0.0.1:3"}]
)");
  std::size_t next = old->replica_count;
  EXPECT_EQ(pipeline::carry_over_replicas(*old, *fresh, next), 1u);
  const auto& f0 = *fresh->models.at("a").replicas[0];
  EXPECT_TRUE(f0.health.down.load());
  EXPECT_EQ(f0.health.ejected_until_ms.load(), 12345);
  EXPECT_EQ(f0.health.consecutive_failures.load(), 3);
  EXPECT_EQ(f0.index, a0.index) << "same pool key: pooled connections stay in use";
  const auto& f1 = *fresh->models.at("a").replicas[1];
  EXPECT_EQ(f1.health.ejections.load(), 0);
  EXPECT_GE(f1.index, old->replica_count) << "a changed replica gets a new pool key";
  const auto& c0 = *fresh->models.at("c").replicas[0];
  EXPECT_GE(c0.index, old->replica_count) << "same URL under another model is not the same replica";
  EXPECT_NE(c0.index, f1.index);
  EXPECT_EQ(next, old->replica_count + 2);
  EXPECT_EQ(f0.reported.waiting.load(), 40);

  // A reload that drops the health check and the scraping: nothing would ever change the verdict
  // and the report again, so neither is carried (since session 30; the replica stayed down).
  auto unchecked = parse(R"(
models:
  - name: a
    replicas: [{url: "http://127.0.0.1:1"}]
)");
  std::size_t more = next;
  EXPECT_EQ(pipeline::carry_over_replicas(*fresh, *unchecked, more), 1u);
  const auto& u0 = *unchecked->models.at("a").replicas[0];
  EXPECT_FALSE(u0.health.down.load());
  EXPECT_EQ(u0.reported.waiting.load(), -1);
  EXPECT_EQ(u0.health.ejected_until_ms.load(), 12345) << "passive ejection state is kept";
}

// A file whose start-up-only settings could not start a gateway is refused at reload (since
// session 27: it was applied, and the next restart failed).
TEST(Reloader, AFileThatCouldNotStartIsFoundAtReload) {
  const std::string models = "models:\n  - name: m\n    replicas: [{url: \"http://127.0.0.1:1\"}]\n";
  ::unsetenv("SB_RELOAD_UNSET_ADMIN_KEY");
  auto unset = config::parse_config(
      "admin: {listen: 127.0.0.1:9, key_env: SB_RELOAD_UNSET_ADMIN_KEY}\n" + models, "a.yaml");
  ASSERT_TRUE(unset) << unset.error().message;
  auto e = admin::Reloader::would_not_start(**unset);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("SB_RELOAD_UNSET_ADMIN_KEY"), std::string::npos) << e->message;
  ::setenv("SB_RELOAD_UNSET_ADMIN_KEY", "k", 1);
  EXPECT_FALSE(admin::Reloader::would_not_start(**unset));
  ::unsetenv("SB_RELOAD_UNSET_ADMIN_KEY");
  auto dir = config::parse_config("store: {sqlite: /tmp}\n" + models, "d.yaml");
  ASSERT_TRUE(dir);
  ASSERT_TRUE(admin::Reloader::would_not_start(**dir));
  EXPECT_NE(admin::Reloader::would_not_start(**dir)->message.find("is a directory"), std::string::npos);
  auto fine = config::parse_config(models, "f.yaml");
  EXPECT_FALSE(admin::Reloader::would_not_start(**fine));
}

TEST(Reloader, RestartOnlySettingsAreNamed) {
  auto a = config::parse_config(
      "models:\n  - name: m\n    replicas: [{url: \"http://127.0.0.1:1\"}]\n", "a.yaml");
  auto b = config::parse_config(
      "listen: 127.0.0.1:1234\nserver: {threads: 3}\nstore: {sqlite: x.db}\nadmin: {listen: "
      "127.0.0.1:9}\n"
      "models:\n  - name: m\n    replicas: [{url: \"http://127.0.0.1:1\"}]\n",
      "b.yaml");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(admin::Reloader::restart_only_changes(**a, **a), std::vector<std::string>{});
  EXPECT_EQ(admin::Reloader::restart_only_changes(**a, **b),
            (std::vector<std::string>{"listen", "server", "store", "admin"}));
  // The key service keeps its start-up settings while its database and Redis stay; `required`
  // is the new runtime's at once, and another database starts a new service with the new ones.
  const std::string models = "models:\n  - name: m\n    replicas: [{url: \"http://127.0.0.1:1\"}]\n";
  auto keyed = [&](const std::string& auth, const std::string& state) {
    auto c = config::parse_config(models + "auth: " + auth + "\n" + state, "k.yaml");
    EXPECT_TRUE(c) << c.error().message;
    return *c;
  };
  const std::string redis = "state: {redis: \"redis://127.0.0.1:6379/0\", fail_open: true}\n";
  auto k = keyed("{keys_db: k.db, meter: true}", redis);
  EXPECT_EQ(admin::Reloader::restart_only_changes(*k, *keyed("{keys_db: k.db, meter: true, required: true}", redis)),
            std::vector<std::string>{});
  EXPECT_EQ(admin::Reloader::restart_only_changes(*k, *keyed("{keys_db: k.db, meter: false}", redis)),
            std::vector<std::string>{"auth"});
  EXPECT_EQ(admin::Reloader::restart_only_changes(
                *k, *keyed("{keys_db: k.db, meter: true}",
                           "state: {redis: \"redis://127.0.0.1:6379/0\", fail_open: false}\n")),
            std::vector<std::string>{"state"});
  EXPECT_EQ(admin::Reloader::restart_only_changes(*k, *keyed("{keys_db: other.db, meter: false}", redis)),
            std::vector<std::string>{});
}
