// The `routed` default cascade (src/policies/cascade/cascade_routed.cc) trained from a tiny
// dataset with responses: which models become the final tier and the probes, that the first
// policy and the verifier are trained into the output directory, the grid the curve sweeps, and
// that the built policy sets tier 0's threshold per request to the final model's utility + margin.
// Needs the real signal weights (the classifier reads them), like learned_policies_test.cc.
#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.h"
#include "pipeline/runtime.h"
#include "policies/trainer.h"

namespace switchboard {
namespace {

namespace fs = std::filesystem;

const char* kThings[] = {"list",   "string", "array", "dictionary",
                         "matrix", "tuple",  "set",   "integer"};
const char* kVerbs[] = {"sort", "reverse", "sum", "filter", "parse", "count", "merge", "split"};

// "premium" is always right and costs 50× more; "good" is right on 3 verbs of 4 (not the 4th)
// and hedges when wrong; "fair" is right on half; "poor" mostly wrong.
data::Outcomes train_data() {
  data::Outcomes o;
  for (int v = 0; v < 8; ++v)
    for (int t = 0; t < 8; ++t) {
      data::PromptRecord r;
      r.id = "p" + std::to_string(v) + std::to_string(t);
      r.task = "code";
      r.messages = {{"user", std::string("Write a python function to ") + kVerbs[v] + " a " +
                                 kThings[t] + "."}};
      const bool easy = v % 4 != 3;
      const std::string right = "```python\ndef f(x):\n    return sorted(x)\n```";
      const std::string wrong = "I am not sure, maybe\n```python\ndef f(x):\n    pass\n```";
      r.outcomes["premium"] = {1.0, 0.05, {}, right};
      r.outcomes["good"] = {easy ? 1.0 : 0.0, 0.001, {}, easy ? right : wrong};
      r.outcomes["fair"] = {t % 2 == 0 ? 1.0 : 0.0, 0.0008, {}, t % 2 == 0 ? right : wrong};
      r.outcomes["poor"] = {t == 0 ? 1.0 : 0.0, 0.0005, {}, t == 0 ? right : wrong};
      o.records.push_back(std::move(r));
    }
  return o;
}

TEST(RoutedCascade, TrainsFirstPolicyVerifierProbesAndAGrid) {
  const std::string dir = (fs::temp_directory_path() / "sb_routed_cascade").string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto* trainer = policies::TrainerRegistry::instance().find("cascade");
  ASSERT_NE(trainer, nullptr);
  data::Outcomes data = train_data();
  YAML::Node base;
  base["type"] = "cascade";
  policies::TrainContext ctx{data, {"fair", "good", "poor", "premium"}, base, dir, 1, {}, {}, {}};
  auto trained = (*trainer)(ctx);
  ASSERT_TRUE(trained) << trained.error().message;
  const YAML::Node& spec = trained->spec;
  EXPECT_EQ(spec["type"].as<std::string>(), "cascade");
  EXPECT_EQ(spec["first"]["type"].as<std::string>(), "classifier");
  EXPECT_TRUE(fs::exists(dir + "/first/manifest.json"));
  EXPECT_TRUE(fs::exists(dir + "/verifier/manifest.json"));
  ASSERT_EQ(spec["tiers"].size(), 3u);
  EXPECT_EQ(spec["tiers"][0]["models"][0].as<std::string>(), "first");
  EXPECT_EQ(spec["tiers"][0]["judge"]["type"].as<std::string>(), "verifier");
  EXPECT_EQ(spec["tiers"][0]["threshold"].as<std::string>(), "utility");
  // Probes: the two best of the models costing at most 1/8 of the final's, best first.
  EXPECT_EQ(spec["tiers"][1]["models"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"first", "good", "fair"}));
  EXPECT_EQ(spec["tiers"][1]["judge"]["type"].as<std::string>(), "agreement");
  EXPECT_EQ(spec["tiers"][1]["judge"]["reference"].as<std::string>(), "first");
  EXPECT_EQ(spec["tiers"][2]["model"].as<std::string>(), "premium");
  // The grid: 6 margins × the classifier's 40 λ.
  const auto& sweep = trained->sweep;
  EXPECT_EQ(sweep.kind, policies::Sweep::Kind::kSpecKey);
  EXPECT_EQ(sweep.key, "tiers.0.margin");
  EXPECT_EQ(sweep.values.size(), 6u * 40u);
  EXPECT_EQ(sweep.lambdas.size(), sweep.values.size());
  EXPECT_EQ(sweep.values.front(), -1.0);

  // Built as the gateway builds it: tier 0's threshold is premium's utility at the request's λ.
  auto cfg = std::make_shared<config::Config>();
  for (const auto* m : {"fair", "good", "poor", "premium"}) {
    config::ModelConfig mc;
    mc.name = m;
    cfg->models.push_back(mc);
  }
  config::RouteConfig rc;
  rc.name = "auto";
  rc.policy_type = "cascade";
  rc.policy = spec;
  rc.where = "test.yaml:1:1";
  cfg->routes.push_back(rc);
  auto rt = pipeline::build_runtime(cfg);
  ASSERT_TRUE(rt) << rt.error().message;
  api::ChatRequest req;
  req.model = "auto";
  req.prompt_text = "Write a python function to sort a tuple.";
  req.message_count = 1;
  req.estimated_prompt_tokens = 10;
  int checked = 0;
  for (double lambda : {0.0, 10.0}) {
    RouteRequest rr = pipeline::route_request(req, lambda);
    auto d = (*rt)->decide("auto", rr, (*rt)->signals_for(req));
    ASSERT_TRUE(d) << d.error().message;
    std::optional<double> premium;
    for (const auto& c : d->candidates)
      if (c.model == "premium") premium = c.utility;
    ASSERT_TRUE(premium);
    if (d->plan.model == "premium") continue;  // nothing to verify: premium alone
    ASSERT_EQ(d->plan.tiers.size(), 3u);
    EXPECT_NEAR(d->plan.tiers[0].threshold, *premium, 1e-12) << "λ " << lambda;
    ++checked;
  }
  EXPECT_GE(checked, 1);  // at λ 10 premium (utility 1 − 0.5) loses to `good`
}

}  // namespace
}  // namespace switchboard
