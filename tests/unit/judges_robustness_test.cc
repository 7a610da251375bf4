// Every judge on untrusted answer text: random bytes, invalid UTF-8, NULs, unbalanced fences and
// brackets, very long lines, empty answers. None may throw or return a confidence outside [0, 1];
// extraction stays bounded by the answer's length.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "judges_test_util.h"
#include "policies/trainer.h"

using namespace switchboard;
using namespace switchboard::judges_test;

namespace {

std::vector<std::string> nasty_texts() {
  std::vector<std::string> out = {"",
                                  std::string(1, '\0'),
                                  "```",
                                  "```python\n",
                                  "[PYTHON]",
                                  "(((((((((",
                                  "\xff\xfe\xfd",
                                  "\xe2\x80",
                                  "Answer: (",
                                  "answer is 9999999999999999999999999999999999999999",
                                  "1/0",
                                  "-",
                                  "A) B) C) D) E)",
                                  std::string(100000, 'A'),
                                  std::string(50000, '\n'),
                                  "def " + std::string(20000, '(')};
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 3000);
  for (int i = 0; i < 200; ++i) {
    std::string t(static_cast<std::size_t>(len(rng)), ' ');
    for (char& c : t) c = static_cast<char>(byte(rng));
    out.push_back(std::move(t));
  }
  return out;
}

TEST(JudgesRobustness, NoJudgeThrowsOrLeavesTheRange) {
  // A small verifier, trained here on synthetic outcomes.
  data::Outcomes train;
  for (int i = 0; i < 20; ++i) {
    data::PromptRecord r;
    r.id = "q" + std::to_string(i);
    r.messages = {{"user", "Question " + std::to_string(i) + "\nA) x\nB) y"}};
    r.outcomes["m"] = {double(i % 2), 0.0, std::nullopt, i % 2 ? "A" : "I cannot"};
    train.records.push_back(std::move(r));
  }
  const auto dir =
      (std::filesystem::temp_directory_path() / ("sb_judges_robust_" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  YAML::Node spec;
  spec["type"] = "verifier";
  spec["bits"] = 12;
  policies::TrainContext ctx{train, {"m"}, spec, dir, 1, {}, "", {}};
  ASSERT_TRUE((*policies::TrainerRegistry::instance().find("verifier"))(ctx).ok());

  std::vector<std::unique_ptr<Judge>> judges;
  const std::vector<std::string> specs = {"{type: agreement}",
                                          "{type: agreement, kind: choice}",
                                          "{type: agreement, kind: number}",
                                          "{type: agreement, kind: code}",
                                          "{type: agreement, kind: text, patterns: ['(a+)+b']}",
                                          "{type: rules, require: ['x'], reject: ['y']}",
                                          "{type: logprobs, measure: both}",
                                          "{type: verifier, model_dir: '" + dir + "'}"};
  for (const auto& yaml : specs) {
    auto j = build_judge(yaml);
    ASSERT_TRUE(j.ok()) << yaml << ": " << j.error().message;
    judges.push_back(std::move(*j));
  }
  const auto texts = nasty_texts();
  for (const auto& prompt : {std::string(), std::string("Pick:\nA) 1\nB) 2"), texts[13]}) {
    for (std::size_t i = 0; i + 2 < texts.size(); i += 3) {
      std::vector<JudgeAnswer> answers{
          answer("m", texts[i], AnswerLogprobs{{-0.5f, NAN}, {NAN, 0.f}}),
          answer("m", texts[i + 1], AnswerLogprobs{{}, {}}), answer("m", texts[i + 2])};
      for (const auto& j : judges) {
        Verdict v;
        ASSERT_NO_THROW(v = j->judge({prompt, answers}));
        EXPECT_GE(v.confidence, 0.0);
        EXPECT_LE(v.confidence, 1.0);
        for (double s : v.scores) EXPECT_TRUE(s >= 0 && s <= 1) << s;
        for (std::size_t k = 0; k < v.extracted.size(); ++k)
          EXPECT_LE(v.extracted[k].size(), answers[k].text.size() + 64);
      }
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
