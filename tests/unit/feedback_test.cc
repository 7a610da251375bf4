// Feedback and online learning while serving (docs/online.md): the POST /v1/feedback body, the
// decisions' context cache, the feedback table (one feedback per decision), the learning policies'
// save/restore round trip, and the learner's stream event round trip.
#include "api/feedback.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "config/config.h"
#include "pipeline/learning/context_cache.h"
#include "pipeline/learning/context_codec.h"
#include "pipeline/learning/learner.h"
#include "policies/bandit/bandit_policy.h"
#include "policies/correction/correction_policy.h"
#include "policies/elo/elo_policy.h"
#include "policies/objective.h"
#include "store/feedback_store.h"

namespace switchboard {
namespace {

std::shared_ptr<const policies::Objective> two_models() {
  policies::ObjectiveSettings s;
  s.models = {"a", "b"};
  s.context_windows = {0, 0};
  s.lambda = 0;
  return std::make_shared<const policies::Objective>(std::move(s));
}

Feedback scored(const std::string& model, float e, double score) {
  Feedback f;
  f.signals.embedding = {e};
  f.model = model;
  f.score = score;
  f.cost = 0.001;
  f.prompt_tokens = 40;
  return f;
}

std::string temp_db(const char* name) {
  auto p = std::filesystem::temp_directory_path() /
           (std::string("sb-feedback-") + name + "-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(p);
  return p.string();
}

TEST(FeedbackBody, ScoreAndPairwiseForms) {
  auto s = api::parse_feedback(R"({"decision_id":"dec_1","score":0.25})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->kind, api::FeedbackRequest::Kind::kScore);
  EXPECT_EQ(s->decision_id, "dec_1");
  EXPECT_DOUBLE_EQ(s->score, 0.25);
  auto zero = api::parse_feedback(R"({"decision_id":"dec_1","score":-0.0})");
  ASSERT_TRUE(zero);
  EXPECT_FALSE(std::signbit(zero->score)) << "-0.0 is kept as 0";
  auto p = api::parse_feedback(R"({"decision_a":"x","decision_b":"y","winner":"b"})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, api::FeedbackRequest::Kind::kPairwise);
  EXPECT_DOUBLE_EQ(p->outcome, 0);
  EXPECT_DOUBLE_EQ(
      api::parse_feedback(R"({"decision_a":"x","decision_b":"y","winner":"x"})")->outcome, 1);
  EXPECT_DOUBLE_EQ(
      api::parse_feedback(R"({"decision_a":"x","decision_b":"y","winner":"tie"})")->outcome, 0.5);
}

TEST(FeedbackBody, MalformedBodiesNameTheProblem) {
  auto msg = [](std::string_view body) {
    auto r = api::parse_feedback(body);
    EXPECT_FALSE(r) << body;
    return r ? std::string() : r.error().code + ": " + r.error().message;
  };
  EXPECT_NE(msg("{nope").find("invalid_json"), std::string::npos);
  EXPECT_NE(msg("[1]").find("invalid_request"), std::string::npos);
  EXPECT_NE(msg(R"({"decision_id":"d","score":1.5})").find("'score'"), std::string::npos);
  EXPECT_NE(msg(R"({"decision_id":"d","score":"1"})").find("'score'"), std::string::npos);
  EXPECT_NE(msg(R"({"decision_id":"d"})").find("missing field 'score'"), std::string::npos);
  EXPECT_NE(msg(R"({"score":0.5})").find("missing field 'decision_id'"), std::string::npos);
  EXPECT_NE(msg(R"({"decision_id":"","score":0.5})").find("'decision_id'"), std::string::npos);
  EXPECT_NE(msg(R"({"decision_id":"d","score":0.5,"extra":1})").find("unknown field 'extra'"),
            std::string::npos);
  EXPECT_NE(msg(R"({"decision_id":"d","score":0.5,"winner":"a"})").find("not both"),
            std::string::npos);
  EXPECT_NE(msg(R"({"decision_a":"x","decision_b":"x","winner":"a"})").find("two different"),
            std::string::npos);
  EXPECT_NE(msg(R"({"decision_a":"x","decision_b":"y","winner":"c"})").find("'winner'"),
            std::string::npos);
  EXPECT_NE(msg(R"({"decision_id":"d","decision_id":"e","score":0.5})").find("decision_id"),
            std::string::npos);
  EXPECT_NE(msg("{}").find("needs"), std::string::npos);
}

TEST(ContextCache, KeepsAtMostMaxEntriesOldestOutFirst) {
  pipeline::learning::ContextLimits limits;
  limits.max_entries = 3;
  pipeline::learning::ContextCache cache(limits);
  for (int i = 0; i < 5; ++i) {
    pipeline::learning::DecisionContext c;
    c.model = "m" + std::to_string(i);
    cache.put("d" + std::to_string(i), c);
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.get("d0"));
  EXPECT_FALSE(cache.get("d1"));
  ASSERT_TRUE(cache.get("d4"));
  EXPECT_EQ(cache.get("d4")->model, "m4");
}

TEST(ContextCache, BoundsBytesAndTruncatesLongPrompts) {
  pipeline::learning::ContextLimits limits;
  limits.max_bytes = 10'000;
  limits.max_prompt_bytes = 1000;
  pipeline::learning::ContextCache cache(limits);
  for (int i = 0; i < 100; ++i) {
    pipeline::learning::DecisionContext c;
    c.prompt_text = std::string(5000, 'x');
    cache.put("d" + std::to_string(i), c);
  }
  EXPECT_LE(cache.bytes(), 10'000u);
  ASSERT_TRUE(cache.get("d99"));
  EXPECT_EQ(cache.get("d99")->prompt_text.size(), 1000u);
  EXPECT_LT(cache.size(), 100u);
}

TEST(ContextCache, ExpiresAfterTtl) {
  pipeline::learning::ContextLimits limits;
  limits.ttl = std::chrono::seconds(0);
  pipeline::learning::ContextCache cache(limits);
  cache.put("d", {});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(cache.get("d"));
}

// `feedback: {context_cache: {...}}`: defaults when absent, each key read, bad values refused
// with the file position and the key.
TEST(ContextCache, LimitsFromConfig) {
  auto limits_of = [](const std::string& yaml) {
    config::Config c;
    c.source = "gw.yaml";
    if (!yaml.empty()) c.sections["feedback"] = YAML::Load(yaml);
    return pipeline::learning::parse_context_limits(c);
  };
  auto d = limits_of("");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->max_entries, 100'000u);
  EXPECT_EQ(d->max_bytes, std::size_t{256} << 20);
  EXPECT_EQ(d->ttl, std::chrono::seconds(3600));
  EXPECT_TRUE(d->persist);
  ASSERT_TRUE(limits_of("{implicit: {window_s: 5}}"));
  auto memory_only = limits_of("{context_cache: {persist: false}}");
  ASSERT_TRUE(memory_only);
  EXPECT_FALSE(memory_only->persist);
  auto l = limits_of("{context_cache: {max_entries: 10, max_mb: 2, max_prompt_kb: 4, ttl_s: 60}}");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->max_entries, 10u);
  EXPECT_EQ(l->max_bytes, 2u << 20);
  EXPECT_EQ(l->max_prompt_bytes, 4096u);
  EXPECT_EQ(l->ttl, std::chrono::seconds(60));
  auto msg = [&](const std::string& yaml) {
    auto r = limits_of(yaml);
    EXPECT_FALSE(r) << yaml;
    return r ? std::string() : r.error().message;
  };
  EXPECT_NE(msg("{context_cache: {max_entries: 0}}").find("max_entries must be in [1,"),
            std::string::npos);
  EXPECT_NE(msg("{context_cache: {ttl_s: -1}}").find("ttl_s"), std::string::npos);
  EXPECT_NE(msg("{context_cache: {ttl_s: 1.5}}").find("must be an integer"), std::string::npos);
  EXPECT_NE(msg("{context_cache: {max_mb: 0}}").find("max_mb"), std::string::npos);
  EXPECT_NE(msg("{context_cache: {size: 3}}").find("unknown key 'size'"), std::string::npos);
  EXPECT_NE(msg("{context_cache: 5}").find("must be a mapping"), std::string::npos);
  EXPECT_NE(msg("{context_cache: {persist: maybe}}").find("persist must be true or false"),
            std::string::npos);
  EXPECT_EQ(msg("{context_cache: {ttl_s: 0}}").rfind("gw.yaml:", 0), 0u);
}

TEST(FeedbackStore, OneFeedbackPerDecision) {
  const auto path = temp_db("store");
  auto fs = store::FeedbackStore::open(path);
  ASSERT_TRUE(fs) << fs.error().message;
  store::FeedbackRow row;
  row.decision_id = "dec_a";
  row.kind = "score";
  row.score = 0.5;
  row.route = "r";
  row.model = "m";
  auto added = (*fs)->add({row});
  ASSERT_TRUE(added);
  EXPECT_TRUE(*added);
  row.score = 1.0;
  added = (*fs)->add({row});
  ASSERT_TRUE(added);
  EXPECT_FALSE(*added);  // the second feedback for one decision
  // A pair of which one already has feedback stores neither.
  store::FeedbackRow b = row;
  b.decision_id = "dec_b";
  added = (*fs)->add({b, row});
  ASSERT_TRUE(added);
  EXPECT_FALSE(*added);
  EXPECT_FALSE((*fs)->find("dec_b"));
  EXPECT_EQ((*fs)->count(), 1);
  ASSERT_TRUE((*fs)->find("dec_a"));
  EXPECT_DOUBLE_EQ(*(*fs)->find("dec_a")->score, 0.5);

  store::LearningStateRow st;
  st.route = "r";
  st.policy = "bandit";
  st.signature = "sig";
  st.models = "a,b";
  st.observations = 7;
  st.state = "{}";
  ASSERT_TRUE((*fs)->save_state(st));
  st.observations = 8;
  ASSERT_TRUE((*fs)->save_state(st));  // replaces
  auto loaded = (*fs)->load_state("r", "sig", "a,b");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->observations, 8u);
  EXPECT_FALSE((*fs)->load_state("other", "sig", "a,b"));
  // Another spec, then another model set: each its own row; the first is still there (it was
  // overwritten, and a spec changed back found nothing).
  st.signature = "sig2";
  st.observations = 0;
  ASSERT_TRUE((*fs)->save_state(st));
  st.signature = "sig";
  st.models = "a";
  ASSERT_TRUE((*fs)->save_state(st));
  EXPECT_EQ((*fs)->load_state("r", "sig", "a,b")->observations, 8u);
  EXPECT_EQ((*fs)->load_state("r", "sig2", "a,b")->observations, 0u);
  EXPECT_EQ((*fs)->load_state("r", "sig", "a")->observations, 0u);
  EXPECT_FALSE((*fs)->load_state("r", "sig2", "a"));
  // The newest kStatesPerRoute of a route are kept.
  for (int i = 0; i < store::FeedbackStore::kStatesPerRoute; ++i) {
    st.signature = "later" + std::to_string(i);
    st.time_ms = 1000 + i;
    ASSERT_TRUE((*fs)->save_state(st));
  }
  EXPECT_FALSE((*fs)->load_state("r", "sig", "a,b"));
  EXPECT_TRUE((*fs)->load_state("r", "later0", "a"));
  std::filesystem::remove(path);
}

// A file of the former one-row-per-route table: its rows are copied over once at open and
// restored into the same spec whatever the models (they were not kept); the old table keeps them.
TEST(FeedbackStore, StatesOfTheFormerTableAreMovedAtOpen) {
  const auto path = (std::filesystem::temp_directory_path() / "former_states.db").string();
  std::filesystem::remove(path);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE learning_state (route TEXT PRIMARY KEY NOT NULL, policy "
                           "TEXT, signature TEXT, observations INTEGER, stream_id TEXT, state "
                           "TEXT, time_ms INTEGER) WITHOUT ROWID; INSERT INTO learning_state "
                           "VALUES ('r', 'bandit', 'sig', 42, '1-0', '{}', 5);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto fs = store::FeedbackStore::open(path);
  ASSERT_TRUE(fs.ok()) << fs.error().message;
  auto row = (*fs)->load_state("r", "sig", "a,b");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->observations, 42u);
  EXPECT_EQ(row->stream_id, "1-0");
  EXPECT_FALSE((*fs)->load_state("r", "other", "a,b"));
  // Saved anew under the models, then opened again: the old row is not copied over it again.
  row->models = "a,b";
  row->observations = 50;
  ASSERT_TRUE((*fs)->save_state(*row));
  fs->reset();
  auto again = store::FeedbackStore::open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->load_state("r", "sig", "a,b")->observations, 50u);
  EXPECT_EQ((*again)->load_state("r", "sig", "c")->observations, 42u);  // the legacy row
  again->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM learning_state", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1);  // kept for the previous version
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::filesystem::remove(path);
}

TEST(LearningState, BanditSaveRestoreGivesTheSameChoices) {
  policies::bandit::BanditOptions o;
  o.dim = 1;
  o.alpha = 0.5;
  policies::bandit::BanditPolicy learned(two_models(), o, nullptr);
  for (int i = 0; i < 20; ++i) {
    ASSERT_FALSE(learned.observe(scored("a", 1, 0.1)));
    ASSERT_FALSE(learned.observe(scored("b", 1, 0.9)));
    ASSERT_FALSE(learned.observe(scored("a", -1, 0.9)));
  }
  policies::bandit::BanditPolicy fresh(two_models(), o, nullptr);
  const auto saved = learned.save();
  ASSERT_FALSE(fresh.restore(nlohmann::json::parse(saved.dump()))) << "restore failed";
  EXPECT_EQ(fresh.observations(), 60u);
  RouteRequest req;
  req.prompt_text = "q";
  for (float e : {1.0f, -1.0f, 0.3f}) {
    Signals s;
    s.embedding = {e};
    auto d1 = learned.choose(req, s);
    auto d2 = fresh.choose(req, s);
    ASSERT_TRUE(d1 && d2);
    EXPECT_EQ(d1->plan.model, d2->plan.model);
    for (std::size_t m = 0; m < 2; ++m)
      EXPECT_NEAR(d1->candidates[m].predicted_quality, d2->candidates[m].predicted_quality, 1e-9);
  }
  // A state for other models, or of another size, is refused and changes nothing.
  policies::ObjectiveSettings s;
  s.models = {"a", "c"};
  s.context_windows = {0, 0};
  policies::bandit::BanditPolicy other(std::make_shared<const policies::Objective>(s), o, nullptr);
  EXPECT_TRUE(other.restore(saved));
  EXPECT_EQ(other.observations(), 0u);
  o.dim = 2;
  policies::bandit::BanditPolicy wider(two_models(), o, nullptr);
  EXPECT_TRUE(wider.restore(saved));
  EXPECT_TRUE(fresh.restore(nlohmann::json::object()));
}

TEST(LearningState, EloSaveRestore) {
  policies::elo::EloPolicy p(two_models(), 16, false, 20);
  Feedback f;
  f.model = "a";
  f.other = "b";
  f.outcome = 0;
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(p.observe(f));
  policies::elo::EloPolicy q(two_models(), 16, false, 20);
  ASSERT_FALSE(q.restore(p.save()));
  EXPECT_EQ(q.observations(), 10u);
  EXPECT_EQ(q.save(), p.save());
  // Ratings no game could produce are refused (since session 28).
  auto bad = p.save();
  bad["global"]["rating"][0] = 1e308;
  policies::elo::EloPolicy r(two_models(), 16, false, 20);
  EXPECT_TRUE(r.restore(bad));
  EXPECT_EQ(r.observations(), 0u);
  bad = p.save();
  bad["cost_sum"][1] = -4;
  EXPECT_TRUE(r.restore(bad));
}

// What the decision store keeps per decision of a learning route: every field back exactly, the
// prompt cut to the limit, and garbage refused.
TEST(DecisionContextCodec, RoundTripIsExactAndCutsThePrompt) {
  pipeline::learning::DecisionContext c;
  c.route = "adaptive";
  c.model = "b";
  c.signals.embedding = {0.1f, -0.7f, 1e-8f, 0.123456789f};
  c.signals.task = "math";
  c.signals.task_confidence = 0.75f;
  c.signals.has_code = true;
  c.signals.prompt_tokens = 12;
  c.prompt_text = "what is 2+2? \"quoted\"";
  c.prompt_tokens = 13;
  c.cost = 0.000123456789;
  c.lambda = 20;
  c.time_ms = 1'764'000'000'123;
  auto back = pipeline::learning::decode_context(pipeline::learning::encode_context(c, 1024));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->route, c.route);
  EXPECT_EQ(back->model, c.model);
  EXPECT_EQ(back->signals.embedding, c.signals.embedding);
  EXPECT_EQ(back->signals.task, "math");
  EXPECT_EQ(back->signals.task_confidence, 0.75f);
  EXPECT_TRUE(back->signals.has_code);
  EXPECT_EQ(back->signals.prompt_tokens, 12);
  EXPECT_EQ(back->prompt_text, c.prompt_text);
  EXPECT_EQ(back->prompt_tokens, 13);
  EXPECT_EQ(back->cost, c.cost);
  EXPECT_EQ(back->lambda, 20);
  EXPECT_EQ(back->time_ms, c.time_ms);
  c.lambda.reset();
  back = pipeline::learning::decode_context(pipeline::learning::encode_context(c, 4));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->prompt_text, "what");
  EXPECT_FALSE(back->lambda);
  EXPECT_FALSE(pipeline::learning::decode_context("{"));
  EXPECT_FALSE(pipeline::learning::decode_context(R"({"route":"r"})"));  // no model
  EXPECT_FALSE(pipeline::learning::decode_context(
      R"({"route":"r","model":"m","embedding_text":"0.5 x"})"));
  // Every float back exactly, in about 10 characters each.
  c.signals.embedding.clear();
  for (int i = 0; i < 100; ++i) c.signals.embedding.push_back(std::sin(i * 0.731f) / 7.0f);
  c.prompt_text.clear();
  const std::string encoded = pipeline::learning::encode_context(c, 1024);
  EXPECT_LT(encoded.size(), 1400u);
  EXPECT_EQ(pipeline::learning::decode_context(encoded)->signals.embedding, c.signals.embedding);
}

TEST(LearnEvent, StreamJsonRoundTripIsExact) {
  pipeline::learning::LearnEvent e;
  e.route = "adaptive";
  e.decision_id = "dec_x";
  e.feedback = scored("a", 0.123456789f, 0.3);
  e.feedback.signals.embedding = {0.1f, -0.7f, 1e-8f};
  e.feedback.signals.task = "math";
  e.feedback.prompt_text = "what is 2+2? \"quoted\"";
  e.feedback.lambda = 20;
  auto back = pipeline::learning::parse_event_json(pipeline::learning::event_json(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->route, "adaptive");
  EXPECT_EQ(back->feedback.signals.embedding, e.feedback.signals.embedding);
  EXPECT_EQ(back->feedback.prompt_text, e.feedback.prompt_text);
  EXPECT_EQ(back->feedback.signals.task, "math");
  EXPECT_EQ(*back->feedback.score, 0.3);
  EXPECT_EQ(*back->feedback.lambda, 20);
  EXPECT_EQ(back->feedback.cost, e.feedback.cost);
  EXPECT_FALSE(back->feedback.other_signals);
  EXPECT_FALSE(pipeline::learning::parse_event_json("{"));
  // Since session 28, values no gateway writes are refused (a score of 1e300 from the stream
  // pinned every gateway's policy to one model).
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"score", 1e300}, {"score", -0.5}, {"cost", -1}, {"lambda", -2},
           {"prompt_tokens", -7}, {"task_confidence", 3}, {"embedding", {1.0, 1e300}}}) {
    auto j = nlohmann::json::parse(pipeline::learning::event_json(e));
    j[field] = value;
    EXPECT_FALSE(pipeline::learning::parse_event_json(j.dump())) << field << " " << value.dump();
  }
  // A pairwise preference carries the other decision's request.
  e.feedback.score.reset();
  e.feedback.other = "b";
  e.feedback.other_cost = 0.0123456789;
  e.feedback.outcome = 0.5;
  e.feedback.other_signals = Signals{};
  e.feedback.other_signals->embedding = {0.25f, -3e-9f};
  e.feedback.other_signals->task = "poetry";
  e.feedback.other_prompt_text = "a poem, \"please\"";
  e.feedback.other_prompt_tokens = 17;
  back = pipeline::learning::parse_event_json(pipeline::learning::event_json(e));
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->feedback.score);
  EXPECT_EQ(back->feedback.other, "b");
  EXPECT_EQ(back->feedback.other_cost, e.feedback.other_cost);
  EXPECT_EQ(*back->feedback.outcome, 0.5);
  ASSERT_TRUE(back->feedback.other_signals);
  EXPECT_EQ(back->feedback.other_signals->embedding, e.feedback.other_signals->embedding);
  EXPECT_EQ(back->feedback.other_signals->task, "poetry");
  EXPECT_EQ(back->feedback.other_prompt_text, e.feedback.other_prompt_text);
  EXPECT_EQ(back->feedback.other_prompt_tokens, 17);
  EXPECT_EQ(back->feedback.signals.task, "math");
}

