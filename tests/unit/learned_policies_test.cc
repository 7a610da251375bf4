// The learned policies (knn, classifier, mf) end to end on a tiny dataset where the right choice is
// known: "coder" answers programming prompts well and poems badly, "writer" the reverse, "premium"
// answers everything but costs 50 times more. Each policy is trained by its registered trainer
// (with the real signal weights, which `make test` installs via `make weights`), built by its
// registered factory from the model directory, and asked about prompts it has not seen.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "pipeline/runtime.h"
#include "policies/classifier/fasttext_text.h"
#include "signals/extractor.h"
#include "signals/fasttext_file.h"
#include "policies/model_dir.h"
#include "policies/trainer.h"

namespace switchboard {
namespace {

namespace fs = std::filesystem;

const char* kVerbs[] = {"sort",  "reverse", "sum",   "filter",  "parse",
                        "count", "merge",   "split", "flatten", "search"};
const char* kThings[] = {"list",   "string", "array", "dictionary",
                         "matrix", "tuple",  "set",   "integer"};
const char* kTopics[] = {"sea",  "moon",   "forest", "river",  "mountain",
                         "rain", "garden", "sunset", "winter", "love"};
const char* kMoods[] = {"sad",    "joyful", "quiet",  "gentle",
                        "lonely", "bright", "tender", "wistful"};

data::PromptRecord record(const std::string& id, const std::string& prompt, bool code) {
  data::PromptRecord r;
  r.id = id;
  r.task = code ? "code" : "poetry";
  r.messages = {{"user", prompt}};
  r.outcomes["coder"] = {code ? 1.0 : 0.0, 0.001, {}, {}};
  r.outcomes["writer"] = {code ? 0.0 : 1.0, 0.001, {}, {}};
  r.outcomes["premium"] = {1.0, 0.05, {}, {}};
  return r;
}

std::string code_prompt(int v, int t) {
  return std::string("Write a python function to ") + kVerbs[v] + " a " + kThings[t] +
         " and return the result.";
}
std::string poem_prompt(int v, int t) {
  return std::string("Write a ") + kMoods[t] + " poem about the " + kTopics[v] + " with rhymes.";
}

// Even (v + t) combinations train; odd ones are held out for the questions.
data::Outcomes train_data() {
  data::Outcomes o;
  for (int v = 0; v < 10; ++v)
    for (int t = 0; t < 8; ++t)
      if ((v + t) % 2 == 0) {
        o.records.push_back(
            record("c" + std::to_string(v) + std::to_string(t), code_prompt(v, t), true));
        o.records.push_back(
            record("p" + std::to_string(v) + std::to_string(t), poem_prompt(v, t), false));
      }
  return o;
}

struct Trained {
  std::string dir;
  YAML::Node spec;
};

Trained train(const std::string& policy, std::uint64_t seed = 7, const std::string& sub = "") {
  const std::string dir = (fs::temp_directory_path() / ("sb_learned_" + policy + sub)).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto* trainer = policies::TrainerRegistry::instance().find(policy);
  EXPECT_NE(trainer, nullptr);
  data::Outcomes data = train_data();
  YAML::Node base;
  base["type"] = policy;
  if (policy == "knn") base["k"] = 5;
  if (policy == "blend")
    base["members"] = YAML::Load(
        "[{type: classifier, weight: 2}, {type: knn, k: 5, weight: 1}, {type: mf, weight: 1}]");
  policies::TrainContext ctx{data, {"coder", "premium", "writer"}, base, dir, seed, {}, {}, {}};
  auto result = (*trainer)(ctx);
  EXPECT_TRUE(result) << (result ? "" : result.error().message);
  if (!result) return {dir, {}};
  return {dir, result->spec};
}

std::shared_ptr<config::Config> config_with(const YAML::Node& spec,
                                            std::vector<std::string> models) {
  auto cfg = std::make_shared<config::Config>();
  for (auto& m : models) {
    config::ModelConfig mc;
    mc.name = m;
    cfg->models.push_back(mc);
  }
  config::RouteConfig rc;
  rc.name = "auto";
  rc.policy_type = spec["type"].as<std::string>();
  rc.policy = spec;
  rc.where = "test.yaml:1:1";
  cfg->routes.push_back(rc);
  return cfg;
}

Result<Decision> ask(const pipeline::Runtime& rt, const std::string& prompt,
                     std::optional<double> lambda) {
  api::ChatRequest req;
  req.model = "auto";
  req.prompt_text = prompt;
  req.message_count = 1;
  req.estimated_prompt_tokens = static_cast<std::int64_t>(prompt.size() / 4);
  RouteRequest rr = pipeline::route_request(req, lambda);
  return rt.decide("auto", rr, rt.signals_for(req));
}

double quality_of(const Decision& d, const std::string& model) {
  for (const auto& c : d.candidates)
    if (c.model == model) return c.predicted_quality;
  return -1;
}

class LearnedPolicyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LearnedPolicyTest, RoutesEachPromptToTheModelThatAnswersItWell) {
  Trained t = train(GetParam());
  ASSERT_TRUE(t.spec.IsMap());
  EXPECT_EQ(t.spec["type"].as<std::string>(), GetParam());
  auto rt = pipeline::build_runtime(config_with(t.spec, {"coder", "premium", "writer"}));
  ASSERT_TRUE(rt) << rt.error().message;
  int right = 0, total = 0;
  for (int v = 0; v < 10; ++v)
    for (int k = 0; k < 8; ++k) {
      if ((v + k) % 2 == 0) continue;  // held out only
      for (bool code : {true, false}) {
        auto d = ask(**rt, code ? code_prompt(v, k) : poem_prompt(v, k), 100.0);
        ASSERT_TRUE(d) << d.error().message;
        right += d->plan.model == (code ? "coder" : "writer");
        ++total;
        EXPECT_EQ(d->candidates.size(), 3u);
        EXPECT_TRUE(d->candidates[0].utility.has_value());
      }
    }
  EXPECT_GE(right, total * 9 / 10) << right << " of " << total;
  // The predictions themselves say why, and λ = 0 buys the premium model only if it is better.
  auto d = ask(**rt, "Write a python function to reverse a string and return the result.", 100.0);
  ASSERT_TRUE(d);
  EXPECT_GT(quality_of(*d, "coder"), quality_of(*d, "writer") + 0.3) << d->reason;
  EXPECT_GT(quality_of(*d, "premium"), 0.8);
  EXPECT_NE(d->reason.find(GetParam() + ": coder"), std::string::npos) << d->reason;
  // A budget-tier request (objective cost) always takes a cheap model.
  api::ChatRequest req;
  req.model = "auto";
  req.prompt_text = "Write a gentle poem about the sea with rhymes.";
  RouteRequest rr = pipeline::route_request(req);
  rr.objective = "cost";
  auto cheap = (*rt)->decide("auto", rr, (*rt)->signals_for(req));
  ASSERT_TRUE(cheap);
  EXPECT_NE(cheap->plan.model, "premium");
}

TEST_P(LearnedPolicyTest, SameSeedSameModel) {
  Trained a = train(GetParam(), 3, "_a");
  Trained b = train(GetParam(), 3, "_b");
  for (const auto& entry : fs::recursive_directory_iterator(a.dir)) {
    if (!entry.is_regular_file()) continue;
    const auto name = fs::relative(entry.path(), a.dir).string();
    if (entry.path().filename() == "manifest.json") continue;  // the creation time, the directory
    std::ifstream fa(entry.path(), std::ios::binary), fb(fs::path(b.dir) / name, std::ios::binary);
    std::string ta((std::istreambuf_iterator<char>(fa)), {}),
        tb((std::istreambuf_iterator<char>(fb)), {});
    EXPECT_FALSE(ta.empty()) << name;
    EXPECT_TRUE(ta == tb) << name << " differs between two trainings with the same seed";
  }
}

TEST_P(LearnedPolicyTest, ModelDirectoryRoundTripAndChecks) {
  Trained t = train(GetParam(), 7, "_rt");
  auto m = policies::load_manifest(t.dir, GetParam(), {"writer", "coder", "premium"});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->version, policies::kModelDirVersion);
  EXPECT_EQ(m->models, (std::vector<std::string>{"coder", "premium", "writer"}));
  EXPECT_EQ(m->train_records, 80u);
  EXPECT_EQ(m->train_hash, policies::outcomes_hash(train_data()));
  // A blend's own manifest has no embedding: its members' do.
  EXPECT_EQ(m->embedding_dim, GetParam() == "classifier" || GetParam() == "blend" ? 0u : 100u);
  // Written back (as calibrate does) and read again: the same manifest.
  m->objectives = policies::Objectives{0, 42, 1e6};
  ASSERT_FALSE(policies::write_manifest(t.dir, *m));
  auto again = policies::load_manifest(t.dir);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->objectives, m->objectives);
  EXPECT_EQ(again->hyperparameters, m->hyperparameters);
  EXPECT_EQ(again->created, m->created);
  // The calibrated λ is the route's `balanced` default.
  auto rt = pipeline::build_runtime(config_with(t.spec, {"coder", "premium", "writer"}));
  ASSERT_TRUE(rt) << rt.error().message;
  auto d = ask(**rt, "hello", std::nullopt);
  ASSERT_TRUE(d);
  EXPECT_NE(d->reason.find("lambda 42 from objective 'balanced'"), std::string::npos) << d->reason;

  // A route whose models differ from the trained ones is refused, naming both lists.
  auto other = pipeline::build_runtime(config_with(t.spec, {"coder", "writer", "gpt-x"}));
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("test.yaml:1:1"), std::string::npos);
  EXPECT_NE(other.error().message.find("[coder, premium, writer]"), std::string::npos)
      << other.error().message;
  EXPECT_NE(other.error().message.find("[coder, writer, gpt-x]"), std::string::npos)
      << other.error().message;
  // Another format version is refused.
  std::ifstream in(fs::path(t.dir) / "manifest.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.replace(text.find("\"version\": 1"), 12, "\"version\": 9");
  std::ofstream(fs::path(t.dir) / "manifest.json") << text;
  auto old = pipeline::build_runtime(config_with(t.spec, {"coder", "premium", "writer"}));
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("format version 9"), std::string::npos) << old.error().message;
  // So is a manifest of another policy type.
  auto wrong = YAML::Clone(t.spec);
  wrong["type"] = GetParam() == "knn" ? "mf" : "knn";
  EXPECT_FALSE(pipeline::build_runtime(config_with(wrong, {"coder", "premium", "writer"})));
}

