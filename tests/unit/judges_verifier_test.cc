// The `verifier` judge (src/judges/verifier/): training through the TrainerRegistry into a model
// directory and loading it through the JudgeRegistry; then, on RouterBench (train → test), its
// calibration (reliability on TEST) and the APGR of a weak → strong cascade that escalates when the
// verifier's score of the weak model's answer is below a threshold (docs/evaluation.md, "Judges").
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/routerbench_csv.h"
#include "eval/metrics.h"
#include "judges/answer_signs.h"
#include "judges/verifier/train.h"
#include "judges_test_util.h"
#include "policies/route_input.h"
#include "policies/trainer.h"

using namespace switchboard;
using namespace switchboard::judges;
using namespace switchboard::judges::verifier;
using namespace switchboard::judges_test;

namespace {

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("sb_verifier_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Synthetic outcomes: "good" answers hold a worked function, "bad" ones refuse or hedge.
data::Outcomes synthetic(int n) {
  data::Outcomes o;
  for (int i = 0; i < n; ++i) {
    data::PromptRecord r;
    r.id = "q" + std::to_string(i);
    r.messages = {{"user", "Write a function to compute thing number " + std::to_string(i)}};
    r.outcomes["good"] = {1.0, 0.01, std::nullopt,
                          "Here is the function:\n```python\ndef thing_" + std::to_string(i) +
                              "(x):\n    return x * " + std::to_string(i) + "\n```"};
    r.outcomes["bad"] = {0.0, 0.001, std::nullopt,
                         i % 2 ? "I cannot help with that, sorry."
                               : "I think maybe it is probably something, not sure."};
    o.records.push_back(std::move(r));
  }
  return o;
}

TEST(JudgesVerifier, TrainsThroughTheRegistryAndLoads) {
  const auto* trainer = policies::TrainerRegistry::instance().find("verifier");
  ASSERT_NE(trainer, nullptr);
  const auto train = synthetic(60);
  const std::string dir = temp_dir("registry");
  YAML::Node spec;
  spec["type"] = "verifier";
  spec["bits"] = 14;
  policies::TrainContext ctx{train, {"bad", "good"}, spec, dir, 7, {}, "synthetic.jsonl", {}};
  auto trained = (*trainer)(ctx);
  ASSERT_TRUE(trained.ok()) << trained.error().message;
  EXPECT_EQ(trained->spec["type"].Scalar(), "verifier");
  EXPECT_TRUE(std::filesystem::exists(dir + "/weights.bin"));
  auto manifest = policies::load_manifest(dir, "verifier");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(manifest->hyperparameters["bits"], 14);
  EXPECT_TRUE(manifest->hyperparameters.contains("cv_auc"));

  auto judge = build_judge("{type: verifier, model_dir: '" + dir + "'}");
  ASSERT_TRUE(judge.ok()) << judge.error().message;
  const std::string good =
      "Here is the function:\n```python\ndef thing_999(x):\n    return x * 999\n```";
  const std::string bad = "I cannot help with that, sorry.";
  std::vector<JudgeAnswer> answers{answer("good", good), answer("bad", bad)};
  auto v = (*judge)->judge({"Write a function to compute thing number 999", answers});
  ASSERT_EQ(v.scores.size(), 2u);
  EXPECT_TRUE(v.available);
  EXPECT_GT(v.scores[0], 0.8);
  EXPECT_LT(v.scores[1], 0.2);
  EXPECT_EQ(v.confidence, v.scores[0]);
  EXPECT_NE(v.note.find("P(correct)"), std::string::npos);
  // A tool call is no text answer: the verifier says it cannot score (the tier's on_unavailable
  // decides), instead of scoring an empty text as a bad answer.
  JudgeAnswer calling = answer("good", "");
  calling.tool_calls = "get_weather({\"city\":\"Paris\"})";
  std::vector<JudgeAnswer> with_tools{calling, answer("bad", bad)};
  v = (*judge)->judge({"What is the weather in Paris?", with_tools});
  EXPECT_FALSE(v.available);
  EXPECT_NE(v.note.find("tool calls"), std::string::npos) << v.note;

  // A damaged directory is refused with its name.
  { std::ofstream(dir + "/weights.bin") << "junk"; }
  auto broken = build_judge("{type: verifier, model_dir: '" + dir + "'}");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find(dir), std::string::npos) << broken.error().message;
  EXPECT_FALSE(build_judge("{type: verifier}").ok());
  EXPECT_FALSE(build_judge("{type: verifier, model_dir: /nonexistent/dir}").ok());
  spec["folds"] = 1;
  EXPECT_FALSE((*trainer)(ctx).ok());
  std::filesystem::remove_all(dir);
}

// --- RouterBench: train on TRAIN, measure on TEST ----------------------------------------------

struct RouterBench {
  data::Outcomes train, test;
  std::optional<TrainedVerifier> verifier;
  VerifierTrainReport report;
};

const RouterBench& routerbench() {
  static const RouterBench rb = [] {
    RouterBench out;
    const std::string dir = std::string(SB_SHARED_DATA) + "/routerbench_zs";
    auto train = data::load_routerbench_dir(dir, data::Split::kTrain);
    auto test = data::load_routerbench_dir(dir, data::Split::kTest);
    if (!train.ok() || !test.ok()) return out;
    out.train = std::move(*train);
    out.test = std::move(*test);
    VerifierTrainOptions options;  // the defaults: bits 18, 5 folds, the CV grid
    auto trained = train_verifier(out.train, {}, options);
    if (trained.ok()) out.verifier.emplace(std::move(*trained));
    return out;
  }();
  return rb;
}

// One test answer scored by the verifier.
struct Scored {
  std::string task, model;
  double p = 0, score = 0, cost = 0;
};

std::vector<Scored> score_test(const std::vector<std::string>& models) {
  const auto& rb = routerbench();
  std::vector<Scored> out;
  for (const auto& r : rb.test.records) {
    auto chat = policies::chat_request_for(r, "test");
    if (!chat.ok()) continue;
    for (const auto& m : models) {
      const auto& o = r.outcomes.at(m);
      const std::string text = o.response.value_or("");
      out.push_back({r.task, m, rb.verifier->model.probability({chat->prompt_text, text, m, ""}),
                     o.score, o.cost});
    }
  }
  return out;
}

TEST(JudgesVerifierRouterBench, CalibratedOnTest) {
  const auto& rb = routerbench();
  if (!rb.verifier) GTEST_SKIP() << "routerbench_zs not present";
  const auto& rep = rb.verifier->report;
  std::printf(
      "[verifier] trained on %zu answers of %zu prompts: l2 %g, %d epochs (CV log loss "
      "%.4f, AUC %.4f, calibrated Brier %.4f)\n",
      rep.examples, rep.prompts, rep.l2, rep.epochs, rep.cv_log_loss, rep.cv_auc,
      rep.cv_brier_calibrated);
  const auto scored = score_test(rb.test.models());
  constexpr int kBins = 10;
  std::vector<double> n(kBins), sum_p(kBins), sum_y(kBins);
  std::vector<double> p, brier_terms;
  std::vector<float> y;
  for (const auto& s : scored) {
    const int b = std::min(kBins - 1, static_cast<int>(s.p * kBins));
    n[b] += 1, sum_p[b] += s.p, sum_y[b] += s.score;
    p.push_back(s.p);
    y.push_back(static_cast<float>(s.score));
    brier_terms.push_back((s.p - s.score) * (s.p - s.score));
  }
  double ece = 0, brier = 0, base = 0;
  for (double t : brier_terms) brier += t;
  brier /= static_cast<double>(scored.size());
  for (float v : y) base += v;
  base /= static_cast<double>(y.size());
  std::printf(
      "[verifier] reliability on TEST (%zu answers, 11 models): bin, answers, mean "
      "P(correct), observed\n",
      scored.size());
  for (int b = 0; b < kBins; ++b) {
    if (n[b] == 0) continue;
    ece += n[b] / static_cast<double>(scored.size()) * std::abs(sum_p[b] / n[b] - sum_y[b] / n[b]);
    std::printf("[verifier]   [%.1f, %.1f)  %5.0f  %.3f  %.3f\n", b / 10.0, (b + 1) / 10.0, n[b],
                sum_p[b] / n[b], sum_y[b] / n[b]);
  }
  const double auc = roc_auc(p, y);
  std::printf("[verifier] TEST: AUC %.4f, ECE %.4f, Brier %.4f (a constant %.3f: %.4f)\n", auc, ece,
              brier, base, base * (1 - base));
  // The figures of docs/evaluation.md ("Judges"), reproduced (training is seeded): AUC 0.749,
  // ECE 0.015.
  EXPECT_GE(auc, 0.74);
  EXPECT_LE(ece, 0.03);
  EXPECT_LT(brier, base * (1 - base) * 0.85);
}

struct CascadeFigures {
  double q_weak = 0, q_strong = 0, apgr = 0, auc = 0;
  double aiq = 0;  // costs normalised by the strong model's total, as switchboard eval does
  std::size_t prompts = 0;
  // Points (strong share, quality) at a few thresholds, for the report.
  std::vector<std::tuple<double, double, double, double>> at;  // threshold, share, quality, cost
  double rules_share = 0, rules_quality = 0;
};

CascadeFigures cascade(const std::string& weak, const std::string& strong,
                       const std::vector<std::string>& tasks) {
  const auto& rb = routerbench();
  CascadeFigures f;
  struct Row {
    double p, weak_score, strong_score, weak_cost, strong_cost;
    bool refusal;
  };
  std::vector<Row> rows;
  for (const auto& r : rb.test.records) {
    if (std::find(tasks.begin(), tasks.end(), r.task) == tasks.end()) continue;
    auto chat = policies::chat_request_for(r, "test");
    if (!chat.ok()) continue;
    const auto& w = r.outcomes.at(weak);
    const auto& s = r.outcomes.at(strong);
    const std::string text = w.response.value_or("");
    rows.push_back({rb.verifier->model.probability({chat->prompt_text, text, weak, ""}), w.score,
                    s.score, w.cost, s.cost, !refusal_phrase(text).empty()});
  }
  f.prompts = rows.size();
  const double n = static_cast<double>(rows.size());
  std::vector<double> thresholds{0.0};
  std::vector<double> ps;
  std::vector<float> ys;
  double rules_q = 0, rules_esc = 0;
  for (const auto& r : rows) {
    f.q_weak += r.weak_score / n;
    f.q_strong += r.strong_score / n;
    thresholds.push_back(r.p);
    thresholds.push_back(std::nextafter(r.p, 2.0));
    ps.push_back(r.p);
    ys.push_back(static_cast<float>(r.weak_score));
    rules_q += (r.refusal ? r.strong_score : r.weak_score) / n;
    rules_esc += r.refusal / n;
  }
  f.rules_share = rules_esc;
  f.rules_quality = rules_q;
  f.auc = roc_auc(ps, ys);
  std::sort(thresholds.begin(), thresholds.end());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
  std::vector<eval::CurvePoint> points;
  for (double t : thresholds) {
    eval::CurvePoint pt;
    for (const auto& r : rows) {
      const bool escalate = r.p < t;
      pt.quality += (escalate ? r.strong_score : r.weak_score) / n;
      pt.cost += r.weak_cost + (escalate ? r.strong_cost : 0);
      pt.strong_share += escalate / n;
    }
    points.push_back(pt);
  }
  for (double t : {0.3, 0.5, 0.7, 0.9}) {
    eval::CurvePoint pt;
    for (const auto& r : rows) {
      const bool escalate = r.p < t;
      pt.quality += (escalate ? r.strong_score : r.weak_score) / n;
      pt.cost += r.weak_cost + (escalate ? r.strong_cost : 0);
      pt.strong_share += escalate / n;
    }
    f.at.emplace_back(t, pt.strong_share, pt.quality, pt.cost);
  }
  f.apgr = eval::apgr(points, f.q_weak, f.q_strong).value_or(-1);
  double strong_total = 0;
  for (const auto& r : rows) strong_total += r.strong_cost;
  f.aiq = eval::aiq(points, strong_total).value_or(-1);
  return f;
}

void print(const std::string& name, const std::string& weak, const std::string& strong,
           const CascadeFigures& f) {
  std::printf(
      "[cascade] %s: %s -> %s on %zu TEST prompts: weak %.3f, strong %.3f; verifier AUC "
      "on the weak answers %.3f; cascade APGR %.3f (-1: no gap)\n",
      name.c_str(), weak.c_str(), strong.c_str(), f.prompts, f.q_weak, f.q_strong, f.auc, f.apgr);
  std::printf("[cascade]   AIQ %.3f (the weak call is paid on every prompt)\n", f.aiq);
  for (const auto& [t, share, q, cost] : f.at)
    std::printf("[cascade]   threshold %.1f: %.3f escalated, mean score %.3f, cost $%.3f\n", t,
                share, q, cost);
  std::printf("[cascade]   rules judge (refusal escalates): %.3f escalated, mean score %.3f\n",
              f.rules_share, f.rules_quality);
}

TEST(JudgesVerifierRouterBench, CascadeApgrOnMbppAndMultipleChoice) {
  const auto& rb = routerbench();
  if (!rb.verifier) GTEST_SKIP() << "routerbench_zs not present";
  const std::string strong = "gpt-4-1106-preview";
  for (const std::string weak : {"mistralai/mixtral-8x7b-chat", "gpt-3.5-turbo-1106"}) {
    const auto mbpp = cascade(weak, strong, {"mbpp"});
    print("mbpp", weak, strong, mbpp);
    const auto mc = cascade(weak, strong, {"arc-challenge", "winogrande"});
    print("arc+winogrande", weak, strong, mc);
    // The verifier must rank the weak model's answers better than chance on both groups; the
    // figures reported in docs/evaluation.md must be reproduced (training is seeded).
    EXPECT_GT(mc.auc, 0.5) << weak;
    if (weak == "mistralai/mixtral-8x7b-chat") {
      // Reported: APGR 0.684 on MBPP, 0.593 on ARC-Challenge + Winogrande.
      EXPECT_GT(mbpp.auc, 0.6);
      EXPECT_GE(mbpp.apgr, 0.68);
      EXPECT_GE(mc.apgr, 0.58);
    } else {
      EXPECT_LT(mbpp.apgr, 0);   // gpt-3.5 scores as gpt-4 on MBPP's test: no gap, no APGR
      EXPECT_GE(mc.apgr, 0.55);  // reported: 0.564
    }
  }
}

}  // namespace
