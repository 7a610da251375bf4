// The `signals:` configuration section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"

using namespace switchboard;
using ::testing::HasSubstr;

namespace {
const std::string kModel = "models:\n  - name: a\n    replicas: [{url: 'http://h:1'}]\n";

std::string error_of(const std::string& yaml) {
  auto cfg = config::parse_config(yaml, "s.yaml");
  return cfg ? std::string() : cfg.error().message;
}
}  // namespace

TEST(SignalsConfig, DefaultsAndKeys) {
  auto plain = config::parse_config(kModel, "s.yaml");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ((*plain)->signals.weights_dir, "");
  EXPECT_EQ((*plain)->signals.embedding.provider, "glove");

  auto cfg = config::parse_config(kModel + R"(signals:
  weights_dir: /opt/w
  task_model: /opt/task.bin
  embedding: {provider: http, url: 'http://127.0.0.1:9000/v1', model: bge-small, api_key_env: EMB_KEY, timeout_ms: 500}
)",
                                  "s.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& s = (*cfg)->signals;
  EXPECT_EQ(s.weights_dir, "/opt/w");
  EXPECT_EQ(s.task_model, "/opt/task.bin");
  EXPECT_EQ(s.embedding.provider, "http");
  EXPECT_EQ(s.embedding.url, "http://127.0.0.1:9000/v1");
  EXPECT_EQ(s.embedding.model, "bge-small");
  EXPECT_EQ(s.embedding.api_key_env, "EMB_KEY");
  EXPECT_EQ(s.embedding.timeout.count(), 500);
  EXPECT_EQ(s.where, "s.yaml:5:3");
}

TEST(SignalsConfig, ErrorsHaveFileLineColumn) {
  EXPECT_THAT(error_of(kModel + "signals: {weights: x}\n"),
              HasSubstr("s.yaml:4:11: unknown key 'weights' in signals"));
  EXPECT_THAT(error_of(kModel + "signals:\n  embedding: {provider: magic}\n"),
              HasSubstr("s.yaml:5:25: signals.embedding.provider must be glove or http"));
  EXPECT_THAT(error_of(kModel + "signals:\n  embedding: {provider: http}\n"),
              HasSubstr("s.yaml:5:14: signals.embedding with provider http needs url and model"));
  EXPECT_THAT(
      error_of(kModel + "signals:\n  embedding: {provider: http, url: 'ftp://x', model: m}\n"),
      HasSubstr("url must start with http://"));
  EXPECT_THAT(error_of(kModel + "signals:\n  embedding: {url: 'http://x'}\n"),
              HasSubstr("url, model and api_key_env are for provider http"));
  EXPECT_THAT(error_of(kModel + "signals: {weights_dir: ''}\n"),
              HasSubstr("signals.weights_dir must not be empty"));
}

TEST(SignalsConfig, RouteSignals) {
  auto cfg = config::parse_config(kModel + R"(routes:
  - name: r
    signals: [embedding, language]
    policy: {type: static, model: a}
)",
                                  "s.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ((*cfg)->routes[0].signals, (std::vector<std::string>{"embedding", "language"}));
  EXPECT_THAT(error_of(kModel + "routes:\n  - name: r\n    signals: [colour]\n    policy: {type: static, model: a}\n"),
              HasSubstr("s.yaml:6:15: routes[0].signals: unknown signal 'colour'"));
}