// Every JSON file of a model directory replaced by JSON of another shape (a hand edit, a tool's
// output): the runtime is refused with the file named, never an exception — a SIGHUP reload used to
// terminate the gateway on `[1]` in predictors.json or `"task_token": "yes"` in the manifest.
TEST_P(LearnedPolicyTest, DamagedModelFilesAreRefusedNotThrown) {
  Trained t = train(GetParam(), 7, "_damaged");
  const auto cfg = [&] { return config_with(t.spec, {"coder", "premium", "writer"}); };
  ASSERT_TRUE(pipeline::build_runtime(cfg()));
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(t.dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    std::ifstream in(f);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    in.close();
    for (const char* damaged : {"[1]", "\"text\"", "{\"calibration\": 5, \"costs\": []}"}) {
      std::ofstream(f, std::ios::trunc) << damaged;
      Result<std::unique_ptr<pipeline::Runtime>> rt = make_error(ErrorKind::kInternal, "", "");
      EXPECT_NO_THROW(rt = pipeline::build_runtime(cfg())) << f << " = " << damaged;
      EXPECT_FALSE(rt) << f << " = " << damaged;
    }
    std::ofstream(f, std::ios::trunc) << text;
  }
  // Hyper-parameters of the wrong shape in the manifest.
  const fs::path manifest = fs::path(t.dir) / "manifest.json";
  std::ifstream in(manifest);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  in.close();
  auto j = nlohmann::json::parse(text);
  for (const nlohmann::json& hp : {nlohmann::json("x"), nlohmann::json{{"task_token", "yes"}}}) {
    j["hyperparameters"] = hp;
    std::ofstream(manifest, std::ios::trunc) << j.dump();
    Result<std::unique_ptr<pipeline::Runtime>> rt = make_error(ErrorKind::kInternal, "", "");
    EXPECT_NO_THROW(rt = pipeline::build_runtime(cfg())) << hp;
    // Only the classifier reads task_token; every policy refuses a non-object.
    if (hp.is_string() || GetParam() == "classifier") {
      EXPECT_FALSE(rt) << hp;
    }
  }
  // Values a hand edit can put in the manifest that were taken as given (since session 31): a
  // negative λ (the dearest model preferred), a version past int, an absurd embedding size.
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"objectives", {{"balanced", -1000}}}, {"version", 1e30}, {"embedding", {{"dim", 1e15}}}}) {
    auto edited = nlohmann::json::parse(text);
    edited[key] = value;
    std::ofstream(manifest, std::ios::trunc) << edited.dump();
    auto rt = pipeline::build_runtime(cfg());
    EXPECT_FALSE(rt) << key;
  }
  std::ofstream(manifest, std::ios::trunc) << text;
  EXPECT_TRUE(pipeline::build_runtime(cfg()));
  // Served with another embedding provider than GloVe, which every learned model was trained on:
  // the prompt would not be read (predictions were the training means, silently).
  if (GetParam() != "classifier") {
    auto http = cfg();
    http->signals.embedding.provider = "http";
    http->signals.embedding.url = "http://127.0.0.1:9";
    http->signals.embedding.model = "m";
    auto rt = pipeline::build_runtime(http);
    ASSERT_FALSE(rt);
    EXPECT_NE(rt.error().message.find("signals.embedding.provider is `http`"), std::string::npos)
        << rt.error().message;
  }
  // A knn index whose header says other rows or another dimension than the files around it
  // (hnswlib allocates what it says: 8 edited bytes took 6 GB).
  if (GetParam() == "knn") {
    const fs::path index = fs::path(t.dir) / "index.bin";
    std::ifstream in_index(index, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in_index)), {});
    in_index.close();
    // max_elements; the label's offset (the vector's size); both offsets far out (a segfault).
    std::size_t label_offset = 0;
    std::memcpy(&label_offset, bytes.data() + 4 * sizeof label_offset, sizeof label_offset);
    const std::size_t far = std::size_t{1'000'000'000'000};
    for (const auto& edits : std::vector<std::vector<std::pair<std::size_t, std::size_t>>>{
             {{1, std::size_t{1} << 27}}, {{4, label_offset - 200}}, {{4, far + 400}, {5, far}}}) {
      std::string edited = bytes;
      for (const auto& [at, v] : edits) std::memcpy(edited.data() + at * sizeof v, &v, sizeof v);
      const std::size_t field = edits[0].first;
      std::ofstream(index, std::ios::binary | std::ios::trunc) << edited;
      auto rt = pipeline::build_runtime(cfg());
      ASSERT_FALSE(rt) << field;
      EXPECT_NE(rt.error().message.find("index.bin does not match"), std::string::npos)
          << rt.error().message;
    }
    std::ofstream(index, std::ios::binary | std::ios::trunc) << bytes;
    EXPECT_TRUE(pipeline::build_runtime(cfg()));
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, LearnedPolicyTest,
                         ::testing::Values("knn", "classifier", "mf", "blend"));

