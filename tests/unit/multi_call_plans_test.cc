// The multi-call plans (pipeline/plans/cascade_plan.cc, ensemble_plan.cc) through the gateway's
// own stages and executor on recorded answers: escalation, acceptance, bounds, failed and slow
// members, vote ties, best-of, streaming of a buffered answer, and the record's calls. The judge
// here is registered by the test ("test_same": agreement of the trimmed answers), so these tests
// do not depend on the judges in src/judges/.
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "eval/offline_runner.h"
#include "pipeline/runtime.h"
#include "replay/recorded_upstream.h"
#include "store/decision_store.h"
#include "switchboard/judge.h"
#include "switchboard/policy.h"

namespace switchboard {
namespace {

// Confidence = the share of answers equal (trimmed) to the most common one; unavailable when an
// answer contains "??"; scores: each answer's share of equal answers, or (`right`) 1 for an answer
// containing "right", else 0.
class SameJudge final : public Judge {
 public:
  explicit SameJudge(bool right) : right_(right) {}
  Verdict judge(const JudgeInput& in) const override {
    Verdict v;
    std::map<std::string, int> count;
    for (const auto& a : in.answers) {
      std::string t(a.text);
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
      if (t.find("??") != std::string::npos) {
        v.available = false;
        v.note = "unreadable answer";
      }
      v.extracted.push_back(t);
      ++count[t];
    }
    for (const auto& e : v.extracted)
      v.scores.push_back(right_ ? (e.find("right") != std::string::npos ? 1.0 : 0.0)
                                : static_cast<double>(count[e]) / in.answers.size());
    int top = 0;
    for (const auto& [_, n] : count) top = std::max(top, n);
    v.confidence = in.answers.empty() ? 0 : static_cast<double>(top) / in.answers.size();
    if (!v.available) v.confidence = 0;
    return v;
  }