// A learned policy with fixed predictions: a 0.8, b 0.6, both free.
class FixedLearned final : public policies::LearnedPolicy {
 public:
  FixedLearned() : LearnedPolicy("fixed", two_models()) {}
  Result<std::vector<policies::ModelPrediction>> predict(const RouteRequest&,
                                                         const Signals&) const override {
    std::vector<policies::ModelPrediction> p(2);
    p[0].quality = 0.8;
    p[1].quality = 0.6;
    return p;
  }
};

Feedback tasked(const std::string& model, const std::string& task, double score) {
  Feedback f;
  f.model = model;
  f.signals.task = task;
  f.score = score;
  return f;
}

std::string chosen(const policies::correction::CorrectionPolicy& p, const std::string& task) {
  RouteRequest req;
  req.prompt_text = "q";
  Signals s;
  s.task = task;
  auto d = p.choose(req, s);
  EXPECT_TRUE(d);
  return d ? d->plan.model : "";
}

TEST(OnlineCorrection, PerModelPerTaskBiasMovesTheLearnedPolicysChoice) {
  policies::correction::CorrectionOptions o;  // prior 10, per task, min_n 5
  policies::correction::CorrectionPolicy p(std::make_unique<FixedLearned>(), o);
  EXPECT_EQ(chosen(p, "math"), "a");  // no feedback: the base policy's choice
  EXPECT_EQ(chosen(p, ""), "a");
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(p.observe(tasked("a", "math", 0.2)));    // a is much worse than predicted on math
    ASSERT_FALSE(p.observe(tasked("a", "poetry", 0.9)));  // and a bit better on poetry
  }
  // math: 0.8 + 10·(0.2 − 0.8)/(10 + 10) = 0.5 < 0.6 → b; poetry: 0.8 + 10·0.1/20 = 0.85 → a.
  EXPECT_NEAR(p.bias(0, "math"), -0.3, 1e-12);
  EXPECT_NEAR(p.bias(0, "poetry"), 0.05, 1e-12);
  EXPECT_NEAR(p.bias(1, "math"), 0.0, 1e-12);
  EXPECT_EQ(chosen(p, "math"), "b");
  EXPECT_EQ(chosen(p, "poetry"), "a");
  // No task, or one with too little feedback: the global table, (10·−0.6 + 10·0.1)/(10 + 20).
  EXPECT_NEAR(p.bias(0, ""), -5.0 / 30.0, 1e-12);
  EXPECT_EQ(chosen(p, "code"), "a");
  // Refused: a model it does not route to, feedback without a score.
  EXPECT_TRUE(p.observe(tasked("zzz", "math", 1)));
  Feedback pair;
  pair.model = "a";
  EXPECT_TRUE(p.observe(pair));
  EXPECT_EQ(p.observations(), 20u);
  // The state survives save/restore.
  policies::correction::CorrectionPolicy q(std::make_unique<FixedLearned>(), o);
  ASSERT_FALSE(q.restore(p.save()));
  EXPECT_EQ(chosen(q, "math"), "b");
  EXPECT_NEAR(q.bias(0, "math"), -0.3, 1e-12);
  // A table no feedback could make (since session 31): a weight cancelling the prior made one
  // model's bias infinite, chosen for every request; |sum| > weight, or not finite.
  for (const auto& [key, poison] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"weight", {-10.0, 0.0}}, {"sum", {1e6, 0.0}}, {"sum", {std::nan(""), 0.0}}}) {
    auto bad = p.save();
    bad["global"][key] = poison;
    policies::correction::CorrectionPolicy r(std::make_unique<FixedLearned>(), o);
    EXPECT_TRUE(r.restore(bad)) << key;
    EXPECT_EQ(r.bias(0, ""), 0) << key;
  }
}

