// The evaluator end to end on a tiny hand-made dataset: baselines, policies built through the
// registry (static, a λ-aware test policy, a trained one), the request the policy sees, outputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/route_input.h"
#include "config/config.h"
#include "eval/curves.h"
#include "eval/evaluator.h"
#include "eval/explain.h"
#include "eval/policy_plan.h"
#include "eval/report.h"
#include "pipeline/explain.h"
#include "pipeline/request_context.h"
#include "pipeline/runtime.h"
#include "policies/route_input.h"
#include "policies/trainer.h"

namespace switchboard::eval {
namespace {

constexpr double kEps = 1e-9;

data::PromptRecord rec(std::string id, std::string task, std::vector<double> scores,
                       std::vector<data::Message> messages = {}) {
  data::PromptRecord r;
  r.id = id;
  r.task = std::move(task);
  r.messages = messages.empty() ? std::vector<data::Message>{{"user", "prompt " + id}} : messages;
  const char* models[] = {"big", "cheap", "mid"};
  const double costs[] = {1.0, 0.1, 0.5};
  for (int m = 0; m < 3; ++m)
    r.outcomes[models[m]] = data::ModelOutcome{scores[m], costs[m], {}, {}};
  return r;
}

// Scores are listed as {big, cheap, mid}. Per prompt: cheap costs 0.1, mid 0.5, big 1.0.
data::Outcomes test_data() {
  data::Outcomes o;
  o.records = {rec("r1", "t1", {1, 1, 1}), rec("r2", "t1", {1, 0, 1}), rec("r3", "t2", {1, 0, 0}),
               rec("r4", "t2", {0, 0, 0})};
  return o;
}

data::Outcomes train_data() {
  data::Outcomes o;
  o.records = {rec("tr1", "t1", {1, 0, 1}), rec("tr2", "t2", {1, 0, 0})};
  return o;
}

const Curve& find(const std::vector<Curve>& curves, const std::string& name) {
  for (const auto& c : curves)
    if (c.name == name) return c;
  throw std::runtime_error("no curve " + name);
}

std::string temp_file(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / "sb_eval_unit";
  std::filesystem::create_directories(dir);
  auto path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

// A λ-aware test policy: `cheap` when λ > 5 (or the spec's threshold >= 0.5), else `big`.
class KnobPolicy final : public Policy {
 public:
  explicit KnobPolicy(double threshold) : threshold_(threshold) {}
  Result<Decision> choose(const RouteRequest& req, const Signals&) const override {
    Decision d;
    d.policy = "eval_test_knob";
    const bool cheap = (req.lambda && *req.lambda > 5) || threshold_ >= 0.5;
    d.plan.model = cheap ? "cheap" : "big";
    d.reason = "test";
    return d;
  }

 private:
  double threshold_;
};

const PolicyRegistrar kKnob("eval_test_knob",
                            [](const PolicyContext& ctx) -> Result<std::unique_ptr<Policy>> {
                              double t =
                                  ctx.spec["threshold"] ? ctx.spec["threshold"].as<double>() : 0;
                              return std::unique_ptr<Policy>(std::make_unique<KnobPolicy>(t));
                            });

// A trainer that emits another type's spec and a threshold sweep.
const TrainerRegistrar kTrained(
    "eval_test_trained", [](const TrainContext& ctx) -> Result<TrainedPolicy> {
      TrainedPolicy t;
      t.spec["type"] = "eval_test_knob";
      t.sweep.kind = Sweep::Kind::kSpecKey;
      t.sweep.key = "threshold";
      t.sweep.values = {0.0, 0.25, 1.0};
      EXPECT_EQ(ctx.train.records.size(), 2u);
      EXPECT_EQ(ctx.models, (std::vector<std::string>{"big", "cheap", "mid"}));
      return t;
    });

class MidPolicy final : public Policy {
 public:
  Result<Decision> choose(const RouteRequest&, const Signals&) const override {
    Decision d;
    d.policy = "eval_test_dir";
    d.plan.model = "mid";
    d.reason = "test";
    return d;
  }
};

// A learned policy whose trainer would pick `cheap` (a knob spec), while the model directory the
// spec names — the one a gateway serves — picks `mid`.
const PolicyRegistrar kServedDir("eval_test_dir",
                                 [](const PolicyContext& ctx) -> Result<std::unique_ptr<Policy>> {
                                   EXPECT_EQ(ctx.spec["model_dir"].as<std::string>(), "/served");
                                   return std::unique_ptr<Policy>(std::make_unique<MidPolicy>());
                                 });
const TrainerRegistrar kRetrained("eval_test_dir", [](const TrainContext&) -> Result<TrainedPolicy> {
  TrainedPolicy t;
  t.spec["type"] = "eval_test_knob";
  t.spec["threshold"] = 1;
  return t;
});

TEST(EvalBaselines, SingleRandomOracleTaskBest) {
  auto train = train_data();
  auto test = test_data();
  auto r = evaluate(train, test, EvalOptions{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->test_records, 4u);
  EXPECT_EQ(r->max_cost_model, "big");
  EXPECT_NEAR(r->max_cost, 4.0, kEps);
  EXPECT_EQ(r->tasks, (std::vector<std::string>{"t1", "t2"}));

  const auto& cheap = find(r->baselines, "cheap");
  ASSERT_EQ(cheap.points.size(), 1u);
  EXPECT_NEAR(cheap.points[0].cost, 0.4, kEps);
  EXPECT_NEAR(cheap.points[0].quality, 0.25, kEps);
  EXPECT_NEAR(*cheap.metrics.aiq, 0.25 * 0.9, kEps);

  const auto& oracle = find(r->baselines, "oracle");
  ASSERT_EQ(oracle.points.size(), 3u);
  // λ = 0: r1 → cheap (all right, cheapest), r2 → mid, r3 → big, r4 → cheap (all wrong).
  EXPECT_EQ(*oracle.points[2].knob, 0.0);
  EXPECT_NEAR(oracle.points[2].cost, 0.1 + 0.5 + 1.0 + 0.1, kEps);
  EXPECT_NEAR(oracle.points[2].quality, 0.75, kEps);
  EXPECT_NEAR(oracle.points[2].shares.at("cheap"), 0.5, kEps);
  // 1.11 < λ < 2.5: r3 is no longer worth big's cost; λ > 2.5: r2 not worth mid's either.
  EXPECT_NEAR(oracle.points[1].cost, 0.8, kEps);
  EXPECT_NEAR(oracle.points[1].quality, 0.5, kEps);
  EXPECT_NEAR(oracle.points[0].cost, 0.4, kEps);
  EXPECT_NEAR(oracle.points[0].quality, 0.25, kEps);
  // The oracle's frontier bounds task-best's.
  EXPECT_GE(*oracle.metrics.aiq, *find(r->baselines, "task-best").metrics.aiq);

  const auto& random = find(r->baselines, "random");
  ASSERT_EQ(random.points.size(), 21u);
  EXPECT_NEAR(random.points[10].cost, (0.4 + 4.0) / 2, kEps);
  EXPECT_NEAR(random.points[10].quality, (0.25 + 0.75) / 2, kEps);
  EXPECT_NEAR(*random.points[10].knob, 0.5, kEps);
  // Linear from (0.1, 0.25) to (1, 0.75) in normalised cost.
  EXPECT_NEAR(*random.metrics.aiq, 0.9 * (0.25 + 0.75) / 2, kEps);

  // task-best: t1 → mid (ties with big on score; cheaper), t2 → big at λ = 0; cheap at large λ;
  // for 1.11 < λ < 2.5, t1 → mid and t2 → cheap.
  const auto& tb = find(r->baselines, "task-best");
  ASSERT_EQ(tb.points.size(), 3u);
  EXPECT_NEAR(tb.points[0].cost, 0.4, kEps);
  EXPECT_NEAR(tb.points[0].quality, 0.25, kEps);
  EXPECT_NEAR(tb.points[1].cost, 1.2, kEps);
  EXPECT_NEAR(tb.points[1].quality, 0.5, kEps);
  EXPECT_NEAR(tb.points[2].cost, 3.0, kEps);
  EXPECT_NEAR(tb.points[2].quality, 0.75, kEps);
  EXPECT_EQ(*tb.points[2].knob, 0.0);
  EXPECT_TRUE(r->policies.empty());
}

TEST(EvalBaselines, SkipsIncompleteRecordsAndNeedsTasksForTaskBest) {
  auto test = test_data();
  for (auto& r : test.records) r.task.clear();
  test.records[0].outcomes.erase("mid");
  auto r = evaluate(train_data(), test, EvalOptions{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->test_records, 3u);
  EXPECT_EQ(r->test_skipped, 1u);
  for (const auto& c : r->baselines) EXPECT_NE(c.kind, "task-best");
}

// The static route `only-big` evaluated on `test`.
Result<EvalResult> evaluate_only_big(const data::Outcomes& test) {
  EvalOptions o;
  o.policy_config = temp_file("policies.yaml", "only-big: {type: static, model: big}\n");
  return evaluate(train_data(), test, o);
}

// A repeated conversation would be answered and billed as its first record but scored as itself
// (a static route's cost was the first record's, its single model's baseline each record's own).
// One that shares only its user text is another conversation and stays.
TEST(EvalBaselines, LeavesOutRepeatedConversations) {
  auto test = test_data();
  auto again = rec("r1-again", "t1", {0, 0, 0}, test.records[0].messages);
  for (auto& [_, o] : again.outcomes) o.cost *= 100;
  auto with_system = rec("r1-system", "t1", {0, 0, 0},
                         {{"system", "be brief"}, test.records[0].messages[0]});
  test.records.push_back(again);
  test.records.push_back(with_system);
  auto r = evaluate_only_big(test);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->test_records, 5u);
  EXPECT_EQ(r->test_duplicates, 1u);
  EXPECT_EQ(r->test_skipped, 0u);
  const auto& single = find(r->baselines, "big");
  EXPECT_NEAR(single.points[0].cost, 5.0, kEps);
  EXPECT_NEAR(r->policies[0].points[0].cost, single.points[0].cost, kEps);
}

// The recorded upstream answers from the records scored only: an incomplete record left out (or
// a duplicate's first reading) must not be the one that answers and bills.
TEST(EvalBaselines, TheRecordsLeftOutAnswerNothing) {
  auto test = test_data();
  auto partial = rec("r2-partial", "t1", {0, 0, 0}, test.records[1].messages);
  partial.outcomes.erase("cheap");
  partial.outcomes.erase("mid");
  partial.outcomes["big"].cost = 100;
  partial.outcomes["big"].response = "the partial record's answer";
  test.records.insert(test.records.begin(), partial);
  auto r = evaluate_only_big(test);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->test_skipped, 1u);
  EXPECT_NEAR(r->policies[0].points[0].cost, 4.0, kEps);  // it was 103
  EXPECT_NEAR(find(r->baselines, "big").points[0].cost, 4.0, kEps);
}

// A TEST prompt whose conversation TRAIN holds too is kept, counted and named in the notes: the
// learned policies saw its outcome. One sharing only its user text is not counted.
TEST(EvalBaselines, CountsTestPromptsAlsoInTrain) {
  auto train = train_data();
  const auto test = test_data();
  train.records.push_back(rec("tr-copy", "t1", {0, 0, 0}, test.records[2].messages));
  train.records.push_back(rec("tr-system", "t1", {0, 0, 0},
                              {{"system", "be brief"}, test.records[3].messages[0]}));
  EvalOptions o;
  o.policy_config = temp_file("in_train.yaml", "only-big: {type: static, model: big}\n");
  auto r = evaluate(train, test, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->test_records, 4u);
  EXPECT_EQ(r->test_in_train, 1u);
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_EQ(r->notes[0].rfind("1 of the 4 TEST prompts are also in TRAIN", 0), 0u) << r->notes[0];
  auto clean = evaluate(train_data(), test, o);
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ(clean->test_in_train, 0u);
  EXPECT_TRUE(clean->notes.empty());
}

TEST(EvalPolicies, StaticFromPolicyConfigEqualsItsSingleModel) {
  auto path = temp_file("policies.yaml", "only-mid: {type: static, model: mid}\n");
  EvalOptions o;
  o.policy_config = path;
  auto r = evaluate(train_data(), test_data(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->policies.size(), 1u);  // every label of the file when --policy is not given
  const auto& p = r->policies[0];
  EXPECT_EQ(p.name, "only-mid");
  EXPECT_EQ(p.type, "static");
  ASSERT_EQ(p.points.size(), 1u);  // 40 λ values, one distinct point
  const auto& single = find(r->baselines, "mid");
  EXPECT_EQ(p.points[0].cost, single.points[0].cost);
  EXPECT_EQ(p.points[0].quality, single.points[0].quality);
  EXPECT_EQ(p.metrics.aiq, single.metrics.aiq);
}

TEST(EvalPolicies, GatewayConfigRoutesAreLabels) {
  auto path = temp_file("gateway.yaml",
                        "models: [{name: big, replicas: [{url: 'http://127.0.0.1:1'}]}]\n"
                        "routes:\n  - name: auto\n    policy: {type: static, model: big}\n");
  EvalOptions o;
  o.policy_config = path;
  o.policies = {"auto"};
  auto r = evaluate(train_data(), test_data(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NEAR(r->policies[0].points[0].cost, 4.0, kEps);
}

// A gateway config's learned route is evaluated with the model directory it serves, not retrained.
TEST(EvalPolicies, ASpecNamingItsModelDirIsNotRetrained) {
  auto path = temp_file("served.yaml", "served: {type: eval_test_dir, model_dir: /served}\n"
                                       "fresh: {type: eval_test_dir}\n");
  EvalOptions o;
  o.policy_config = path;
  auto r = evaluate(train_data(), test_data(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->policies[0].points[0].shares, (std::map<std::string, double>{{"mid", 1.0}}));
  EXPECT_EQ(r->policies[1].points[0].shares, (std::map<std::string, double>{{"cheap", 1.0}}));
}

TEST(EvalPolicies, LambdaSweepReachesThePolicy) {
  EvalOptions o;
  o.policies = {"eval_test_knob"};
  o.strong = "big";
  o.weak = "cheap";
  auto r = evaluate(train_data(), test_data(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& p = r->policies[0];
  EXPECT_EQ(p.knob, "lambda");
  ASSERT_EQ(p.points.size(), 2u);  // cheap for λ > 5, big below
  EXPECT_NEAR(p.points[0].cost, 0.4, kEps);
  EXPECT_NEAR(p.points[0].strong_share, 0.0, kEps);
  EXPECT_GT(*p.points[0].knob, 5);
  EXPECT_NEAR(p.points[1].cost, 4.0, kEps);
  EXPECT_NEAR(p.points[1].strong_share, 1.0, kEps);
  EXPECT_EQ(*p.points[1].knob, 0.0);  // the first λ giving that point
  EXPECT_NEAR(*p.metrics.apgr, 0.5, kEps);
  EXPECT_NEAR(*p.metrics.cpt50, 0.5, kEps);
}

TEST(EvalPolicies, TrainerSpecAndSpecKeySweep) {
  EvalOptions o;
  o.policies = {"eval_test_trained"};
  o.artifacts_dir =
      (std::filesystem::temp_directory_path() / "sb_eval_unit" / "artifacts").string();
  auto r = evaluate(train_data(), test_data(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& p = r->policies[0];
  EXPECT_EQ(p.type, "eval_test_knob");
  EXPECT_EQ(p.knob, "threshold");
  ASSERT_EQ(p.points.size(), 2u);
  EXPECT_EQ(*p.points[0].knob, 1.0);  // threshold 1 → cheap
  EXPECT_EQ(*p.points[1].knob, 0.0);  // threshold 0 (and 0.25) → big
}

// The knob policy with its threshold at a nested path, `inner: [{threshold: X}]`, and a trainer
// sweeping a grid of that path × λ.
const PolicyRegistrar kNestedKnob("eval_test_nested_knob",
                                  [](const PolicyContext& ctx) -> Result<std::unique_ptr<Policy>> {
                                    const double t = ctx.spec["inner"][0]["threshold"].as<double>();
                                    return std::unique_ptr<Policy>(std::make_unique<KnobPolicy>(t));
                                  });
const TrainerRegistrar kGrid("eval_test_grid", [](const TrainContext&) -> Result<TrainedPolicy> {
  TrainedPolicy t;
  t.spec = YAML::Load("{type: eval_test_nested_knob, inner: [{threshold: 0.9}]}");
  t.sweep.kind = Sweep::Kind::kSpecKey;
  t.sweep.key = "inner.0.threshold";
  t.sweep.values = {0.0, 0.0, 1.0};
  t.sweep.lambdas = {0.0, 100.0, 0.0};
  return t;
});

TEST(EvalPolicies, GridSweepSetsANestedKeyAndTheRequestsLambda) {
  EvalOptions o;
  o.policies = {"eval_test_grid"};
  o.artifacts_dir =
      (std::filesystem::temp_directory_path() / "sb_eval_unit" / "artifacts").string();
  auto r = evaluate(train_data(), test_data(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& p = r->policies[0];
  EXPECT_EQ(p.knob, "inner.0.threshold");
  ASSERT_EQ(p.points.size(), 2u);
  // threshold 0 at λ 100 → cheap (λ reached the policy); threshold 1 at λ 0 → cheap too (dropped,
  // the same point); threshold 0 at λ 0 → big. Without the path the spec's 0.9 would give cheap
  // everywhere.
  EXPECT_EQ(*p.points[0].knob, 0.0);
  ASSERT_TRUE(p.points[0].lambda);
  EXPECT_EQ(*p.points[0].lambda, 100.0);
  EXPECT_NEAR(p.points[1].strong_share, 0.0, kEps);
  EXPECT_NEAR(p.points[1].cost, 4.0, kEps);
  ASSERT_TRUE(p.points[1].lambda);
  EXPECT_EQ(*p.points[1].lambda, 0.0);
}

TEST(EvalPolicies, SetSpecKeyFollowsDottedPaths) {
  YAML::Node spec = YAML::Load("{a: 1, tiers: [{threshold: 0.5}, {threshold: 0.7}]}");
  set_spec_key(spec, "tiers.1.threshold", 0.25);
  set_spec_key(spec, "a", 2);
  EXPECT_EQ(spec["tiers"][0]["threshold"].as<double>(), 0.5);
  EXPECT_EQ(spec["tiers"][1]["threshold"].as<double>(), 0.25);
  EXPECT_EQ(spec["a"].as<double>(), 2.0);
}

TEST(EvalPolicies, Errors) {
  EvalOptions o;
  o.policies = {"no_such_policy"};
  auto r = evaluate(train_data(), test_data(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unknown policy type 'no_such_policy'"), std::string::npos);

  o.policies = {"static"};  // needs a model
  r = evaluate(train_data(), test_data(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("--policy static"), std::string::npos);

  auto path = temp_file("clash.yaml", "mid: {type: static, model: mid}\n");
  o.policies = {};
  o.policy_config = path;
  r = evaluate(train_data(), test_data(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("also a model's name"), std::string::npos);

  o.policy_config.clear();
  o.strong = "big";
  o.weak = "nope";
  r = evaluate(train_data(), test_data(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'nope'"), std::string::npos);

  data::Outcomes empty;
  r = evaluate(train_data(), empty, EvalOptions{});
  ASSERT_FALSE(r.ok());
}

TEST(EvalRouteInput, JoinsAllMessagesLikeTheGateway) {
  auto r = rec("x", "", {1, 1, 1},
               {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}, {"user", "Bye"}});
  auto chat = chat_request_for(r, "auto");
  ASSERT_TRUE(chat.ok()) << chat.error().message;
  EXPECT_EQ(chat->prompt_text, "Be brief.\nHi\nHello\nBye");
  EXPECT_EQ(chat->message_count, 4u);
  auto rr = pipeline::route_request(*chat, 2.5);
  EXPECT_EQ(rr.route, "auto");
  EXPECT_EQ(rr.prompt_text, "Be brief.\nHi\nHello\nBye");
  EXPECT_EQ(*rr.lambda, 2.5);
  EXPECT_EQ(pipeline::signals_for(*chat).message_count, 4u);
  EXPECT_GT(pipeline::signals_for(*chat).prompt_tokens, 0);
}

TEST(EvalExplain, RouteExplanationFromTheStagesAndText) {
  Decision d;
  d.plan.model = "b";
  d.policy = "p";
  d.reason = "the policy's";
  d.plan.fallbacks = {"a"};
  d.candidates = {{"a", 0.5, -1, std::nullopt, true, "", std::nullopt, std::nullopt},
                  {"b", -1, 0.002, std::nullopt, true, "n", std::nullopt, std::nullopt}};
  auto chat = api::chat_request_for_prompt("hello", "auto");
  ASSERT_TRUE(chat.ok());
  pipeline::RequestContext ctx;
  ctx.req = *chat;
  ctx.route_request = pipeline::route_request(ctx.req, std::nullopt);
  ctx.signals = pipeline::signals_for(ctx.req);
  ctx.decision = d;
  ctx.rec.reason = "the record's";
  ctx.rec.stages = {{"parse", 3, "next"}, {"decide", 7, "next"}};
  auto j = pipeline::route_explanation(ctx);
  EXPECT_EQ(j["route"], "auto");
  EXPECT_EQ(j["model"], "b");
  EXPECT_EQ(j["policy"], "p");
  EXPECT_EQ(j["reason"], "the record's");  // what the record would say, notes included
  EXPECT_TRUE(j["lambda"].is_null());
  EXPECT_EQ(j["signals"]["message_count"], 1);
  EXPECT_EQ(j["stages"][1]["name"], "decide");
  EXPECT_FALSE(j.contains("guard"));
  EXPECT_EQ(j["fallbacks"], nlohmann::json::array({"a"}));
  EXPECT_TRUE(j["candidates"][0]["predicted_cost"].is_null());
  EXPECT_EQ(j["candidates"][0]["predicted_quality"], 0.5);
  EXPECT_TRUE(j["candidates"][1]["predicted_quality"].is_null());
  ctx.route_request.lambda = 4.0;
  EXPECT_EQ(pipeline::route_explanation(ctx)["lambda"], 4.0);
  auto text = explain_decision_text(d, "auto", 4.0, ctx.signals);
  EXPECT_NE(text.find("* b"), std::string::npos);
  EXPECT_NE(text.find("lambda   4 quality"), std::string::npos);
}

TEST(EvalReport, JsonKeysFixedPrecisionAndStableBytes) {
  EvalOptions o;
  o.policies = {"eval_test_knob"};
  o.strong = "big";
  o.weak = "cheap";
  auto r = evaluate(train_data(), test_data(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto j = to_json(*r);
  EXPECT_EQ(j["policies"][0]["name"], "eval_test_knob");
  EXPECT_TRUE(j["policies"][0]["aiq"].is_number());
  EXPECT_TRUE(j["policies"][0]["apgr"].is_number());
  EXPECT_TRUE(j["policies"][0]["points"][0]["cost"].is_number());
  EXPECT_TRUE(j["policies"][0]["points"][0]["quality"].is_number());
  EXPECT_TRUE(j["baselines"][0]["points"][0]["quality"].is_number());
  EXPECT_EQ(rounded(1.0 / 3), 0.333333);
  EXPECT_EQ(rounded(-1e-9), 0.0);
  EXPECT_FALSE(std::signbit(rounded(-1e-9)));

  auto again = evaluate(train_data(), test_data(), o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(to_json(*r).dump(2), to_json(*again).dump(2));
  EXPECT_EQ(to_markdown(*r), to_markdown(*again));
  std::string svg = to_svg(*r);
  EXPECT_EQ(svg, to_svg(*again));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("eval_test_knob"), std::string::npos);
  EXPECT_NE(to_table(*r).find("task-best"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::eval