 private:
  bool right_;
};
const JudgeRegistrar kSame("test_same", [](const JudgeContext&) -> Result<std::unique_ptr<Judge>> {
  return std::unique_ptr<Judge>(std::make_unique<SameJudge>(false));
});
// Confidence 1 when the first answer contains "right", else 0 (a one-answer verifier).
class FirstRightJudge final : public Judge {
 public:
  Verdict judge(const JudgeInput& in) const override {
    Verdict v;
    v.confidence =
        !in.answers.empty() && in.answers[0].text.find("right") != std::string_view::npos ? 1 : 0;
    return v;
  }
};
const JudgeRegistrar kFirstRight("test_first_right",
                                 [](const JudgeContext&) -> Result<std::unique_ptr<Judge>> {
                                   return std::unique_ptr<Judge>(
                                       std::make_unique<FirstRightJudge>());
                                 });
// A nested policy for `threshold: utility`: chooses cheap1 and gives `strong` the utility 0.7.
class UtilityPolicy final : public Policy {
 public:
  Result<Decision> choose(const RouteRequest&, const Signals&) const override {
    Decision d;
    d.policy = "test_utility";
    d.plan.model = "cheap1";
    Candidate strong;
    strong.model = "strong";
    strong.predicted_quality = 0.9;
    strong.predicted_cost = 0.01;
    strong.utility = 0.7;
    d.candidates.push_back(strong);
    return d;
  }
};
const PolicyRegistrar kUtility("test_utility",
                               [](const PolicyContext&) -> Result<std::unique_ptr<Policy>> {
                                 return std::unique_ptr<Policy>(std::make_unique<UtilityPolicy>());
                               });
const JudgeRegistrar kRight("test_right",
                            [](const JudgeContext&) -> Result<std::unique_ptr<Judge>> {
                              return std::unique_ptr<Judge>(std::make_unique<SameJudge>(true));
                            });

constexpr const char* kConfig = R"(
models:
  - {name: cheap1, replicas: [{url: "http://127.0.0.1:9", name: c1}]}
  - {name: cheap2, replicas: [{url: "http://127.0.0.1:9", name: c2}]}
  - {name: cheap3, replicas: [{url: "http://127.0.0.1:9", name: c3}]}
  - name: strong
    price: {input_per_mtok: 100000, output_per_mtok: 100000}
    replicas: [{url: "http://127.0.0.1:9", name: s1}]
  - {name: narrow, context_window: 40, replicas: [{url: "http://127.0.0.1:9", name: n1}]}
  - name: hedged
    hedge: {after_ms: 20}
    replicas:
      - {url: "http://127.0.0.1:9", name: h1}
      - {url: "http://127.0.0.1:9", name: h2}
      - {url: "http://127.0.0.1:9", name: h3}
routes:
  - name: cascade_deadline_hedged
    policy:
      type: cascade
      deadline_ms: 200
      tiers:
        - {models: [cheap1, hedged], judge: test_same, threshold: 0.5}
        - {model: strong}
  - name: cascade
    policy:
      type: cascade
      tiers:
        - {models: [cheap1, cheap2], judge: test_same, threshold: 1}
        - {model: strong}
  - name: cascade_budget
    policy:
      type: cascade
      max_cost: 0.002
      tiers:
        - {models: [cheap1, cheap2], judge: test_same, threshold: 1}
        - {model: strong}
  - name: cascade_zero_budget
    policy:
      type: cascade
      max_cost: 0
      tiers:
        - {models: [cheap1, cheap2], judge: test_same, threshold: 1}
        - {model: strong}
  - name: cascade_forecast
    policy:
      type: cascade
      max_cost: 0.05
      tiers:
        - {models: [cheap1, cheap2], judge: test_same, threshold: 1}
        - {model: strong}
  - name: cascade_forecast_fits
    policy:
      type: cascade
      max_cost: 1000
      tiers:
        - {models: [cheap1, cheap2], judge: test_same, threshold: 1}
        - {model: strong}
  - name: cascade_skip
    policy:
      type: cascade
      max_calls: 2
      tiers:
        - {models: [cheap3, cheap1], judge: test_first_right, threshold: 1}
        - {model: cheap2, judge: test_first_right, threshold: 1}
        - {model: strong}
  - name: cascade_calls
    policy:
      type: cascade
      max_calls: 2
      tiers:
        - {models: [cheap1, cheap2], judge: test_same, threshold: 1}
        - {model: strong}
  - name: cascade_accept
    policy:
      type: cascade
      tiers:
        - {models: [cheap1, cheap2], judge: test_same, threshold: 1, on_unavailable: accept}
        - {model: strong}
  - name: cascade_deadline
    policy:
      type: cascade
      deadline_ms: 200
      tiers:
        - {models: [cheap1, cheap2], judge: test_same, threshold: 0.5}
        - {model: strong}
  - name: cascade_reuse
    policy:
      type: cascade
      tiers:
        - {model: cheap1, judge: test_first_right, threshold: 1}
        - {models: [cheap1, cheap3], judge: test_same, threshold: 1}
        - {model: strong}
  - name: cascade_utility
    policy:
      type: cascade
      first: {type: test_utility}
      tiers:
        - {models: [first], judge: test_first_right, threshold: utility}
        - {model: strong}
  - name: cascade_margin
    policy:
      type: cascade
      first: {type: test_utility}
      tiers:
        - {models: [first], judge: test_first_right, threshold: utility, margin: 0.5}
        - {model: strong}
  - name: vote
    policy: {type: ensemble, members: [cheap1, cheap2, cheap3], judge: test_same, aggregator: vote,
             member_quality: [0.3, 0.9, 0.5]}
  - name: vote_order
    policy: {type: ensemble, members: [cheap1, cheap2], aggregator: vote}
  - name: best_of
    policy: {type: ensemble, members: [cheap1, cheap2, cheap3], judge: test_right, aggregator: best-of}
  - name: synth
    policy: {type: ensemble, members: [cheap1, cheap2], aggregator: {type: synthesize, model: strong}}
  - name: synth_narrow
    policy: {type: ensemble, members: [cheap1, cheap2], aggregator: {type: synthesize, model: narrow}}
  - name: recruit
    policy: {type: ensemble, recruit: {policy: {type: static, model: cheap2, fallbacks: [cheap3, strong]}, k: 2}}
)";

data::PromptRecord record(const std::string& id, const std::string& prompt,
                          std::map<std::string, std::string> answers) {
  data::PromptRecord r;
  r.id = id;
  r.messages = {{"user", prompt}};
  double cost = 0.001;
  for (const auto& [model, text] : answers) {
    r.outcomes[model] = {model == "strong" ? 1.0 : 0.5, model == "strong" ? 0.01 : cost, 100.0,
                         text};
    cost += 0.001;
  }
  return r;
}

data::Outcomes outcomes() {
  data::Outcomes o;
  o.records.push_back(record(
      "agree", "agree?", {{"cheap1", "B"}, {"cheap2", "B\n"}, {"cheap3", "C"}, {"strong", "B"}}));
  o.records.push_back(record("split", "split?",
                             {{"cheap1", "A"}, {"cheap2", "C"}, {"cheap3", "C"}, {"strong", "D"}}));
  o.records.push_back(
      record("tie", "tie?", {{"cheap1", "A"}, {"cheap2", "B"}, {"cheap3", "E"}, {"strong", "D"}}));
  o.records.push_back(record(
      "odd", "odd?", {{"cheap1", "A ??"}, {"cheap2", "A ??"}, {"cheap3", "E"}, {"strong", "D"}}));
  o.records.push_back(
      record("best", "best?",
             {{"cheap1", "wrong"}, {"cheap2", "right"}, {"cheap3", "wrong"}, {"strong", "D"}}));
  o.records.push_back(record(
      "sure", "sure?", {{"cheap1", "right"}, {"cheap2", "x"}, {"cheap3", "y"}, {"strong", "D"}}));
  o.records.push_back(record(
      "reuse", "reuse?", {{"cheap1", "A"}, {"cheap2", "x"}, {"cheap3", "A\n"}, {"strong", "D"}}));
  return o;
}

// Fails one model as a refused connection would, or makes it hang for 10 s.
class Faulty final : public Upstream {
 public:
  Faulty(Upstream& inner, std::string model, bool hang)
      : inner_(inner), model_(std::move(model)), hang_(hang) {}
  boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> start(
      const ModelCall& call) override {
    ++calls_[std::string(call.model)];
    if (call.model == model_) {
      if (!hang_)
        co_return make_error(ErrorKind::kUpstreamError, "upstream_unreachable",
                             "connection refused");
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                  std::chrono::seconds(10));
      co_await t.async_wait(boost::asio::use_awaitable);
    }
    co_return co_await inner_.start(call);
  }
  std::map<std::string, int> calls_;