// A preference without a score corrects both models: winner 1, loser 0, each at its own task.
TEST(OnlineCorrection, LearnsFromPairwisePreferences) {
  policies::correction::CorrectionOptions o;  // prior 10, per task, min_n 5
  policies::correction::CorrectionPolicy p(std::make_unique<FixedLearned>(), o);
  for (int i = 0; i < 10; ++i) {
    Feedback f = tasked("a", "math", 0);
    f.score.reset();
    f.other = "b";
    f.outcome = 0.0;  // b won
    f.other_signals = Signals{};
    f.other_signals->task = "math";
    ASSERT_FALSE(p.observe(f));
  }
  // a: 10·(0 − 0.8)/20 = −0.4; b: 10·(1 − 0.6)/20 = +0.2 → b on math.
  EXPECT_NEAR(p.bias(0, "math"), -0.4, 1e-12);
  EXPECT_NEAR(p.bias(1, "math"), 0.2, 1e-12);
  EXPECT_EQ(chosen(p, "math"), "b");
  EXPECT_EQ(p.observations(), 10u);
  Feedback unknown = tasked("a", "math", 0);
  unknown.score.reset();
  unknown.other = "zzz";
  unknown.outcome = 1.0;
  EXPECT_TRUE(p.observe(unknown));
}

TEST(OnlineCorrection, DiscountForgetsOldFeedback) {
  policies::correction::CorrectionOptions o;
  o.prior = 1;
  o.discount = 0.8;
  o.per_task = false;
  policies::correction::CorrectionPolicy p(std::make_unique<FixedLearned>(), o);
  for (int i = 0; i < 30; ++i) ASSERT_FALSE(p.observe(tasked("a", "", 0.0)));
  EXPECT_EQ(chosen(p, ""), "b");
  for (int i = 0; i < 15; ++i) ASSERT_FALSE(p.observe(tasked("a", "", 0.8)));
  EXPECT_GT(p.bias(0, ""), -0.05);  // the old zeros weigh 0.8^15 ≈ 3.5% now
  EXPECT_EQ(chosen(p, ""), "a");
}

}  // namespace
}  // namespace switchboard