// Hyper-parameters that are not numbers, or out of range, are the trainer's error naming the key
// or unknown to the trainer (before: an uncaught YAML conversion, a division by zero in fastText for bucket 0, a hang for
// folds -1, bad_alloc for a negative dim).
TEST(TrainerParams, BadHyperParametersAreErrorsNamingTheKey) {
  const data::Outcomes data = train_data();
  const std::string dir = (fs::temp_directory_path() / "sb_learned_bad_params").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"knn", "{k: abc}"},         {"knn", "{k: 0}"},          {"knn", "{k: 2.5}"},
      {"classifier", "{bucket: 0}"}, {"classifier", "{folds: -1}"}, {"classifier", "{folds: 1}"},
      {"classifier", "{lr: .nan}"}, {"mf", "{dim: -3}"},        {"mf", "{epochs: [1, 2]}"},
      // Misspelt or foreign keys (since session 28; before, trained with the defaults):
      {"classifier", "{epochs: 5}"}, {"mf", "{epoch: 5}"},        {"knn", "{neighbours: 5}"},
      {"blend", "{member: []}"}};
  for (const auto& [policy, params] : cases) {
    YAML::Node spec = YAML::Load(params);
    spec["type"] = policy;
    const auto key = YAML::Load(params).begin()->first.as<std::string>();
    fs::remove_all(dir);
    fs::create_directories(dir);
    policies::TrainContext ctx{data, {"coder", "premium", "writer"}, spec, dir, 7, {}, {}, {}};
    const auto* trainer = policies::TrainerRegistry::instance().find(policy);
    ASSERT_NE(trainer, nullptr);
    Result<policies::TrainedPolicy> r = make_error(ErrorKind::kInternal, "", "");
    EXPECT_NO_THROW(r = policies::run_trainer(*trainer, ctx)) << policy << " " << params;
    ASSERT_FALSE(r) << policy << " " << params;
    EXPECT_EQ(r.error().code, "bad_hyperparameter") << r.error().message;
    EXPECT_NE(r.error().message.find("'" + key + "'"), std::string::npos) << r.error().message;
  }
  fs::remove_all(dir);
}