 private:
  Upstream& inner_;
  std::string model_;
  bool hang_;
};

struct Offline {
  std::shared_ptr<const config::Config> config;
  std::unique_ptr<pipeline::Runtime> runtime;
  data::Outcomes data = outcomes();
  replay::RecordedUpstream recorded{data};
  Offline() {
    auto c = config::parse_config(kConfig, "plans_test.yaml");
    EXPECT_TRUE(c) << c.error().message;
    config = *c;
    auto rt = pipeline::build_runtime(config);
    EXPECT_TRUE(rt) << rt.error().message;
    runtime = std::move(*rt);
  }
};

std::string body(const std::string& route, const std::string& prompt, bool stream = false) {
  nlohmann::json b = {{"model", route}, {"messages", {{{"role", "user"}, {"content", prompt}}}}};
  if (stream) {
    b["stream"] = true;
    b["stream_options"] = {{"include_usage", true}};
  }
  return b.dump();
}

std::string content(const eval::OfflineResult& r) {
  return nlohmann::json::parse(r.body)["choices"][0]["message"]["content"];
}

std::vector<std::string> called(const store::DecisionRecord& r) {
  std::vector<std::string> out;
  for (const auto& c : r.calls)
    out.push_back(c.model + "@" + std::to_string(c.tier) + ":" + c.result);
  return out;
}

double summed(const store::DecisionRecord& r) {
  double s = 0;
  for (const auto& c : r.calls) s += c.cost_usd;
  return s;
}

