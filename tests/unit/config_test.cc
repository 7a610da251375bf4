#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/runtime.h"

using namespace switchboard;
using ::testing::HasSubstr;
using ::testing::AllOf;
using ::testing::Not;

namespace {

const char* kGood = R"(listen: 127.0.0.1:9000
server: {threads: 2, max_body_bytes: 1024}
models:
  - name: big
    price: {input_per_mtok: 10.0, output_per_mtok: 30.0, cached_input_per_mtok: 1.0, cache_write_input_per_mtok: 12.5}
    context_window: 128000
    replicas:
      - url: https://api.example.com/v1
        api_key_env: SB_TEST_KEY
        upstream_model: gpt-big
  - name: small
    replicas: [{url: "http://127.0.0.1:9001"}, {url: "http://127.0.0.1:9002"}]
routes:
  - name: auto
    policy: {type: static, model: small}
store: {sqlite: /tmp/x.db}
)";

std::string error_of(const std::string& yaml) {
  auto cfg = config::parse_config(yaml, "test.yaml");
  EXPECT_FALSE(cfg.ok()) << yaml;
  return cfg.ok() ? "" : cfg.error().message;
}

}  // namespace

TEST(Config, ParsesEveryDocumentedKey) {
  auto cfg = config::parse_config(kGood, "test.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const auto& c = **cfg;
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.threads, 2u);
  EXPECT_EQ(c.server.max_body_bytes, 1024u);
  ASSERT_EQ(c.models.size(), 2u);
  const auto& big = c.models[0];
  EXPECT_DOUBLE_EQ(big.price.input_per_mtok, 10.0);
  EXPECT_DOUBLE_EQ(big.price.cost(1000, 1000), 0.04);
  // Cached prompt tokens at the cached price (1.0 here), clamped to the prompt.
  ASSERT_TRUE(big.price.cached_input_per_mtok);
  EXPECT_DOUBLE_EQ(big.price.cost(1000, 1000, 800), (200 * 10.0 + 800 * 1.0 + 1000 * 30.0) / 1e6);
  EXPECT_DOUBLE_EQ(big.price.cost(1000, 0, 5000), 1000 * 1.0 / 1e6);
  EXPECT_DOUBLE_EQ(big.price.cost(1000, 0, -5), 1000 * 10.0 / 1e6);
  // Cache writes at the cache-write price (12.5 here), clamped to what the reads left.
  EXPECT_DOUBLE_EQ(big.price.cost(1000, 0, 100, 500), (400 * 10.0 + 100 * 1.0 + 500 * 12.5) / 1e6);
  EXPECT_DOUBLE_EQ(big.price.cost(1000, 0, 800, 500), (800 * 1.0 + 200 * 12.5) / 1e6);
  EXPECT_DOUBLE_EQ(big.price.cost(1000, 0, 0, -1), 1000 * 10.0 / 1e6);
  // Unset: the input price.
  EXPECT_FALSE(c.models[1].price.cached_input_per_mtok);
  EXPECT_FALSE(c.models[1].price.cache_write_input_per_mtok);
  EXPECT_DOUBLE_EQ(c.models[1].price.cost(100, 0, 100), c.models[1].price.cost(100, 0));
  EXPECT_DOUBLE_EQ(c.models[1].price.cost(100, 0, 0, 100), c.models[1].price.cost(100, 0));
  EXPECT_EQ(big.context_window, 128000);
  EXPECT_TRUE(big.replicas[0].endpoint.tls);
  EXPECT_EQ(big.replicas[0].endpoint.host, "api.example.com");
  EXPECT_EQ(big.replicas[0].endpoint.port, "443");
  EXPECT_EQ(big.replicas[0].endpoint.base_path, "");  // "/v1" is implied
  EXPECT_EQ(big.replicas[0].api_key_env, "SB_TEST_KEY");
  EXPECT_EQ(big.replicas[0].upstream_model, "gpt-big");
  EXPECT_EQ(c.models[1].replicas[1].id, "127.0.0.1:9002");
  EXPECT_EQ(c.models[1].balancer, "least_outstanding");
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].policy_type, "static");
  EXPECT_EQ(c.store.sqlite_path, "/tmp/x.db");
  EXPECT_NE(c.find_model("small"), nullptr);
  EXPECT_EQ(c.find_model("auto"), nullptr);
  EXPECT_NE(c.find_route("auto"), nullptr);
}