// A damaged fastText model.bin (signals/fasttext_file.h): fastText's own loader grew without end on
// a truncated dictionary (a hot reload then killed the gateway) and aborted the process at the
// first prediction when the header's dim disagreed with the matrices. Each is refused at build.
TEST(ClassifierPolicy, DamagedModelBinIsRefusedBeforeFastTextReadsIt) {
  Trained t = train("classifier", 7, "_bin");
  const auto cfg = [&] { return config_with(t.spec, {"coder", "premium", "writer"}); };
  ASSERT_TRUE(pipeline::build_runtime(cfg()));
  const fs::path bin = fs::path(t.dir) / "model.bin";
  ASSERT_TRUE(signals::check_fasttext_file(bin.string()));
  std::ifstream in(bin, std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), {});
  in.close();
  const auto refused = [&](const std::string& bytes, const std::string& what) {
    std::ofstream(bin, std::ios::binary | std::ios::trunc) << bytes;
    auto rt = pipeline::build_runtime(cfg());
    EXPECT_FALSE(rt) << what;
    if (!rt) {
      EXPECT_NE(rt.error().message.find("model.bin"), std::string::npos) << rt.error().message;
    }
  };
  // Cut inside the header, the dictionary (the first word starts at byte 92), the matrices.
  for (std::size_t at : {std::size_t{4}, std::size_t{60}, std::size_t{95}, std::size_t{1000},
                         good.size() / 2, good.size() - 1})
    if (at < good.size()) refused(good.substr(0, at), "cut at " + std::to_string(at));
  std::string big_dim = good;
  const std::int32_t dim = 1 << 30;
  std::memcpy(big_dim.data() + 8, &dim, sizeof dim);
  refused(big_dim, "dim 2^30");
  // Header values that disagree with each other (each crashed fastText: a bucket of 0 divides by
  // zero when hashing n-grams, a bucket that does not match the input rows aborts a prediction).
  std::int32_t bucket = 0;
  std::memcpy(&bucket, good.data() + 8 + 8 * 4, sizeof bucket);
  for (std::int32_t wrong : {0, bucket + 1, bucket / 2}) {
    std::string other = good;
    std::memcpy(other.data() + 8 + 8 * 4, &wrong, sizeof wrong);
    refused(other, "bucket " + std::to_string(wrong) + " (trained with " + std::to_string(bucket) + ")");
  }
  refused(good + "trailing", "bytes after the end");
  refused(std::string(64, 'x'), "not a model");
  // Another fastText model (since session 31): the language identifier read every label as model 0.
  {
    std::ifstream lid(fs::path(signals::default_weights_dir()) / "lid.176.ftz", std::ios::binary);
    ASSERT_TRUE(lid) << "make weights installs lid.176.ftz";
    const std::string other((std::istreambuf_iterator<char>(lid)), {});
    std::ofstream(bin, std::ios::binary | std::ios::trunc) << other;
    auto rt = pipeline::build_runtime(cfg());
    ASSERT_FALSE(rt);
    EXPECT_NE(rt.error().message.find("is not this directory's classifier"), std::string::npos)
        << rt.error().message;
  }
  std::ofstream(bin, std::ios::binary | std::ios::trunc) << good;
  EXPECT_TRUE(pipeline::build_runtime(cfg()));
}