TEST(CascadePlan, AcceptsTheFirstTierWhenItsProbesAgree) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("cascade", "agree?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(content(r), "B");
  const auto& rec = r.record;
  EXPECT_EQ(rec.policy, "cascade");
  EXPECT_EQ(rec.model, "cheap1");
  EXPECT_EQ(called(rec), (std::vector<std::string>{"cheap1@0:ok", "cheap2@0:ok"}));
  EXPECT_TRUE(rec.calls[0].accepted);
  EXPECT_FALSE(rec.calls[1].accepted);
  ASSERT_TRUE(rec.calls[0].score);
  EXPECT_DOUBLE_EQ(*rec.calls[0].score, 1.0);
  EXPECT_DOUBLE_EQ(rec.cost_usd, 0.001 + 0.002);  // both probes paid
  EXPECT_DOUBLE_EQ(rec.cost_usd, summed(rec));
  EXPECT_NE(rec.calls[0].note.find("accept"), std::string::npos);
}

TEST(CascadePlan, EscalatesWhenTheJudgeIsUnsure) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("cascade", "split?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(content(r), "D");  // the intermediate answers never reach the client
  const auto& rec = r.record;
  EXPECT_EQ(rec.model, "strong");
  EXPECT_EQ(called(rec), (std::vector<std::string>{"cheap1@0:ok", "cheap2@0:ok", "strong@1:ok"}));
  EXPECT_FALSE(rec.calls[0].accepted);
  EXPECT_TRUE(rec.calls[2].accepted);
  EXPECT_DOUBLE_EQ(*rec.calls[0].score, 0.5);
  EXPECT_NE(rec.calls[0].note.find("escalate"), std::string::npos);
  EXPECT_DOUBLE_EQ(rec.cost_usd, 0.001 + 0.002 + 0.01);
}

TEST(CascadePlan, ALaterTierReusesAnEarlierAnswerWithoutCallingAgain) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  // cheap1 is unsure alone; with cheap3 it agrees: its answer, called once, is final.
  auto r = runner.run(body("cascade_reuse", "reuse?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(content(r), "A");
  auto rec = r.record;
  EXPECT_EQ(called(rec), (std::vector<std::string>{"cheap1@0:ok", "cheap3@1:ok"}));
  EXPECT_TRUE(rec.calls[0].accepted);
  EXPECT_DOUBLE_EQ(*rec.calls[0].score, 0.0);  // its own tier's verdict stays
  EXPECT_NE(rec.calls[0].note.find("tier 1: test_same 1.000 >= 1: accept"), std::string::npos)
      << rec.calls[0].note;
  EXPECT_DOUBLE_EQ(rec.cost_usd, 0.001 + 0.003);  // cheap1 paid once
  // Disagreeing, the two answers escalate to the strong model.
  r = runner.run(body("cascade_reuse", "split?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(content(r), "D");
  rec = r.record;
  EXPECT_EQ(called(rec), (std::vector<std::string>{"cheap1@0:ok", "cheap3@1:ok", "strong@2:ok"}));
  EXPECT_DOUBLE_EQ(rec.cost_usd, 0.001 + 0.003 + 0.01);
}

TEST(CascadePlan, AUtilityThresholdIsTheFinalModelsUtilityPlusTheMargin) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  // Threshold 0.7 (strong's utility): a sure answer (1) is kept, an unsure one (0) escalates.
  auto r = runner.run(body("cascade_utility", "sure?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(content(r), "right");
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap1@0:ok"}));
  EXPECT_NE(r.record.reason.find(">= 0.7]"), std::string::npos) << r.record.reason;
  r = runner.run(body("cascade_utility", "best?"));
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap1@0:ok", "strong@1:ok"}));
  // Margin 0.5: threshold 1.2, above any confidence: always escalates.
  r = runner.run(body("cascade_margin", "sure?"));
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap1@0:ok", "strong@1:ok"}));
  EXPECT_NE(r.record.reason.find(">= 1.2]"), std::string::npos) << r.record.reason;
}

TEST(CascadePlan, StopsAtTheCostBoundWithTheBestAnswerSoFar) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("cascade_budget", "split?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(content(r), "A");
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap1@0:ok", "cheap2@0:ok"}));
  EXPECT_NE(r.record.reason.find("stopped by max_cost"), std::string::npos) << r.record.reason;
  EXPECT_TRUE(r.record.calls[0].accepted);
}

TEST(CascadePlan, AZeroCostBoundStillMakesTheFirstTierButNeverEscalates) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("cascade_zero_budget", "split?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(content(r), "A");
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap1@0:ok", "cheap2@0:ok"}));
  EXPECT_NE(r.record.reason.find("stopped by max_cost"), std::string::npos) << r.record.reason;
}

// max_cost is a ceiling, not only a stop once reached: the next tier is not called when its
// forecast cost (list price × the prompt and the longest answer so far) would pass it.
TEST(CascadePlan, DoesNotCallATierWhoseForecastCostWouldPassTheBound) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("cascade_forecast", "split?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap1@0:ok", "cheap2@0:ok"}));
  EXPECT_NE(r.record.reason.find("stopped by max_cost"), std::string::npos) << r.record.reason;
  EXPECT_LE(r.record.cost_usd, 0.05);
  // The same plan under a bound the forecast fits in escalates.
  r = runner.run(body("cascade_forecast_fits", "split?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(called(r.record),
            (std::vector<std::string>{"cheap1@0:ok", "cheap2@0:ok", "strong@1:ok"}));
}

// A member skipped for want of a healthy replica made no call: it counts toward no bound.
TEST(CascadePlan, ASkippedMemberCountsTowardNoCallBound) {
  Offline o;
  for (auto* replica : o.runtime->find_model("cheap3")->replica_ptrs) replica->health.down = true;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("cascade_skip", "split?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  // cheap3 skipped, cheap1 called (1 call); cheap2 within max_calls 2; strong beyond it.
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap3@0:no_healthy_replica",
                                                        "cheap1@0:ok", "cheap2@1:ok"}));
  EXPECT_NE(r.record.reason.find("stopped by max_calls"), std::string::npos) << r.record.reason;
}

