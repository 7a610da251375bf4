// Calibration: target parsing, the bisection on a known curve, and on RouterBench: a classifier
// trained on the train split, calibrated on one half of the test split, meets each target on the
// other half within a tolerance.
#include "eval/calibrate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "config/config.h"
#include "eval/import.h"
#include "pipeline/runtime.h"
#include "policies/trainer.h"

namespace switchboard::eval {
namespace {

TEST(Calibrate, ParsesTargets) {
  auto s = parse_target("share:gpt-4-1106-preview=0.2");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, CalibrationTarget::Kind::kShare);
  EXPECT_EQ(s->model, "gpt-4-1106-preview");
  EXPECT_DOUBLE_EQ(s->value, 0.2);
  EXPECT_EQ(parse_target("cost-per-1k:0.5")->kind, CalibrationTarget::Kind::kCostPer1k);
  EXPECT_EQ(parse_target("min-score:0.8")->to_string(), "min-score:0.8");
  for (const char* bad :
       {"share:m", "share:=0.2", "share:m=1.5", "cost-per-1k:x", "min-score:2", "speed:1", "0.5"})
    EXPECT_FALSE(parse_target(bad)) << bad;
}

// A curve known in closed form: share(λ) = 1 / (1 + λ/10), cost = share, score = 0.5 + 0.4·share.
OperatingPoint curve(double lambda) {
  OperatingPoint p;
  const double share = 1.0 / (1.0 + lambda / 10);
  p.shares["big"] = share;
  p.shares["small"] = 1 - share;
  p.cost_per_1k = share;
  p.mean_score = 0.5 + 0.4 * share;
  return p;
}

TEST(Calibrate, FindsTheLambdaOfAKnownCurve) {
  auto r = calibrate(curve, *parse_target("share:big=0.2"));  // 1/(1+λ/10) = 0.2 at λ = 40
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NEAR(r->lambda, 40, 0.05);
  EXPECT_LE(r->achieved, 0.2);
  r = calibrate(curve, *parse_target("min-score:0.7"));  // share 0.5 at λ = 10, the largest such λ
  ASSERT_TRUE(r);
  EXPECT_NEAR(r->lambda, 10, 0.01);
  EXPECT_GE(r->achieved, 0.7 - 1e-12);
  r = calibrate(curve, *parse_target("cost-per-1k:2"));  // met already at λ = 0
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lambda, 0);
  auto impossible = calibrate(curve, *parse_target("min-score:0.95"));
  ASSERT_FALSE(impossible);
  EXPECT_NE(impossible.error().message.find("cannot be met"), std::string::npos);
}

TEST(Calibrate, HeldOutHalfMeetsTheTargetOnRouterBench) {
  namespace fs = std::filesystem;
  const std::string in = SB_SHARED_DATA "/routerbench_zs";
  if (!fs::exists(in + "/mbpp_train.csv")) GTEST_SKIP() << "no " << in;
  const fs::path dir = fs::temp_directory_path() / "sb_calibrate_rb";
  fs::create_directories(dir / "model");
  ASSERT_TRUE(import_routerbench(in, dir.string()));
  auto train = data::read_outcomes_jsonl((dir / "train.jsonl").string());
  auto test = data::read_outcomes_jsonl((dir / "test.jsonl").string());
  ASSERT_TRUE(train && test);
  YAML::Node base;
  base["type"] = "classifier";
  policies::TrainContext ctx{*train,
                             train->models(),
                             base,
                             (dir / "model").string(),
                             1,
                             signals::ExtractorOptions(),
                             std::string(),
                             nullptr};
  auto trained = (*policies::TrainerRegistry::instance().find("classifier"))(ctx);
  ASSERT_TRUE(trained) << trained.error().message;
  auto cfg = std::make_shared<config::Config>();
  for (const auto& m : train->models()) {
    config::ModelConfig mc;
    mc.name = m;
    cfg->models.push_back(mc);
  }
  config::RouteConfig rc;
  rc.name = "r";
  rc.policy_type = "classifier";
  rc.policy = trained->spec;
  rc.where = "test";
  cfg->routes.push_back(rc);
  auto rt = pipeline::build_runtime(cfg);
  ASSERT_TRUE(rt) << rt.error().message;
  std::vector<const data::PromptRecord*> fit, held;
  for (std::size_t i = 0; i < test->records.size(); ++i)
    (i % 2 ? held : fit).push_back(&test->records[i]);
  auto err = std::make_shared<std::string>();
  auto on_fit = operating_points(**rt, "r", fit, err);
  auto on_held = operating_points(**rt, "r", held, err);
  ASSERT_TRUE(on_fit && on_held);
  struct Case {
    const char* target;
    double tolerance;
  };
  for (const Case& c : {Case{"share:gpt-4-1106-preview=0.2", 0.05}, Case{"cost-per-1k:1.0", 0.25},
                        Case{"min-score:0.8", 0.03}}) {
    auto target = parse_target(c.target);
    auto r = calibrate(*on_fit, *target);
    ASSERT_TRUE(r) << c.target << ": " << r.error().message;
    ASSERT_TRUE(err->empty()) << *err;
    const double on_other_half = (*on_held)(r->lambda).value(*target);
    EXPECT_NEAR(on_other_half, target->value, c.tolerance)
        << c.target << ": lambda " << r->lambda << " gives " << r->achieved
        << " on the calibration half";
    // Calibrated the other way round, too.
    auto back = calibrate(*on_held, *target);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_NEAR((*on_fit)(back->lambda).value(*target), target->value, c.tolerance)
        << c.target << ": lambda " << r->lambda << " gives " << r->achieved
        << " on the calibration half";
  }
}

}  // namespace
}  // namespace switchboard::eval
