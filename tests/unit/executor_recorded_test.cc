// The executor on the recorded-outcomes upstream, through the gateway's own stages (the offline
// runner): a single-model plan with fallbacks records what the HTTP path records — model, replica,
// attempts, status, outcome, usage, cost, stage spans — and a failing model falls back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "eval/offline_runner.h"
#include "pipeline/runtime.h"
#include "replay/recorded_upstream.h"

namespace switchboard {
namespace {

constexpr const char* kConfig = R"(
models:
  - name: big
    price: {input_per_mtok: 10, output_per_mtok: 30}
    replicas: [{url: "http://127.0.0.1:9", name: big-1}]
  - name: small
    price: {input_per_mtok: 1, output_per_mtok: 2}
    replicas: [{url: "http://127.0.0.1:9", name: small-1}]
routes:
  - name: auto
    policy: {type: static, model: big, fallbacks: [small]}
  - name: lean
    policy: {type: static, model: small}
    stages: {signals: off}
)";

data::Outcomes outcomes() {
  data::Outcomes o;
  data::PromptRecord r;
  r.id = "q1";
  r.messages = {{"user", "What is 2+2?"}};
  r.outcomes["big"] = {1.0, 0.0123, 850.0, std::string("The answer is 4.")};
  r.outcomes["small"] = {0.0, 0.0004, std::nullopt, std::string("5")};
  o.records.push_back(r);
  return o;
}

// Fails every call to one model as a refused connection would.
class FailingFor final : public Upstream {
 public:
  FailingFor(Upstream& inner, std::string model) : inner_(inner), model_(std::move(model)) {}
  boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> start(
      const ModelCall& call) override {
    if (call.model == model_)
      co_return make_error(ErrorKind::kUpstreamError, "upstream_unreachable", "connection refused");
    co_return co_await inner_.start(call);
  }