TEST(CascadePlan, StopsAtTheCallBound) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("cascade_calls", "split?"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.record.calls.size(), 2u);
  EXPECT_NE(r.record.reason.find("stopped by max_calls"), std::string::npos) << r.record.reason;
}

TEST(CascadePlan, AJudgeThatCannotScoreEscalatesOrAcceptsAsConfigured) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto esc = runner.run(body("cascade", "odd?"));
  EXPECT_EQ(esc.record.model, "strong");
  EXPECT_FALSE(esc.record.calls[0].score);  // no score from an unavailable judge
  EXPECT_NE(esc.record.calls[0].note.find("unavailable"), std::string::npos);
  auto acc = runner.run(body("cascade_accept", "odd?"));
  EXPECT_EQ(acc.record.model, "cheap1");
  EXPECT_EQ(acc.record.calls.size(), 2u);
}

TEST(CascadePlan, AFailedProbeIsSkippedAndAFailedTierEscalates) {
  Offline o;
  Faulty upstream(o.recorded, "cheap2", false);
  eval::OfflineRunner runner(*o.runtime, upstream);
  // One probe left: it agrees with itself.
  auto r = runner.run(body("cascade", "split?"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.record.model, "cheap1");
  EXPECT_EQ(called(r.record),
            (std::vector<std::string>{"cheap1@0:ok", "cheap2@0:upstream_unreachable"}));
  EXPECT_DOUBLE_EQ(r.record.calls[1].cost_usd, 0);
  // Both probes failing: the final tier answers.
  Faulty both(o.recorded, "cheap1", false);
  Faulty both2(both, "cheap2", false);
  eval::OfflineRunner runner2(*o.runtime, both2);
  auto r2 = runner2.run(body("cascade", "agree?"));
  ASSERT_EQ(r2.status, 200u);
  EXPECT_EQ(r2.record.model, "strong");
  // Under a cost bound too: nothing was spent, and max_tokens (a worst case: 100,000 tokens at
  // strong's list price are $10,000, over the bound of 1,000) does not keep the plan from its
  // answer; the prompt alone fits.
  nlohmann::json b = nlohmann::json::parse(body("cascade_forecast_fits", "agree?"));
  b["max_tokens"] = 100000;
  auto r3 = runner2.run(b.dump());
  ASSERT_EQ(r3.status, 200u) << r3.body << r3.record.reason;
  EXPECT_EQ(r3.record.model, "strong");
}

TEST(CascadePlan, AHangingProbeIsCutAtTheDeadline) {
  Offline o;
  Faulty upstream(o.recorded, "cheap2", true);
  eval::OfflineRunner runner(*o.runtime, upstream);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = runner.run(body("cascade_deadline", "split?"));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(3));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.record.model, "cheap1");
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap1@0:ok", "cheap2@0:deadline"}));
  // The call cut at the deadline names the replica it was waiting on, and how long (since
  // session 30: "" and 0 ms).
  const auto& cut = r.record.calls[1];
  EXPECT_FALSE(cut.replica.empty());
  EXPECT_GT(cut.ms, 100.0);
  for (const auto& a : r.record.attempts) {
    if (a.model == "cheap2") {
      EXPECT_GT(a.ms.value_or(0), 100.0) << "the attempt's own time";
    }
  }
}

