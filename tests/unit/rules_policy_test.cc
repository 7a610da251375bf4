// The `rules` policy built through the gateway's own runtime (config → PolicyRegistry), on
// hand-made Signals with known answers; and the runtime's signal wiring with the real weights.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/chat_request.h"
#include "config/config.h"
#include "pipeline/runtime.h"
#include "signals/task_classifier.h"

using namespace switchboard;
using ::testing::HasSubstr;

namespace {

const std::string kModels = R"(models:
  - {name: general, replicas: [{url: 'http://h:1'}]}
  - {name: french, replicas: [{url: 'http://h:2'}]}
  - {name: coder, replicas: [{url: 'http://h:3'}]}
  - {name: long, replicas: [{url: 'http://h:4'}]}
  - {name: backup, replicas: [{url: 'http://h:5'}]}
routes:
  - name: r
    policy:
)";

const std::string kRules = R"(      type: rules
      rules:
        - name: long-context
          when: {prompt_tokens: {gt: 32000}}
          models: [long, backup]
        - name: non-english
          when: {all: [{language: {not: en}}, {not: {has_code: true}}]}
          model: french
          fallbacks: [general]
        - name: code
          when: {any: [{has_code: true}, {keywords: [python, "c++", Rust]}, {regex: "(?i)stack ?trace"}]}
          model: coder
        - when: {task: [math, physics], message_count: {gte: 2, lte: 3}}
          model: backup
      default: {model: general, fallbacks: [backup]}
)";

struct Built {
  std::shared_ptr<const config::Config> cfg;
  std::unique_ptr<pipeline::Runtime> rt;
  std::string error;
};

const std::string* task_model_path = nullptr;

// A task classifier trained here on a few labelled prompts (also exercises train_task_classifier).
std::string task_model() {
  static std::string path = [] {
    data::Outcomes o;
    const char* math[] = {"solve the equation x squared plus two", "what is the integral of sine",
                          "compute the derivative of the polynomial",
                          "prove the triangle inequality"};
    const char* chat[] = {"tell me a joke about cats", "how was your day today friend",
                          "recommend a movie for tonight", "what should I cook for dinner"};
    int id = 0;
    for (int rep = 0; rep < 5; ++rep)
      for (int i = 0; i < 4; ++i) {
        o.records.push_back({std::to_string(id++), {{"user", math[i]}}, "math", {}});
        o.records.push_back({std::to_string(id++), {{"user", chat[i]}}, "chat", {}});
      }
    std::string out = (std::filesystem::temp_directory_path() /
                       ("sb-task-" + std::to_string(::getpid()) + ".bin"))
                          .string();
    auto r = signals::train_task_classifier(o, out);
    EXPECT_TRUE(r) << r.error().message;
    task_model_path = new std::string(out);  // outlives static destructors, for the atexit handler
    std::atexit([] { std::filesystem::remove(*task_model_path); });
    return out;
  }();
  return path;
}

Built build(const std::string& policy_yaml, bool with_task_model = true) {
  Built b;
  std::string signals_yaml =
      with_task_model ? "signals: {task_model: '" + task_model() + "'}\n" : "";
  auto cfg = config::parse_config(kModels + policy_yaml + signals_yaml, "rules.yaml");
  if (!cfg) {
    b.error = cfg.error().message;
    return b;
  }
  b.cfg = *cfg;
  // Nothing here reads weights except language/task, which the runtime loads; point at the real
  // dir.
  auto rt = pipeline::build_runtime(b.cfg);
  if (!rt) {
    b.error = rt.error().message;
    return b;
  }
  b.rt = std::move(*rt);
  return b;
}

Signals english() {
  Signals s;
  s.prompt_tokens = 100;
  s.message_count = 1;
  s.language = "en";
  return s;
}

Decision decide(const pipeline::Runtime& rt, const Signals& s, std::string_view prompt = "hello") {
  RouteRequest rr;
  rr.route = "r";
  rr.prompt_text = prompt;
  auto d = rt.decide("r", rr, s);
  EXPECT_TRUE(d) << d.error().message;
  return d ? *d : Decision{};
}

}  // namespace