TEST(Config, ErrorsNameFileLineAndReason) {
  auto msg = error_of("models:\n  - name: a\n    replicas: [{url: 'http://h:1'}]\n    colour: red\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:4:"));
  EXPECT_THAT(msg, HasSubstr("unknown key 'colour'"));
}

TEST(Config, RejectsBadValues) {
  const std::string replica = "    replicas: [{url: 'http://h:1'}]\n";
  EXPECT_THAT(error_of("models: []\n"), HasSubstr("non-empty list"));
  EXPECT_THAT(error_of("models:\n  - name: a\n"), HasSubstr("needs a non-empty list of replicas"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    replicas: [{url: 'ftp://h'}]\n"), HasSubstr("http:// or https://"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    replicas: [{url: 'http://h:x1'}]\n"), HasSubstr("bad port"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    price: {input_per_mtok: -1}\n" + replica), HasSubstr("must be >= 0"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    price: {input_per_mtok: cheap}\n" + replica), HasSubstr("wrong type"));
  EXPECT_THAT(error_of("models:\n  - name: a\n" + replica + "  - name: a\n" + replica), HasSubstr("duplicate model name 'a'"));
  EXPECT_THAT(error_of("listen: nowhere\nmodels:\n  - name: a\n" + replica), HasSubstr("HOST:PORT"));
  EXPECT_THAT(error_of("listen: h:70000\nmodels:\n  - name: a\n" + replica), HasSubstr("0-65535"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    replicas: [{url: 'http://h:1', api_key_env: 'sk-abc def'}]\n"),
              HasSubstr("name an environment variable"));
  EXPECT_THAT(error_of("models:\n  - name: a\n" + replica + "routes:\n  - name: a\n    policy: {type: static, model: a}\n"),
              HasSubstr("already used"));
  EXPECT_THAT(error_of("models:\n  - name: a\n" + replica + "routes:\n  - name: r\n"), HasSubstr("needs a policy"));
  EXPECT_THAT(error_of("models: [unclosed\n"), HasSubstr("test.yaml:"));
  EXPECT_THAT(error_of(""), HasSubstr("empty"));
}

// Since session 27: a repeated key (yaml-cpp would keep the first silently), names with control
// characters or invalid UTF-8 (they end up in response headers and JSON), non-finite numbers,
// thread counts past a cast, an empty store path; files that are not regular or too large.
TEST(Config, RejectsRepeatsControlCharactersAndNonFiniteValues) {
  const std::string replica = "    replicas: [{url: 'http://h:1'}]\n";
  const std::string model = "models:\n  - name: a\n" + replica;
  EXPECT_THAT(error_of("listen: h:1\nlisten: h:2\n" + model), HasSubstr("key 'listen' appears twice"));
  EXPECT_THAT(error_of("server: {threads: 1, threads: 2}\n" + model), HasSubstr("appears twice in server"));
  EXPECT_THAT(error_of("models:\n  - name: \"a\\nb\"\n" + replica), HasSubstr("control characters"));
  EXPECT_THAT(error_of("models:\n  - name: \"a\\tb\"\n" + replica), HasSubstr("control characters"));
  EXPECT_THAT(error_of("models:\n  - name: \"a\xff\"\n" + replica), HasSubstr("valid UTF-8"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    replicas: [{url: \"http://h:1/v1\\r\\nX: y\"}]\n"),
              HasSubstr("control characters"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    price: {input_per_mtok: .inf}\n" + replica), HasSubstr("finite"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    price: {output_per_mtok: .nan}\n" + replica), HasSubstr("finite"));
  EXPECT_THAT(error_of("server: {threads: 4294967297}\n" + model), HasSubstr("and 1024"));
  EXPECT_THAT(error_of("server: {threads: -1}\n" + model), HasSubstr("between 0 (one per core)"));
  // 0 is the default, one thread per core (README's example writes it; it was refused).
  auto zero = config::parse_config("server: {threads: 0}\n" + model, "t.yaml");
  ASSERT_TRUE(zero) << zero.error().message;
  EXPECT_EQ((*zero)->server.threads, 0u);
  EXPECT_THAT(error_of(model + "store: {sqlite: ''}\n"), HasSubstr("store.sqlite must not be empty"));
  EXPECT_THAT(error_of("listen: localhost:9000\n" + model), HasSubstr("must be an IP address"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    replicas: [{url: 'http://u:pw@h:1'}]\n"),
              HasSubstr("must not hold credentials"));
  EXPECT_THAT(error_of("models:\n  - name: a\n    replicas: [{url: 'http://h:1/v1?x=1'}]\n"),
              HasSubstr("query"));
  // A second document is refused at its position, a leading `---` alone is one document.
  EXPECT_THAT(error_of(model + "---\nlisten: h:2\n"),
              AllOf(HasSubstr("test.yaml:4:1:"), HasSubstr("second YAML document")));
  EXPECT_TRUE(config::parse_config("---\n" + model, "t.yaml"));
  EXPECT_TRUE(config::parse_config("# a comment\n%YAML 1.2\n--- # the one document\n" + model, "t.yaml"));
  // Content after a `...` end marker, or after a flow-style root, is a second document too (it
  // was silently dropped: an `auth:` section after `...` left the gateway without keys).
  EXPECT_THAT(error_of(model + "...\nauth: {required: true}\n"),
              AllOf(HasSubstr("test.yaml:5:1:"), HasSubstr("second YAML document")));
  EXPECT_THAT(error_of("{listen: 'h:1'}\n" + model), HasSubstr("second YAML document"));
  EXPECT_THAT(error_of("---\n---\n" + model), HasSubstr("second YAML document"));
  EXPECT_TRUE(config::parse_config(model + "...\n", "t.yaml"));
  EXPECT_TRUE(config::parse_config("\xEF\xBB\xBF# a comment\n---\n" + model, "t.yaml"));  // BOM
  // yaml-cpp's LoadAll looped without end on this (fuzz/corpus/config/yaml_loadall_loop): at most
  // two documents are asked of its parser, and the first one loaded alone.
  EXPECT_FALSE(config::parse_config(
      "# Bui# Built-in demo: three models, each stateserved by lt-in demo: three moa ed by a "
      "local replay backend (recorded anss:\n    ,  - url: http://127.0.0.1ke run` st:9103\n"
      "store: {sqlite: ./.demo/switchboard.dbart}\n",
      "t.yaml"));
  EXPECT_TRUE(config::parse_config("listen: '[::1]:9000'\n" + model, "t.yaml"));
  // Non-ASCII UTF-8 names are fine.
  EXPECT_TRUE(config::parse_config("models:\n  - name: modèle\n" + replica, "t.yaml"));
  auto dev = config::load_config("/dev/zero");
  ASSERT_FALSE(dev);
  EXPECT_THAT(dev.error().message, HasSubstr("not a regular file"));
  auto dir = config::load_config("/tmp");
  ASSERT_FALSE(dir);
  EXPECT_THAT(dir.error().message, HasSubstr("not a regular file"));
}

// pass_headers: only anthropic-beta, only on Anthropic replicas; off by default.
TEST(Config, ReplicaPassHeaders) {
  auto on = config::parse_config(
      "models:\n  - name: a\n    replicas: [{url: 'http://h:1', api: anthropic, pass_headers: [anthropic-beta]},"
      " {url: 'http://h:2', api: anthropic}]\n",
      "p.yaml");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE((*on)->models[0].replicas[0].pass_anthropic_beta);
  EXPECT_FALSE((*on)->models[0].replicas[1].pass_anthropic_beta);
  for (const char* bad : {"{url: 'http://h:1', api: anthropic, pass_headers: [authorization]}",
                          "{url: 'http://h:1', pass_headers: [anthropic-beta]}"}) {
    auto r = config::parse_config(std::string("models:\n  - name: a\n    replicas: [") + bad + "]\n",
                                  "p.yaml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("pass_headers")) << bad;
  }
}

// Clients are told a replica's name, or its position when it has none — never its address.
TEST(Config, ReplicaPublicNamesAreTheNameOrThePosition) {
  auto cfg = config::parse_config(
      "models:\n  - name: a\n    replicas: [{url: 'http://h:1'}, {url: 'http://h:2', name: gpu-b},"
      " {url: 'http://h:3'}]\n",
      "n.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const auto& r = (*cfg)->models[0].replicas;
  EXPECT_EQ(r[0].id, "h:1");
  EXPECT_EQ(r[0].public_name, "#1");
  EXPECT_EQ(r[0].label, "replica #1 of a");
  EXPECT_EQ(r[1].public_name, "gpu-b");
  EXPECT_EQ(r[1].label, "replica gpu-b of a");
  EXPECT_EQ(r[2].public_name, "#3");
  // A name that looks like another's position would show two replicas under one name.
  EXPECT_THAT(error_of("models:\n  - name: a\n    replicas: [{url: 'http://h:1', name: '#2'}, {url: 'http://h:2'}]\n"),
              HasSubstr("starts with '#'"));
}

TEST(Config, ReplicaApi) {
  auto cfg = config::parse_config(
      "models:\n  - name: a\n    replicas: [{url: 'http://h:1'}, {url: 'http://h:2', api: anthropic}]\n",
      "api.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ((*cfg)->models[0].replicas[0].api, "chat");
  EXPECT_EQ((*cfg)->models[0].replicas[1].api, "anthropic");
  EXPECT_THAT(error_of("models:\n  - name: a\n    replicas: [{url: 'http://h:1', api: grpc}]\n"),
              HasSubstr("api must be chat, anthropic or responses"));
  auto responses = config::parse_config(
      "models:\n  - name: a\n    replicas: [{url: 'http://h:1', api: responses}]\n", "api.yaml");
  ASSERT_TRUE(responses.ok()) << responses.error().message;
  EXPECT_EQ((*responses)->models[0].replicas[0].api, "responses");
}

TEST(Config, ModelReasoning) {
  auto cfg = config::parse_config(
      "models:\n  - name: a\n    replicas: [{url: 'http://h:1'}]\n"
      "  - name: b\n    reasoning: on\n    replicas: [{url: 'http://h:2'}]\n"
      "  - name: c\n    reasoning: off\n    replicas: [{url: 'http://h:3'}]\n",
      "reasoning.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ((*cfg)->models[0].reasoning, config::ReasoningMode::kAuto);
  EXPECT_EQ((*cfg)->models[1].reasoning, config::ReasoningMode::kOn);
  EXPECT_EQ((*cfg)->models[2].reasoning, config::ReasoningMode::kOff);
  EXPECT_THAT(error_of("models:\n  - name: a\n    reasoning: maybe\n    replicas: [{url: 'http://h:1'}]\n"),
              AllOf(HasSubstr("test.yaml:3:"), HasSubstr("reasoning must be auto, on or off")));
}

// `prefill: continue` asks chat replicas to continue a Messages prefill; `turn` (the default) does
// not; anything else is refused where it is written.
TEST(Config, ModelPrefill) {
  auto cfg = config::parse_config(
      "models:\n  - name: a\n    replicas: [{url: 'http://h:1'}]\n"
      "  - name: b\n    prefill: continue\n    replicas: [{url: 'http://h:2'}]\n"
      "  - name: c\n    prefill: turn\n    replicas: [{url: 'http://h:3'}]\n",
      "prefill.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_FALSE((*cfg)->models[0].continue_prefill);
  EXPECT_TRUE((*cfg)->models[1].continue_prefill);
  EXPECT_FALSE((*cfg)->models[2].continue_prefill);
  EXPECT_THAT(error_of("models:\n  - name: a\n    prefill: yes\n    replicas: [{url: 'http://h:1'}]\n"),
              AllOf(HasSubstr("test.yaml:3:"), HasSubstr("prefill must be turn or continue")));
}

TEST(Config, RuntimeValidatesPoliciesBalancersAndKeys) {
  auto build = [](const std::string& yaml) {
    auto cfg = config::parse_config(yaml, "rt.yaml");
    EXPECT_TRUE(cfg.ok()) << (cfg.ok() ? "" : cfg.error().message);
    auto rt = pipeline::build_runtime(*cfg);
    return rt.ok() ? std::string() : rt.error().message;
  };
  const std::string model = "models:\n  - name: a\n    replicas: [{url: 'http://h:1'}]\n";
  EXPECT_EQ(build(model + "routes:\n  - name: r\n    policy: {type: static, model: a}\n"), "");
  EXPECT_THAT(build(model + "routes:\n  - name: r\n    policy: {type: magic}\n"),
              HasSubstr("rt.yaml:6:13: unknown policy type 'magic' (known: "));
  EXPECT_THAT(build(model + "routes:\n  - name: r\n    policy: {type: static, model: b}\n"),
              HasSubstr("unknown model 'b'"));
  EXPECT_THAT(build(model + "routes:\n  - name: r\n    policy: {type: static, model: a, speed: 3}\n"),
              HasSubstr("unknown key 'speed'"));
  EXPECT_THAT(build("models:\n  - name: a\n    balancer: psychic\n    replicas: [{url: 'http://h:1'}]\n"),
              HasSubstr("unknown balancer 'psychic'"));
  // A budget moves traffic through the policy's λ: on a policy that never weighs cost it is
  // refused (it was accepted and did nothing); a cost-weighing one, or a cascade it starts, takes it.
  EXPECT_THAT(build(model + "routes:\n  - name: r\n    budget: {usd_per_hour: 1}\n"
                            "    policy: {type: static, model: a}\n"),
              AllOf(HasSubstr("rt.yaml:7:13:"), HasSubstr("route 'r' has a budget, but its 'static' "
                                                       "policy never weighs cost")));
  EXPECT_THAT(build(model + "routes:\n  - name: r\n    budget: {usd_per_hour: 1}\n"
                            "    policy: {type: rules, rules: [], default: a}\n"),
              HasSubstr("'rules' policy never weighs cost"));
  EXPECT_EQ(build(model + "routes:\n  - name: r\n    budget: {usd_per_hour: 1}\n    policy: {type: elo}\n"), "");
  // Multi-call bounds and thresholds: the key named, nonsense numbers refused (since session 27).
  const std::string cascade = model + "  - name: b\n    replicas: [{url: 'http://h:2'}]\n"
                              "routes:\n  - name: r\n    policy:\n      type: cascade\n";
  const std::string tiers = "      tiers: [{model: a, judge: agreement, threshold: 0.5}, {model: b}]\n";
  EXPECT_EQ(build(cascade + tiers), "");
  EXPECT_THAT(build(cascade + "      max_calls: many\n" + tiers), HasSubstr("max_calls must be an integer"));
  EXPECT_THAT(build(cascade + "      deadline_ms: 3000000000\n" + tiers), HasSubstr("deadline_ms must be an integer"));
  EXPECT_THAT(build(cascade + "      max_cost: .nan\n" + tiers), HasSubstr("max_cost must be a finite"));
  EXPECT_THAT(build(cascade + "      threshold: .nan\n" + tiers), HasSubstr("threshold must be a finite"));
  EXPECT_THAT(build(model + "  - name: b\n    replicas: [{url: 'http://h:2'}]\nroutes:\n  - name: r\n"
                    "    policy: {type: ensemble, members: [a, b], member_quality: [.nan, 0.5]}\n"),
              HasSubstr("member_quality must hold finite numbers"));
  // Values of the wrong kind name their key and position, not yaml-cpp's "bad conversion".
  EXPECT_THAT(build(cascade + "      tiers: [{model: a, judge: agreement, threshold: high}, {model: b}]\n"),
              AllOf(HasSubstr("rt.yaml:10:55:"), HasSubstr("threshold must be a finite number"),
                    HasSubstr("(got 'high')")));
  EXPECT_THAT(build(cascade + "      tiers: [{model: a, judge: agreement, threshold: 0.5, logprobs: maybe}, {model: b}]\n"),
              HasSubstr("logprobs must be true or false (got 'maybe')"));
  const std::string ensemble = model + "  - name: b\n    replicas: [{url: 'http://h:2'}]\nroutes:\n  - name: r\n"
                               "    policy: {type: ensemble, ";
  EXPECT_THAT(build(ensemble + "recruit: {policy: {type: static, model: a}, k: two}}\n"),
              HasSubstr("recruit.k must be a whole number of members (got 'two')"));
  EXPECT_THAT(build(ensemble + "members: [a, b], aggregator: {type: synthesize, model: a, template: [1]}}\n"),
              HasSubstr("template must be a text"));
  EXPECT_THAT(build(ensemble + "members: [a, b], aggregator: [1]}\n"),
              AllOf(HasSubstr("rt.yaml:8:59:"), HasSubstr("aggregator is `vote`")));
  EXPECT_THAT(build(ensemble + "members: [a, b], aggregator: {type: vote, size: 2}}\n"),
              AllOf(HasSubstr("rt.yaml:8:72:"), HasSubstr("unknown key 'size' in an aggregator")));
  EXPECT_THAT(build(ensemble + "members: [a, b], member_quality: {a: 1}}\n"),
              HasSubstr("member_quality must be a list of finite numbers"));
  for (const char* bad : {"bad conversion", "bad_conversion"})
    EXPECT_THAT(build(ensemble + "recruit: {policy: {type: static, model: a}, max_cost: cheap}}\n"),
                AllOf(HasSubstr("recruit.max_cost must be a USD amount"), Not(HasSubstr(bad))));
  unsetenv("SB_SURELY_UNSET_KEY");
  EXPECT_THAT(build("models:\n  - name: a\n    replicas: [{url: 'http://h:1', api_key_env: SB_SURELY_UNSET_KEY}]\n"),
              HasSubstr("$SB_SURELY_UNSET_KEY, which is not set"));
  setenv("SB_SET_KEY", "sk-secret", 1);
  auto cfg = config::parse_config("models:\n  - name: a\n    replicas: [{url: 'http://h:1', api_key_env: SB_SET_KEY}]\n", "k");
  auto rt = pipeline::build_runtime(*cfg);
  ASSERT_TRUE(rt.ok());
  EXPECT_EQ((*rt)->find_model("a")->authorization[0], "Bearer sk-secret");
  // A key file's trailing newline is dropped; a line break inside the key (it would split the
  // Authorization header) is refused at load, naming the variable and not the value.
  setenv("SB_SET_KEY", "  sk-secret\n", 1);
  rt = pipeline::build_runtime(*cfg);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  EXPECT_EQ((*rt)->find_model("a")->authorization[0], "Bearer sk-secret");
  setenv("SB_SET_KEY", "sk-se\r\nX-Injected: 1", 1);
  EXPECT_THAT(build("models:\n  - name: a\n    replicas: [{url: 'http://h:1', api_key_env: SB_SET_KEY}]\n"),
              AllOf(HasSubstr("$SB_SET_KEY holds a control character"), Not(HasSubstr("Injected"))));
  setenv("SB_SET_KEY", " \n", 1);
  EXPECT_THAT(build("models:\n  - name: a\n    replicas: [{url: 'http://h:1', api_key_env: SB_SET_KEY}]\n"),
              HasSubstr("$SB_SET_KEY, which is not set"));
  unsetenv("SB_SET_KEY");
}

TEST(Config, ParsesPoolKeys) {
  auto cfg = config::parse_config(R"(models:
  - name: m
    balancer: {type: prefix_affinity, balance_margin: 0.25}
    replicas:
      - {url: 'http://h:1', max_context: 32768, adapters: [sql, chat], max_adapters: 4}
      - {url: 'http://h:2'}
  - name: n
    balancer: p2c
    replicas: [{url: 'http://h:3'}]
)", "pool.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const auto& m = (*cfg)->models[0];
  EXPECT_EQ(m.balancer, "prefix_affinity");
  EXPECT_TRUE(m.balancer_options.IsMap());
  EXPECT_EQ(m.balancer_where, "pool.yaml:3:15");
  EXPECT_EQ(m.replicas[0].max_context, 32768);
  EXPECT_EQ(m.replicas[0].adapters, (std::vector<std::string>{"sql", "chat"}));
  EXPECT_EQ(m.replicas[0].max_adapters, 4);
  EXPECT_EQ(m.replicas[1].max_context, 0);
  EXPECT_EQ((*cfg)->models[1].balancer, "p2c");
  EXPECT_FALSE((*cfg)->models[1].balancer_options.IsMap());

  auto rt = pipeline::build_runtime(*cfg);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  const auto* mr = (*rt)->find_model("m");
  EXPECT_EQ(mr->replicas[0]->max_context, 32768);
  EXPECT_EQ(mr->replicas[1]->ordinal, 1u);
  EXPECT_EQ(mr->replicas[0]->adapters.size(), 2u);
  EXPECT_EQ(mr->balancer->prefix_blocking().block_chars, 1024u);

  const std::string head = "models:\n  - name: a\n";
  EXPECT_THAT(error_of(head + "    replicas: [{url: 'http://h:1', max_context: 0}]\n"), HasSubstr("max_context must be > 0"));
  EXPECT_THAT(error_of(head + "    replicas: [{url: 'http://h:1', adapters: sql}]\n"), HasSubstr("adapters must be a list"));
  EXPECT_THAT(error_of(head + "    replicas: [{url: 'http://h:1', adapters: [a, a]}]\n"), HasSubstr("duplicate adapter 'a'"));
  EXPECT_THAT(error_of(head + "    replicas: [{url: 'http://h:1', adapters: [a, b], max_adapters: 1}]\n"),
              HasSubstr("test.yaml:3:68: models[0].replicas[0].max_adapters is smaller than"));
  EXPECT_THAT(error_of(head + "    balancer: {balance_margin: 1}\n    replicas: [{url: 'http://h:1'}]\n"),
              HasSubstr("balancer needs a type"));
  // Balancer options are checked by the balancer when the runtime is built, with their location.
  auto bad = config::parse_config(head + "    balancer: {type: p2c,\n      sed: 1}\n    replicas: [{url: 'http://h:1'}]\n", "b.yaml");
  ASSERT_TRUE(bad.ok());
  auto bad_rt = pipeline::build_runtime(*bad);
  ASSERT_FALSE(bad_rt.ok());
  EXPECT_THAT(bad_rt.error().message, HasSubstr("b.yaml:4:7: unknown key 'sed' in p2c balancer"));
}

TEST(Config, ParsesUrls) {
  auto u = config::parse_url("http://10.0.0.1:8000/openai/v1/");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, "8000");
  EXPECT_EQ(u->base_path, "/openai");
  auto plain = config::parse_url("http://localhost");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, "80");
  EXPECT_FALSE(config::parse_url("http://:80").ok());
}

TEST(Config, ParsesIpv6UrlsAndTheHostHeader) {
  auto v6 = config::parse_url("http://[::1]:8080/v1");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");  // as the resolver takes it
  EXPECT_EQ(v6->port, "8080");
  EXPECT_EQ(v6->base_path, "");
  EXPECT_EQ(v6->host_header, "[::1]:8080");
  EXPECT_EQ(v6->authority(), "[::1]:8080");
  auto v6_default = config::parse_url("https://[2001:db8::5]/openai");
  ASSERT_TRUE(v6_default.ok());
  EXPECT_EQ(v6_default->host, "2001:db8::5");
  EXPECT_EQ(v6_default->port, "443");
  EXPECT_EQ(v6_default->host_header, "[2001:db8::5]");
  EXPECT_EQ(v6_default->base_path, "/openai");

  // The Host header names the port unless it is the scheme's default.
  EXPECT_EQ(config::parse_url("http://10.0.0.1:8000")->host_header, "10.0.0.1:8000");
  EXPECT_EQ(config::parse_url("http://example.com:80")->host_header, "example.com");
  EXPECT_EQ(config::parse_url("https://example.com:443/x")->host_header, "example.com");
  EXPECT_EQ(config::parse_url("https://example.com:80")->host_header, "example.com:80");
  EXPECT_EQ(config::parse_url("http://example.com:443")->host_header, "example.com:443");
  EXPECT_EQ(config::parse_url("http://example.com")->host_header, "example.com");

  EXPECT_FALSE(config::parse_url("http://[::1").ok());
  EXPECT_FALSE(config::parse_url("http://[::1]x").ok());
  EXPECT_FALSE(config::parse_url("http://::1:8080").ok());  // IPv6 needs brackets
  EXPECT_FALSE(config::parse_url("http://h:70000").ok());

  // A replica's default id is its authority, IPv6 in brackets.
  auto cfg = config::parse_config(
      "models:\n  - name: a\n    replicas: [{url: 'http://[::1]:9001'}]\n", "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ((*cfg)->models[0].replicas[0].id, "[::1]:9001");
}

TEST(Config, ParsesServerBoundsAndStoreRetention) {
  const std::string replica = "models:\n  - name: a\n    replicas: [{url: 'http://h:1'}]\n";
  auto defaults = config::parse_config(replica, "t.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ((*defaults)->server.max_connections, 0u);  // derived from the fd limit at start-up
  EXPECT_EQ((*defaults)->server.max_body_budget_bytes, std::size_t{1} << 30);
  EXPECT_EQ((*defaults)->server.upstream_idle_timeout, std::chrono::milliseconds(30'000));
  EXPECT_EQ((*defaults)->store.retention_days, 0);
  EXPECT_EQ((*defaults)->store.max_rows, 0);

  auto cfg = config::parse_config(
      "server: {max_connections: 5000, max_body_budget_bytes: 1048576, upstream_idle_timeout_ms: "
      "250}\n"
      "store: {sqlite: /tmp/x.db, retention_days: 30, max_rows: 1000000}\n" +
          replica,
      "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ((*cfg)->server.max_connections, 5000u);
  EXPECT_EQ((*cfg)->server.max_body_budget_bytes, 1048576u);
  EXPECT_EQ((*cfg)->server.upstream_idle_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ((*cfg)->store.retention_days, 30);
  EXPECT_EQ((*cfg)->store.max_rows, 1000000);

  EXPECT_THAT(error_of("server: {max_connections: 0}\n" + replica),
              HasSubstr("server.max_connections must be > 0"));
  EXPECT_THAT(error_of("server: {max_body_budget_bytes: -1}\n" + replica),
              HasSubstr("max_body_budget_bytes"));
  EXPECT_THAT(error_of("server: {upstream_idle_timeout_ms: 0}\n" + replica),
              HasSubstr("upstream_idle_timeout_ms"));
  EXPECT_THAT(error_of("store: {retention_days: 0}\n" + replica),
              HasSubstr("store.retention_days must be > 0"));
  EXPECT_THAT(error_of("store: {max_rows: -5}\n" + replica),
              HasSubstr("store.max_rows must be > 0"));
  EXPECT_THAT(error_of("store: {keep: 5}\n" + replica), HasSubstr("unknown key 'keep'"));
}