TEST(CascadePlan, AHedgedCallCutAtTheDeadlineTriesNoFurtherReplica) {
  Offline o;
  Faulty upstream(o.recorded, "hedged", true);  // every replica of `hedged` hangs
  eval::OfflineRunner runner(*o.runtime, upstream);
  auto r = runner.run(body("cascade_deadline_hedged", "split?"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.record.model, "cheap1");
  EXPECT_EQ(upstream.calls_["hedged"], 2) << "the first replica and its hedge";
  std::vector<std::string> attempts;
  for (const auto& a : r.record.attempts)
    if (a.model == "hedged") attempts.push_back(a.replica + ":" + a.result);
  EXPECT_EQ(attempts.size(), 2u);
  // The deadline ended the call: no retry was counted (nor a retry-budget token taken) after it.
  const std::string metrics = runner.metrics().render();
  EXPECT_EQ(metrics.find("switchboard_retries_total{model=\"hedged\"}"), std::string::npos)
      << metrics;
}

TEST(CascadePlan, AStreamingRequestGetsTheFinalAnswerAsChunks) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("cascade", "split?", true));
  ASSERT_EQ(r.status, 200u);
  std::string text;
  bool done = false, usage = false;
  std::size_t at = 0;
  while ((at = r.body.find("data: ", at)) != std::string::npos) {
    const auto end = r.body.find("\n\n", at);
    const std::string data = r.body.substr(at + 6, end - at - 6);
    at = end;
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    auto j = nlohmann::json::parse(data);
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    if (j.contains("usage") && !j["usage"].is_null()) usage = true;
    if (!j["choices"].empty() && j["choices"][0]["delta"].contains("content"))
      text += j["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_TRUE(done);
  EXPECT_TRUE(usage);
  EXPECT_EQ(text, "D");
  EXPECT_EQ(r.record.model, "strong");
  EXPECT_TRUE(r.record.stream);
  EXPECT_EQ(r.record.calls.size(), 3u);
}

TEST(EnsemblePlan, VotesWithTheMajority) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("vote", "split?"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(content(r), "C");
  EXPECT_EQ(r.record.model, "cheap2");  // of the "C" voters, the higher predicted quality
  EXPECT_EQ(r.record.calls.size(), 3u);
  EXPECT_DOUBLE_EQ(r.record.cost_usd, 0.001 + 0.002 + 0.003);
  EXPECT_NEAR(*r.record.calls[1].score, 2.0 / 3, 1e-9);
}

TEST(EnsemblePlan, BreaksVoteTiesByPredictedQualityThenOrder) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("vote", "tie?"));         // A, B, E: one vote each
  EXPECT_EQ(r.record.model, "cheap2");               // quality 0.9
  auto r2 = runner.run(body("vote_order", "tie?"));  // no qualities: the first member
  EXPECT_EQ(r2.record.model, "cheap1");
}

