// Out-of-domain detection: calibration on the domain's own examples, and the RouterBench
// measurement docs/guard.md reports — domain = TRAIN prompts of two of the three tasks; refusal
// rate on the third task's TEST prompts and false-refusal rate on the two tasks' TEST prompts, for
// each choice of held-out task. Skipped when ../shared/data is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/routerbench_csv.h"
#include "guard/domain.h"

namespace switchboard::guard {
namespace {

std::shared_ptr<const signals::GloveTable> glove() {
  static auto g = shared_glove("");
  if (!g) return nullptr;
  return *g;
}

TEST(GuardDomain, CalibratedThresholdSeparatesTopics) {
  auto g = glove();
  if (!g) GTEST_SKIP() << "no GloVe weights (make weights)";
  std::vector<std::string> cooking = {"How long should I boil an egg for a runny yolk?",
                                      "What is the best way to roast a chicken with vegetables?",
                                      "Can I substitute butter with olive oil when baking bread?",
                                      "How do I make a simple tomato sauce for pasta?",
                                      "What spices go well in a lentil curry?",
                                      "How do I keep rice from sticking to the pot?",
                                      "What temperature should I bake chocolate chip cookies at?",
                                      "How do I make a vinaigrette salad dressing?",
                                      "How long does it take to slow cook beef stew?",
                                      "What can I cook with leftover potatoes and onions?",
                                      "How do I caramelise onions properly in a pan?",
                                      "Which flour is best for making pizza dough at home?"};
  DomainOptions o;
  o.k = 3;
  o.quantile = 1.0;
  // One topic, a dozen examples: its first principal component is the topic itself, keep it.
  o.remove_components = 0;
  auto m = DomainModel::build(g, cooking, o);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ((*m)->size(), cooking.size());
  EXPECT_DOUBLE_EQ((*m)->threshold(), (*m)->calibration().back());
  EXPECT_LE((*m)->distance("How do I bake a loaf of banana bread with butter and flour?"),
            (*m)->threshold());
  EXPECT_GT((*m)->distance("Explain the proof of Fermat's last theorem in number theory."),
            (*m)->threshold());
  EXPECT_GT((*m)->distance("zzqx vvbn"), (*m)->threshold());  // no known word: distance 1
  // Too few examples for k.
  auto tiny = DomainModel::build(g, {"one", "two"}, o);
  ASSERT_FALSE(tiny);
  EXPECT_EQ(tiny.error().code, "bad_domain");
}

TEST(GuardDomain, ExamplesFileFormats) {
  const auto path = (std::filesystem::temp_directory_path() / "sb_guard_domain.jsonl").string();
  std::ofstream(path)
      << R"({"text":"a"})"
      << "\n"
      << R"({"prompt":"b"})"
      << "\n"
      << R"({"id":"1","messages":[{"role":"system","content":"s"},{"role":"user","content":"c"},{"role":"user","content":"d"}]})"
      << "\n\n"
      << R"({"other":1})"
      << "\n";
  auto r = read_domain_examples(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(path + ":5:"), std::string::npos) << r.error().message;
  std::ofstream(path)
      << R"({"text":"a"})"
      << "\n"
      << R"({"prompt":"b"})"
      << "\n"
      << R"({"messages":[{"role":"user","content":"c"},{"role":"user","content":"d"}]})"
      << "\n";
  r = read_domain_examples(path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"a", "b", "c\nd"}));
  std::filesystem::remove(path);
}

TEST(GuardDomain, RouterBenchHeldOutTask) {
  const std::string dir = std::string(SB_SHARED_DATA) + "/routerbench_zs";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " not present";
  auto g = glove();
  if (!g) GTEST_SKIP() << "no GloVe weights (make weights)";
  auto train = data::load_routerbench_dir(dir, data::Split::kTrain);
  auto test = data::load_routerbench_dir(dir, data::Split::kTest);
  ASSERT_TRUE(train && test);
  std::map<std::string, std::vector<std::string>> train_by_task, test_by_task;
  for (const auto& r : train->records) train_by_task[r.task].push_back(r.user_text());
  for (const auto& r : test->records) test_by_task[r.task].push_back(r.user_text());
  ASSERT_EQ(train_by_task.size(), 3u);
  // k = 5, quantile 0.95, one component removed: chosen on the TRAIN split (SB_GUARD_ON_TRAIN=1
  // measures on train prompts; 0, 2 or 3 components refuse almost none of the third task there).
  DomainOptions o;
  if (const char* r = std::getenv("SB_GUARD_REMOVE")) o.remove_components = std::atoi(r);
  if (const char* k = std::getenv("SB_GUARD_K")) o.k = std::atoi(k);
  if (std::getenv("SB_GUARD_ON_TRAIN")) test_by_task = train_by_task;  // selection on train only
  for (const auto& [held_out, _] : train_by_task) {
    std::vector<std::string> domain;
    for (const auto& [task, prompts] : train_by_task)
      if (task != held_out) domain.insert(domain.end(), prompts.begin(), prompts.end());
    auto m = DomainModel::build(g, domain, o);
    ASSERT_TRUE(m) << m.error().message;
    std::size_t refused_out = 0, n_out = 0, refused_in = 0, n_in = 0;
    for (const auto& [task, prompts] : test_by_task) {
      for (const auto& p : prompts) {
        const bool refused = (*m)->distance(p) > (*m)->threshold();
        if (task == held_out) {
          ++n_out;
          refused_out += refused;
        } else {
          ++n_in;
          refused_in += refused;
        }
      }
    }
    const double refusal = double(refused_out) / double(n_out);
    const double false_refusal = double(refused_in) / double(n_in);
    std::printf(
        "domain = train of the other two tasks (%zu prompts), held out %s: refusal %.1f%% "
        "(%zu/%zu), false refusal %.1f%% (%zu/%zu), threshold %.4f\n",
        domain.size(), held_out.c_str(), 100 * refusal, refused_out, n_out, 100 * false_refusal,
        refused_in, n_in, (*m)->threshold());
    EXPECT_GE(refusal, 0.90) << held_out;
    EXPECT_LE(false_refusal, 0.06) << held_out;
  }
}

}  // namespace
}  // namespace switchboard::guard