TEST(RulesPolicy, FirstMatchingRuleInOrderElseDefault) {
  auto b = build(kRules);
  ASSERT_TRUE(b.rt) << b.error;
  const auto& rt = *b.rt;

  auto d = decide(rt, english());
  EXPECT_EQ(d.plan.model, "general");
  EXPECT_EQ(d.policy, "rules");
  EXPECT_EQ(d.plan.fallbacks, std::vector<std::string>{"backup"});
  EXPECT_EQ(d.reason, "no rule matched; default");

  Signals fr = english();
  fr.language = "fr";
  d = decide(rt, fr);
  EXPECT_EQ(d.plan.model, "french");
  EXPECT_EQ(d.plan.fallbacks, std::vector<std::string>{"general"});
  EXPECT_THAT(d.reason,
              HasSubstr("rule 2 'non-english' matched: (language is not en and not has code)"));

  Signals fr_code = fr;
  fr_code.has_code = true;
  EXPECT_EQ(decide(rt, fr_code).plan.model, "coder");  // NOT excluded rule 2; rule 3 matches

  Signals long_fr = fr;
  long_fr.prompt_tokens = 40000;  // rule 1 comes first
  d = decide(rt, long_fr);
  EXPECT_EQ(d.plan.model, "long");
  EXPECT_EQ(d.plan.fallbacks, std::vector<std::string>{"backup"});
  long_fr.prompt_tokens = 32000;  // gt, not gte
  EXPECT_EQ(decide(rt, long_fr).plan.model, "french");
}

TEST(RulesPolicy, KeywordsAreCaseInsensitiveWholeWords) {
  auto b = build(kRules);
  ASSERT_TRUE(b.rt) << b.error;
  EXPECT_EQ(decide(*b.rt, english(), "How do I read a file in PYTHON?").plan.model, "coder");
  EXPECT_EQ(decide(*b.rt, english(), "is c++ faster than java").plan.model, "coder");
  EXPECT_EQ(decide(*b.rt, english(), "the rusty nail").plan.model, "general");  // not a whole word
  EXPECT_EQ(decide(*b.rt, english(), "pythonic ways").plan.model, "general");   // not a whole word
  EXPECT_EQ(decide(*b.rt, english(), "here is my Stack Trace:").plan.model, "coder");  // regex, (?i)
  EXPECT_THAT(decide(*b.rt, english(), "rust").reason, HasSubstr("rule 3 'code' matched"));
}

TEST(RulesPolicy, TaskAndCountsInOneMappingAreAnded) {
  auto b = build(kRules);
  ASSERT_TRUE(b.rt) << b.error;
  Signals s = english();
  s.task = "math";
  EXPECT_EQ(decide(*b.rt, s).plan.model, "general");  // one message
  s.message_count = 2;
  EXPECT_EQ(decide(*b.rt, s).plan.model, "backup");
  EXPECT_THAT(decide(*b.rt, s).reason,
              HasSubstr("rule 4 matched: (task is one of math, physics and message_count >= 2"));
  s.task = "chat";
  EXPECT_EQ(decide(*b.rt, s).plan.model, "general");
}

TEST(RulesPolicy, NeedsWhatItReads) {
  auto b = build(R"(      type: rules
      rules:
        - {when: {has_code: true}, model: coder}
        - {when: {prompt_tokens: {gt: 10}}, model: long}
      default: general
)");
  ASSERT_TRUE(b.rt) << b.error;
  SignalNeeds n = b.rt->find_route("r")->policy->needs();
  EXPECT_TRUE(n.code);
  EXPECT_FALSE(n.language);
  EXPECT_FALSE(n.embedding);
  EXPECT_FALSE(n.task);
}