TEST(EnsemblePlan, BestOfTakesTheHighestScore) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("best_of", "best?"));  // the vote would say "wrong"
  EXPECT_EQ(content(r), "right");
  EXPECT_EQ(r.record.model, "cheap2");
}

TEST(EnsemblePlan, AFailedMemberIsSkipped) {
  Offline o;
  Faulty upstream(o.recorded, "cheap2", false);
  eval::OfflineRunner runner(*o.runtime, upstream);
  auto r = runner.run(body("vote", "split?"));  // A, (failed), C: tie, cheap3 has 0.5 > 0.3
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.record.model, "cheap3");
  EXPECT_EQ(r.record.calls[1].result, "upstream_unreachable");
}

TEST(EnsemblePlan, SynthesizeCallsTheAggregatorWithTheAnswers) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("synth", "split?"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.record.model, "strong");
  ASSERT_EQ(r.record.calls.size(), 3u);
  EXPECT_EQ(r.record.calls[2].tier, 1);
  EXPECT_TRUE(r.record.calls[2].accepted);
  // The synthesis prompt is not a recorded prompt: the recorded upstream's placeholder answers.
  EXPECT_NE(content(r), "D");
  // An aggregator whose context window the synthesis prompt (the template, the question and
  // every answer) cannot fit is not called: the vote answers, and the reason says why.
  auto narrow = runner.run(body("synth_narrow", "split?"));
  ASSERT_EQ(narrow.status, 200u);
  EXPECT_EQ(narrow.record.calls.size(), 2u);
  EXPECT_NE(narrow.record.reason.find("do not fit narrow's context window of 40"), std::string::npos)
      << narrow.record.reason;
}

// Policy::models(), resolved per route (RouteRuntime::models): what budgets reserve for and
// GET /v1/models lists.
TEST(PlanPolicies, SayWhichModelsTheirPlansMayCall) {
  Offline o;
  auto models = [&o](const char* route) {
    std::vector<std::string> out;
    for (const auto* m : o.runtime->find_route(route)->models) out.push_back(m->name);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(models("cascade"), (V{"cheap1", "cheap2", "strong"}));
  EXPECT_EQ(models("cascade_reuse"), (V{"cheap1", "cheap3", "strong"}));
  EXPECT_EQ(models("cascade_utility"), V{});  // its first policy does not say: unknown
  EXPECT_EQ(models("vote"), (V{"cheap1", "cheap2", "cheap3"}));
  EXPECT_EQ(models("synth"), (V{"cheap1", "cheap2", "strong"}));
  EXPECT_EQ(models("recruit"), (V{"cheap2", "cheap3", "strong"}));

  auto c = config::parse_config(R"(
models:
  - {name: a, replicas: [{url: "http://127.0.0.1:9"}]}
  - {name: b, replicas: [{url: "http://127.0.0.1:9"}]}
  - {name: c, replicas: [{url: "http://127.0.0.1:9"}]}
  - {name: d, replicas: [{url: "http://127.0.0.1:9"}]}
routes:
  - {name: fixed, policy: {type: static, model: b, fallbacks: [a]}}
  - name: ruled
    policy:
      type: rules
      rules:
        - {when: {prompt_tokens: {gt: 100}}, models: [c, a]}
        - {when: {has_code: true}, model: d}
      default: {model: b, fallbacks: [a]}
  - name: cascaded
    policy: {type: cascade, first: {type: static, model: c}, tiers: [{models: [first, a], judge: agreement, threshold: 1}, {model: d}]}
)",
                                "models.yaml");
  ASSERT_TRUE(c) << c.error().message;
  auto rt = pipeline::build_runtime(*c);
  ASSERT_TRUE(rt) << rt.error().message;
  auto of = [&rt](const char* route) {
    std::vector<std::string> out;
    for (const auto* m : (*rt)->find_route(route)->models) out.push_back(m->name);
    return out;
  };
  EXPECT_EQ(of("fixed"), (V{"b", "a"}));
  EXPECT_EQ(of("ruled"), (V{"b", "a", "c", "d"}));
  EXPECT_EQ(of("cascaded"), (V{"c", "a", "d"}));
}