 private:
  Upstream& inner_;
  std::string model_;
};

struct Offline {
  std::shared_ptr<const config::Config> config;
  std::unique_ptr<pipeline::Runtime> runtime;
  Offline() {
    auto c = config::parse_config(kConfig, "executor_test.yaml");
    EXPECT_TRUE(c) << c.error().message;
    config = *c;
    auto rt = pipeline::build_runtime(config);
    EXPECT_TRUE(rt) << rt.error().message;
    runtime = std::move(*rt);
  }
};

std::string body(const std::string& route, bool stream = false) {
  nlohmann::json b = {{"model", route},
                      {"messages", {{{"role", "user"}, {"content", "What is 2+2?"}}}}};
  if (stream) {
    b["stream"] = true;
    b["stream_options"] = {{"include_usage", true}};
  }
  return b.dump();
}

std::vector<std::string> stage_names(const store::DecisionRecord& r) {
  std::vector<std::string> out;
  for (const auto& s : r.stages) out.push_back(s.name + ":" + s.outcome);
  return out;
}

TEST(ExecutorRecorded, ASinglePlanRecordsWhatTheHttpPathRecords) {
  Offline o;
  auto data = outcomes();
  replay::RecordedUpstream upstream(data);  // no prices: billed the recorded cost
  eval::OfflineRunner runner(*o.runtime, upstream);
  auto r = runner.run(body("auto"));
  EXPECT_EQ(r.status, 200u);
  auto answer = nlohmann::json::parse(r.body);
  EXPECT_EQ(answer["choices"][0]["message"]["content"], "The answer is 4.");
  const auto& rec = r.record;
  EXPECT_EQ(rec.route, "auto");
  EXPECT_EQ(rec.policy, "static");
  EXPECT_EQ(rec.model, "big");
  EXPECT_EQ(rec.replica, "big-1");
  EXPECT_EQ(rec.status, 200);
  EXPECT_EQ(rec.outcome, "ok");
  EXPECT_EQ(rec.tokens_source, "upstream");
  EXPECT_GT(rec.completion_tokens, 0);
  EXPECT_DOUBLE_EQ(rec.cost_usd, 0.0123);    // what the recorded call was billed
  EXPECT_DOUBLE_EQ(rec.upstream_ms, 850.0);  // the recorded latency
  ASSERT_EQ(rec.attempts.size(), 1u);
  EXPECT_EQ(rec.attempts[0].model, "big");
  EXPECT_EQ(rec.attempts[0].replica, "big-1");
  EXPECT_EQ(rec.attempts[0].result, "ok");
  EXPECT_EQ(rec.candidates.size(), 1u);
  EXPECT_EQ(stage_names(rec),
            (std::vector<std::string>{"parse:next", "signals:next", "decide:next", "execute:next",
                                      "record:next"}));
  ASSERT_TRUE(r.decision);
  EXPECT_EQ(r.decision->plan.fallbacks, std::vector<std::string>{"small"});
}

TEST(ExecutorRecorded, APricedModelIsChargedItsPriceForUsageThatReproducesTheRecordedCost) {
  Offline o;
  auto data = outcomes();
  replay::RecordedUpstream upstream(data, {{"big", {10, 30}}});
  eval::OfflineRunner runner(*o.runtime, upstream);
  auto rec = runner.run(body("auto")).record;
  EXPECT_EQ(rec.model, "big");
  EXPECT_DOUBLE_EQ(rec.cost_usd, (rec.prompt_tokens * 10.0 + rec.completion_tokens * 30.0) / 1e6);
  EXPECT_NEAR(rec.cost_usd, 0.0123, 30.0 / 1e6);  // within one completion token's price
}

TEST(ExecutorRecorded, AFailingModelFallsBackAndEveryAttemptIsRecorded) {
  Offline o;
  auto data = outcomes();
  replay::RecordedUpstream recorded(data);
  FailingFor upstream(recorded, "big");
  eval::OfflineRunner runner(*o.runtime, upstream);
  auto r = runner.run(body("auto"));
  EXPECT_EQ(r.status, 200u);
  const auto& rec = r.record;
  EXPECT_EQ(rec.model, "small");
  EXPECT_EQ(rec.replica, "small-1");
  EXPECT_DOUBLE_EQ(rec.cost_usd, 0.0004);
  ASSERT_EQ(rec.attempts.size(), 2u);
  EXPECT_EQ(rec.attempts[0].model, "big");
  EXPECT_EQ(rec.attempts[0].result, "upstream_unreachable");
  EXPECT_EQ(rec.attempts[1].model, "small");
  EXPECT_EQ(rec.attempts[1].result, "ok");
  EXPECT_NE(rec.reason.find("fell back to small"), std::string::npos) << rec.reason;
}

TEST(ExecutorRecorded, NoModelAnsweringIsA502WithTheLastError) {
  Offline o;
  auto data = outcomes();
  replay::RecordedUpstream recorded(data);
  FailingFor upstream(recorded, "small");
  eval::OfflineRunner runner(*o.runtime, upstream);
  auto r = runner.run(body("lean"));
  EXPECT_EQ(r.status, 502u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "upstream_unreachable");
  EXPECT_EQ(r.record.outcome, "upstream_error");
  EXPECT_EQ(r.record.error_code, "upstream_unreachable");
  // The route switches its signals stage off.
  EXPECT_EQ(stage_names(r.record),
            (std::vector<std::string>{"parse:next", "signals:off", "decide:next", "execute:error",
                                      "record:next"}));
}

TEST(ExecutorRecorded, StreamsAreRelayedAndMeteredFromTheUsageEvent) {
  Offline o;
  auto data = outcomes();
  replay::RecordedUpstream upstream(data);
  eval::OfflineRunner runner(*o.runtime, upstream);
  auto r = runner.run(body("auto", true));
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
  EXPECT_TRUE(r.record.stream);
  EXPECT_EQ(r.record.outcome, "ok");
  EXPECT_EQ(r.record.tokens_source, "upstream");
  EXPECT_DOUBLE_EQ(r.record.cost_usd, 0.0123);
}

TEST(ExecutorRecorded, BadInputIsAnsweredByTheParseStage) {
  Offline o;
  auto data = outcomes();
  replay::RecordedUpstream upstream(data);
  eval::OfflineRunner runner(*o.runtime, upstream);
  auto r = runner.run(R"({"model":"nope","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.record.error_code, "model_not_found");
  EXPECT_EQ(upstream.calls(), 0u);
  auto bad = runner.run("{not json");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(stage_names(bad.record), (std::vector<std::string>{"parse:error", "record:next"}));
}

}  // namespace
}  // namespace switchboard
