// The `logprobs` judge (src/judges/logprobs/): mean token log-probability and first-token entropy,
// the default and configured maps, and answers without logprobs.
#include <gtest/gtest.h>

#include <cmath>

#include "judges_test_util.h"

using namespace switchboard;
using namespace switchboard::judges_test;

namespace {

Verdict judge_one(const Judge& j, std::optional<AnswerLogprobs> lp) {
  std::vector<JudgeAnswer> answers{answer("m", "B", std::move(lp))};
  return j.judge({"p", answers});
}

TEST(JudgesLogprobs, MeanLogprobDefaultMap) {
  auto j = build_judge("{type: logprobs}");
  ASSERT_TRUE(j.ok()) << j.error().message;
  auto v = judge_one(**j, AnswerLogprobs{{-0.1f, -0.3f}, {}});
  EXPECT_TRUE(v.available);
  EXPECT_NEAR(v.confidence, std::exp(-0.2), 1e-6);
  EXPECT_NE(v.note.find("mean logprob -0.200 over 2 tokens"), std::string::npos) << v.note;
  v = judge_one(**j, std::nullopt);
  EXPECT_FALSE(v.available);
  EXPECT_NE(v.note.find("no logprobs"), std::string::npos);
  v = judge_one(**j, AnswerLogprobs{{-INFINITY, 0.f}, {}});  // never NaN
  EXPECT_GE(v.confidence, 0.0);
  EXPECT_LE(v.confidence, 1.0);
}

TEST(JudgesLogprobs, FirstTokenEntropy) {
  auto j = build_judge("{type: logprobs, measure: first_entropy}");
  ASSERT_TRUE(j.ok());
  // Certain: one top token with p = 1 → entropy 0 → confidence 1.
  auto v = judge_one(**j, AnswerLogprobs{{0.f}, {0.f, -30.f}});
  EXPECT_NEAR(v.confidence, 1.0, 1e-6);
  // Two equally likely tokens of 4 alternatives (ln 2 over ln 5).
  v = judge_one(**j, AnswerLogprobs{{-0.69f}, {std::log(0.5f), std::log(0.5f), -40.f, -40.f}});
  EXPECT_NEAR(v.confidence, 1 - std::log(2.0) / std::log(5.0), 1e-3);
  v = judge_one(**j, AnswerLogprobs{{-0.69f}, {}});
  EXPECT_FALSE(v.available);
  EXPECT_NE(v.note.find("top_logprobs"), std::string::npos);
}

TEST(JudgesLogprobs, ConfiguredMapAndBoth) {
  auto j = build_judge(
      "{type: logprobs, measure: both, map: {mean_logprob: [[-1, 0], [0, 1]],"
      " first_entropy: [[0, 1], [2, 0]]}}");
  ASSERT_TRUE(j.ok()) << j.error().message;
  // mean -0.25 → 0.75; entropy of (0.5, 0.5) = ln 2 → 1 - 0.3466 = 0.6534; the lower wins.
  auto v = judge_one(**j, AnswerLogprobs{{-0.25f}, {std::log(0.5f), std::log(0.5f)}});
  EXPECT_NEAR(v.confidence, 1 - std::log(2.0) / 2, 1e-3);
  v = judge_one(**j, AnswerLogprobs{{-5.f}, {0.f}});
  EXPECT_NEAR(v.confidence, 0.0, 1e-9);  // clamped at the map's ends
}

TEST(JudgesLogprobs, ConfigErrors) {
  EXPECT_FALSE(build_judge("{type: logprobs, measure: median}").ok());
  EXPECT_FALSE(build_judge("{type: logprobs, map: {mean_logprob: [[0, 1]]}}").ok());
  EXPECT_FALSE(build_judge("{type: logprobs, map: {mean_logprob: [[0, 1], [-1, 0]]}}").ok());
  EXPECT_FALSE(build_judge("{type: logprobs, map: {mean_logprob: [[-1, 2], [0, 1]]}}").ok());
  EXPECT_FALSE(build_judge("{type: logprobs, map: {entropy: [[0, 1], [1, 0]]}}").ok());
}

}  // namespace