TEST(RulesPolicy, ValidationErrorsHaveFileLineColumn) {
  auto err = [](const std::string& yaml) { return build(yaml).error; };
  EXPECT_THAT(
      err("      type: rules\n      rules: []\n      default: nobody\n"),
      HasSubstr("rules.yaml:12:16: default names 'nobody', which is not a configured model"));
  EXPECT_THAT(err("      type: rules\n      rules: [{when: {colour: red}, model: coder}]\n      "
                  "default: general\n"),
              HasSubstr("rules.yaml:11:23: unknown condition 'colour'"));
  EXPECT_THAT(err("      type: rules\n      rules: [{when: {regex: 'a(b'}, model: coder}]\n      "
                  "default: general\n"),
              HasSubstr("rules.yaml:11:30: regex is not a valid RE2 pattern: missing ): a(b"));
  EXPECT_THAT(err("      type: rules\n      rules: [{when: {prompt_tokens: {above: 3}}, model: "
                  "coder}]\n      default: general\n"),
              HasSubstr("rules.yaml:11:39: unknown comparison 'above'"));
  EXPECT_THAT(err("      type: rules\n      rules: [{when: {has_code: maybe}, model: coder}]\n     "
                  " default: general\n"),
              HasSubstr("has_code must be true or false"));
  EXPECT_THAT(
      err("      type: rules\n      rules: [{when: {has_code: true}}]\n      default: general\n"),
      HasSubstr("rules[0] needs `model:` or `models:`"));
  EXPECT_THAT(err("      type: rules\n      rules: [{when: {has_code: true}, model: coder, colour: "
                  "1}]\n      default: general\n"),
              HasSubstr("unknown key 'colour' in rules[0]"));
  EXPECT_THAT(err("      type: rules\n      rules: [{when: {any: []}, model: coder}]\n      "
                  "default: general\n"),
              HasSubstr("any must be a non-empty list of conditions"));
  EXPECT_THAT(err("      type: rules\n      rules: []\n"), HasSubstr("needs `default:`"));
  EXPECT_THAT(err("      type: rules\n      rules: [{when: {language: {is: fr}}, model: coder}]\n  "
                  "    default: general\n"),
              HasSubstr("language as a mapping must be {not: VALUE or [VALUES]}"));
}

TEST(RulesPolicy, TaskRuleWithoutClassifierFailsAtStartup) {
  auto b = build(R"(      type: rules
      rules: [{when: {task: math}, model: coder}]
      default: general
)",
                 false);
  EXPECT_FALSE(b.rt);
  EXPECT_THAT(b.error, HasSubstr("route 'r' (rules) reads signals task"));
  EXPECT_THAT(b.error, HasSubstr("switchboard train --policy task"));
}

// The runtime computes each route's signals with the real weights (installed by `make weights`).
TEST(RulesPolicy, RuntimeComputesTheRoutesSignals) {
  auto b = build(R"(      type: rules
      rules:
        - {when: {language: {not: en}}, model: french}
        - {when: {has_code: true}, model: coder}
      default: general
)");
  ASSERT_TRUE(b.rt) << b.error << " (run `make weights`)";
  auto pick = [&](const std::string& prompt) {
    std::string body = R"({"model":"r","messages":[{"role":"user","content":)" +
                       nlohmann::json(prompt).dump() + "}]}";
    auto req = api::parse_chat_request(body);
    EXPECT_TRUE(req);
    Signals s = b.rt->signals_for(*req);
    RouteRequest rr = pipeline::route_request(*req);
    auto d = b.rt->decide("r", rr, s);
    return d ? d->plan.model : std::string("error");
  };
  EXPECT_EQ(pick("Quelle est la meilleure façon d'apprendre une langue étrangère rapidement ?"),
            "french");
  EXPECT_EQ(pick("Why does this crash?\n```c\nint *p = 0;\n*p = 1;\n```"), "coder");
  EXPECT_EQ(pick("What is the best way to learn a foreign language quickly?"), "general");
  // The task signal from the classifier trained above.
  auto b2 = build(
      "      type: rules\n      rules: [{when: {task: math}, model: coder}]\n      default: "
      "general\n");
  ASSERT_TRUE(b2.rt) << b2.error;
  auto req2 = api::parse_chat_request(
      R"({"model":"r","messages":[{"role":"user","content":"what is the derivative of the integral"}]})");
  ASSERT_TRUE(req2);
  Signals s2 = b2.rt->signals_for(*req2);
  EXPECT_EQ(s2.task, "math");
  EXPECT_GT(s2.task_confidence, 0.5f);
  EXPECT_EQ(b2.rt->decide("r", pipeline::route_request(*req2), s2)->plan.model, "coder");
  // A configured model name gets only the always-present signals.
  auto req = api::parse_chat_request(
      R"({"model":"general","messages":[{"role":"user","content":"Bonjour à tous"}]})");
  ASSERT_TRUE(req);
  EXPECT_TRUE(b.rt->signals_for(*req).language.empty());
}