// fastText takes a token starting with __label__ for a label wherever it is: a prompt quoting one
// added a label to the classifier (which the load check then refused; predictions read it as
// model 0). The text the classifier reads never has one.
TEST(ClassifierPolicy, APromptsLabelLikeTokensAreNotLabels) {
  EXPECT_EQ(policies::fasttext_text("what is __label__positive and x__label__1", "", 1000),
            "what is _label__positive and x__label__1");
  EXPECT_EQ(policies::fasttext_text("__label__0 first", "", 1000), "_label__0 first");
}

// A blend predicts the weighted mean of its members' predictions, member by member as each
// predicts alone (built from the blend's own sub-directories).
TEST(BlendPolicy, PredictsTheWeightedMeanOfItsMembers) {
  Trained t = train("blend", 7, "_mean");
  ASSERT_TRUE(t.spec.IsMap());
  auto cfg = config_with(t.spec, {"coder", "premium", "writer"});
  const std::vector<std::pair<std::string, double>> members = {
      {"m0-classifier", 2}, {"m1-knn", 1}, {"m2-mf", 1}};
  for (const auto& [sub, weight] : members) {
    config::RouteConfig rc;
    rc.name = sub;
    rc.policy = YAML::Load("{type: " + sub.substr(3) + ", model_dir: '" +
                           (fs::path(t.dir) / sub).string() + "'}");
    rc.policy_type = sub.substr(3);
    rc.where = "test.yaml:2:1";
    cfg->routes.push_back(rc);
  }
  auto rt = pipeline::build_runtime(cfg);
  ASSERT_TRUE(rt) << rt.error().message;
  for (const std::string& prompt :
       {code_prompt(1, 2), poem_prompt(3, 4), std::string("hello, how are you?")}) {
    api::ChatRequest req;
    req.model = "auto";
    req.prompt_text = prompt;
    req.message_count = 1;
    const Signals sig = (*rt)->signals_for(req);
    auto blend = (*rt)->decide("auto", pipeline::route_request(req, 20.0), sig);
    ASSERT_TRUE(blend) << blend.error().message;
    for (const auto& c : blend->candidates) {
      double quality = 0, cost = 0;
      for (const auto& [sub, weight] : members) {
        auto d = (*rt)->decide(sub, pipeline::route_request(req, 20.0), sig);
        ASSERT_TRUE(d) << d.error().message;
        for (const auto& mc : d->candidates)
          if (mc.model == c.model) {
            quality += weight / 4 * mc.predicted_quality;
            cost += weight / 4 * mc.predicted_cost;
          }
      }
      EXPECT_NEAR(c.predicted_quality, quality, 1e-9) << c.model << " on " << prompt;
      EXPECT_NEAR(c.predicted_cost, cost, 1e-12) << c.model << " on " << prompt;
    }
  }
}