TEST(EnsemblePlan, RecruitsTheNestedPolicysModels) {
  Offline o;
  eval::OfflineRunner runner(*o.runtime, o.recorded);
  auto r = runner.run(body("recruit", "split?"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(called(r.record), (std::vector<std::string>{"cheap2@0:ok", "cheap3@0:ok"}));
}

TEST(MultiCallRecord, CallsSurviveTheStore) {
  const auto path = std::filesystem::temp_directory_path() / "sb_plans_test.db";
  std::filesystem::remove(path);
  {
    auto store = store::DecisionStore::open(path.string());
    ASSERT_TRUE(store);
    store::DecisionRecord r;
    r.id = "dec_calls";
    r.calls.push_back({"cheap1", "c1", 0, "ok", 12.5, 10, 2, 0.001, 0.5, "B", "note \"q\"", false});
    r.calls.push_back({"strong", "s1", 1, "ok", 40, 10, 3, 0.01, std::nullopt, "", "", true});
    (*store)->record(r);
    (*store)->flush();
    auto back = (*store)->find_stored("dec_calls");
    ASSERT_TRUE(back);
    EXPECT_EQ(back->calls, r.calls);
    EXPECT_EQ(r.to_json()["calls"][1]["accepted"], true);
  }
  std::filesystem::remove(path);
}

TEST(MultiCallConfig, BadSpecsAreRefusedWithTheirLocation) {
  auto bad = [](const std::string& policy) {
    std::string yaml = R"(
models:
  - {name: a, replicas: [{url: "http://127.0.0.1:9"}]}
  - {name: b, replicas: [{url: "http://127.0.0.1:9"}]}
routes:
  - name: r
    policy: )" + policy +
                       "\n";
    auto c = config::parse_config(yaml, "bad.yaml");
    if (!c) return c.error().message;
    auto rt = pipeline::build_runtime(*c);
    return rt ? std::string() : rt.error().message;
  };
  EXPECT_NE(bad("{type: cascade, tiers: [{model: a}]}").find("at least two"), std::string::npos);
  EXPECT_NE(bad("{type: cascade, tiers: [{model: a}, {model: b}]}").find("needs a `judge`"),
            std::string::npos);
  EXPECT_NE(bad("{type: cascade, tiers: [{model: a, judge: nope, threshold: 1}, {model: b}]}")
                .find("unknown judge type 'nope'"),
            std::string::npos);
  EXPECT_NE(
      bad("{type: cascade, tiers: [{model: a, judge: test_same}, {model: b}]}").find("threshold"),
      std::string::npos);
  EXPECT_NE(bad("{type: cascade, tiers: [{model: a, judge: test_same, threshold: utility}, "
                "{model: b}]}")
                .find("needs the cascade's `first` policy"),
            std::string::npos);
  EXPECT_NE(bad("{type: cascade, tiers: [{model: a, judge: test_same, threshold: 1, margin: 0.1}, "
                "{model: b}]}")
                .find("`margin` is for `threshold: utility`"),
            std::string::npos);
  EXPECT_NE(bad("{type: ensemble, members: [a, zz]}").find("unknown model 'zz'"),
            std::string::npos);
  EXPECT_NE(bad("{type: ensemble, members: [a, b], aggregator: best-of}").find("judge"),
            std::string::npos);
  EXPECT_NE(bad("{type: ensemble, members: [a, b], aggregator: {type: synthesize}}").find("model"),
            std::string::npos);
  EXPECT_NE(bad("{type: ensemble, members: [a, b], max_calls: 0}").find("bad.yaml:"),
            std::string::npos);
  EXPECT_EQ(bad("{type: ensemble, members: [a, b], max_calls: 2, deadline_ms: 1000}"), "");
}

}  // namespace
}  // namespace switchboard