TEST(BlendPolicy, RefusesABadMemberList) {
  Trained t = train("blend", 7, "_bad");
  ASSERT_TRUE(t.spec.IsMap());
  auto build_with = [&](const std::string& members_json) {
    std::ofstream(fs::path(t.dir) / "blend.json") << members_json;
    return pipeline::build_runtime(config_with(t.spec, {"coder", "premium", "writer"}));
  };
  auto zero = build_with(R"({"members": [{"dir": "m1-knn", "weight": 0}]})");
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("`weight` must be a number in (0, 1e12]"), std::string::npos)
      << zero.error().message;
  EXPECT_FALSE(build_with(R"({"members": [{"dir": "m1-knn", "weight": 1e308}, {"dir": "m2-mf", "weight": 1e308}]})"));
  for (const char* dir : {"../elsewhere", ".", "./", "m1-knn/.."}) {
    auto outside = build_with(std::string(R"({"members": [{"dir": ")") + dir + R"("}]})");
    ASSERT_FALSE(outside) << dir;
    EXPECT_NE(outside.error().message.find("sub-directory"), std::string::npos) << dir;
  }
  auto missing = build_with(R"({"members": [{"dir": "m9-none"}]})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("member m9-none"), std::string::npos)
      << missing.error().message;
  EXPECT_FALSE(build_with(R"({"members": []})"));
  EXPECT_TRUE(build_with(R"({"members": [{"dir": "m2-mf"}, {"dir": "m1-knn", "weight": 3}]})"));
}

}  // namespace
}  // namespace switchboard
