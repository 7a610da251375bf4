// The agreement judge and answer extraction (src/judges/agreement/): formats seen in RouterBench's
// recorded replies, the judge built through the JudgeRegistry, and extraction measured against the
// recorded 0/1 scores of the real ARC-Challenge, Winogrande and MBPP replies.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "data/routerbench_csv.h"
#include "judges/agreement/extract.h"
#include "switchboard/judge.h"

using namespace switchboard;
using namespace switchboard::judges;

namespace {

const char* kArcPrompt =
    "What is 2+2?\nA) 3\nB) 4\nPrint only a single choice from \"A\" or \"B\".\nAnswer:\nB\n\n"
    "What is the mass of a carbon atom that has 6 protons, 7 neutrons, and 6 electrons?\n"
    "A) 19\nB) 7\nC) 13\nD) 6\n"
    "Print only a single choice  from \"A\" or \"B\" or \"C\" or \"D\" without explanation.\n"
    "Answer:";
const char* kWinoPrompt =
    "Please answer with the letter of the correct answer.\n\n"
    "Rachel asked Maria to proofread the essay because _ was a good writer.\n"
    "A) Rachel\nB) Maria\n"
    "Print only a single choice  from \"A\" or \"B\" without explanation. Answer:";

std::string choice(std::string_view prompt, std::string_view reply) {
  auto ex = AnswerExtractor::make({.kind = AnswerKind::kChoice});
  return ex->extract_one(prompt, reply);
}

TEST(JudgesExtract, PromptOptionsAreTheLastQuestions) {
  auto opts = prompt_options(kArcPrompt);
  ASSERT_EQ(opts.size(), 4u);
  EXPECT_EQ(opts[0].label, "A");
  EXPECT_EQ(opts[2].text, "13");
  EXPECT_EQ(prompt_options(kWinoPrompt).size(), 2u);
  EXPECT_TRUE(prompt_options("Write a function to add two numbers.").empty());
  auto numbered = prompt_options("Pick one:\n(1) red\n(2) green\n(3) blue\n");
  ASSERT_EQ(numbered.size(), 3u);
  EXPECT_EQ(numbered[1].label, "2");
  EXPECT_EQ(numbered[1].text, "green");
}

TEST(JudgesExtract, ChoiceFormatsOfRealReplies) {
  // Formats found in RouterBench's recorded replies (ARC-Challenge, Winogrande).
  EXPECT_EQ(choice(kArcPrompt, "B"), "B");
  EXPECT_EQ(choice(kArcPrompt, "D\n"), "D");
  EXPECT_EQ(choice(kArcPrompt, "D)"), "D");
  EXPECT_EQ(choice(kArcPrompt, "D ("), "D");
  EXPECT_EQ(choice(kArcPrompt, "A."), "A");
  EXPECT_EQ(choice(kArcPrompt, "13"), "C");  // the option's text
  EXPECT_EQ(choice(kWinoPrompt, "Maria"), "B");
  EXPECT_EQ(choice(kWinoPrompt, "Rach"), "A");  // truncated inside the option's text
  EXPECT_EQ(choice(kArcPrompt, "I do"), "");    // a truncated refusal
  EXPECT_EQ(choice(kArcPrompt, "Unfortunately I"), "");
  EXPECT_EQ(choice(kArcPrompt, "Based on"), "");
  // Other common formats.
  EXPECT_EQ(choice(kArcPrompt, "The answer is B"), "B");
  EXPECT_EQ(choice(kArcPrompt, "The correct answer is (C) because 6+7=13."), "C");
  EXPECT_EQ(choice(kArcPrompt, "Answer: (D)"), "D");
  EXPECT_EQ(choice(kArcPrompt, "**C) 13**"), "C");
  EXPECT_EQ(choice(kArcPrompt, "(2)"), "B");  // a number for the 2nd option
  EXPECT_EQ(choice(kArcPrompt, "Protons and neutrons add up.\nC"), "C");
  EXPECT_EQ(choice(kArcPrompt, "Protons plus neutrons: that is option (C) here."), "C");
  EXPECT_EQ(choice(kArcPrompt, "A questioning mind"), "A");
  EXPECT_EQ(choice(kArcPrompt, ""), "");
  EXPECT_EQ(choice("Which? Answer:", "G"), "");  // not one of the default labels A-E
}

TEST(JudgesExtract, NumbersAndText) {
  auto ex = AnswerExtractor::make({.kind = AnswerKind::kNumber});
  EXPECT_EQ(ex->extract_one("", "So she pays $1,200.50 in total."), "1200.5");
  EXPECT_EQ(ex->extract_one("", "2 + 3 = 5, then times 8.\n#### 40"), "40");
  EXPECT_EQ(ex->extract_one("", "The answer is 3/4, not 7."), "0.75");
  EXPECT_EQ(ex->extract_one("", "-0.0"), "0");
  EXPECT_EQ(ex->extract_one("", "\\boxed{12}. Check: 12 * 2 = 24"), "12");
  EXPECT_EQ(ex->extract_one("", "no digits here"), "");
  auto text = AnswerExtractor::make({.kind = AnswerKind::kText});
  EXPECT_EQ(text->extract_one("", "The answer is: Paris!"), "paris");
  EXPECT_EQ(text->extract_one("", "  PARIS.  "), "paris");
}

TEST(JudgesExtract, CodeIsNormalised) {
  const std::string a =
      "Here is a function:\n```python\ndef add(a, b):\n    # sum them\n    \"\"\"Adds.\"\"\"\n"
      "    return a + b\n\nprint(add(1, 2))\n```\nIt adds.";
  const std::string b =
      " \n[PYTHON]\ndef add(a,  b):\n  return a + b  # done\n[/PYTHON]\n[TESTS]\nassert "
      "add(1,2)==3\n";
  const std::string c = "```python\ndef add(a, b):\n    return b + a\n```";
  auto ex = AnswerExtractor::make({.kind = AnswerKind::kCode});
  EXPECT_EQ(ex->extract_one("", a), "def add(a, b):\n\treturn a + b\n");
  EXPECT_EQ(ex->extract_one("", a), ex->extract_one("", b));
  EXPECT_NE(ex->extract_one("", a), ex->extract_one("", c));
  EXPECT_EQ(ex->extract_one("", "I cannot write that."), "");
  // A truncated fence still yields its code.
  EXPECT_EQ(ex->extract_one("", "```python\nimport math\ndef f(x):\n    return x"),
            "import math\ndef f(x):\n\treturn x\n");
}

TEST(JudgesExtract, PatternsComeFirst) {
  auto ex = AnswerExtractor::make(
      {.kind = AnswerKind::kNumber, .patterns = {R"(Result:\s*(\S+))"}, .last_match = true});
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->extract_one("", "Result: 4 ... Result: 7. Also 99"), "7");
  EXPECT_EQ(ex->extract_one("", "nothing matches 99"), "99");  // the built-in follows
  auto only = AnswerExtractor::make(
      {.kind = AnswerKind::kText, .patterns = {R"(<ans>(.*?)</ans>)"}, .builtin = false});
  EXPECT_EQ(only->extract_one("", "x <ans>Yes</ans>"), "yes");
  EXPECT_EQ(only->extract_one("", "no tag"), "");
  auto bad = AnswerExtractor::make({.patterns = {"(unclosed"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("(unclosed"), std::string::npos);
}

Result<std::unique_ptr<Judge>> build(const std::string& yaml) {
  YAML::Node spec = YAML::Load(yaml);
  const std::string where = "test.yaml:3:5";
  const JudgeFactory* f = JudgeRegistry::instance().find(spec["type"].Scalar());
  if (!f) return make_error(ErrorKind::kBadRequest, "x", "no judge " + spec["type"].Scalar());
  return (*f)(JudgeContext{spec, where});
}

Verdict run(const Judge& j, std::string_view prompt, std::vector<std::string> texts) {
  std::vector<JudgeAnswer> answers;
  for (const auto& t : texts) {
    JudgeAnswer a;
    a.model = "m";
    a.text = t;
    answers.push_back(a);
  }
  return j.judge({prompt, answers});
}

TEST(JudgesAgreement, MajorityShareIsTheConfidence) {
  auto j = build("{type: agreement}");
  ASSERT_TRUE(j.ok()) << j.error().message;
  auto v = run(**j, kArcPrompt, {"C", "13", "The answer is B"});
  EXPECT_TRUE(v.available);
  EXPECT_NEAR(v.confidence, 2.0 / 3, 1e-9);
  EXPECT_EQ(v.extracted, (std::vector<std::string>{"C", "C", "B"}));
  EXPECT_NEAR(v.scores[2], 1.0 / 3, 1e-9);
  EXPECT_NE(v.note.find("2 of 3 agree on 'C'"), std::string::npos) << v.note;
  v = run(**j, kArcPrompt, {"A", "B", "D"});  // a tie: the first answer's value
  EXPECT_NEAR(v.confidence, 1.0 / 3, 1e-9);
  EXPECT_EQ(v.note.find("agree on 'A'") != std::string::npos, true) << v.note;
  v = run(**j, kArcPrompt, {"I do", "B", "B"});  // nothing extracted agrees with no one
  EXPECT_NEAR(v.confidence, 2.0 / 3, 1e-9);
  EXPECT_EQ(v.scores[0], 0);
  v = run(**j, kArcPrompt, {"I do", "Unfortunately I"});
  EXPECT_TRUE(v.available);
  EXPECT_EQ(v.confidence, 0);
  v = run(**j, kArcPrompt, {"B"});
  EXPECT_FALSE(v.available);
  EXPECT_EQ(v.extracted, std::vector<std::string>{"B"});
  // An answer the content filter cut votes for nothing (its text is partial at best).
  std::vector<JudgeAnswer> cut(3);
  cut[0].text = "C";
  cut[1].text = "C";
  cut[1].finish_reason = "content_filter";
  cut[2].text = "B";
  v = (*j)->judge({kArcPrompt, cut});
  EXPECT_EQ(v.extracted[1], "");
  EXPECT_EQ(v.scores[1], 0);
  EXPECT_NEAR(v.confidence, 1.0 / 3, 1e-9);
}

TEST(JudgesAgreement, ReferenceFirstMeasuresAgreementWithTheFirstAnswer) {
  auto j = build("{type: agreement, reference: first}");
  ASSERT_TRUE(j.ok()) << j.error().message;
  // The probes agree with each other, not with the first: they do not outvote it.
  auto v = run(**j, kArcPrompt, {"A", "B", "B"});
  EXPECT_NEAR(v.confidence, 1.0 / 3, 1e-9);
  EXPECT_NE(v.note.find("1 of 3 agree with the first, 'A'"), std::string::npos) << v.note;
  v = run(**j, kArcPrompt, {"B", "C", "B"});
  EXPECT_NEAR(v.confidence, 2.0 / 3, 1e-9);
  v = run(**j, kArcPrompt, {"I do", "B", "B"});  // nothing extracted from the first: 0
  EXPECT_EQ(v.confidence, 0);
  EXPECT_NE(v.note.find("nothing extracted from the first answer"), std::string::npos) << v.note;
  // The default (majority) on the same answers.
  auto m = build("{type: agreement}");
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(run(**m, kArcPrompt, {"A", "B", "B"}).confidence, 2.0 / 3, 1e-9);
  EXPECT_FALSE(build("{type: agreement, reference: last}").ok());
}

TEST(JudgesAgreement, ConfigErrorsNameTheKey) {
  auto j = build("{type: agreement, kind: letters}");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("`kind` must be one of"), std::string::npos)
      << j.error().message;
  j = build("{type: agreement, pattern: x}");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("unknown key 'pattern'"), std::string::npos);
  j = build("{type: agreement, patterns: ['(']}");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("not a valid RE2"), std::string::npos);
  j = build("{type: agreement, builtin: false}");
  ASSERT_FALSE(j.ok());
}

// --- Extraction against the recorded scores of real RouterBench replies ------------------------

const data::Outcomes& routerbench_all() {
  static const data::Outcomes all = [] {
    auto out = data::load_routerbench_dir(std::string(SB_SHARED_DATA) + "/routerbench_zs",
                                          data::Split::kAll);
    return out.ok() ? std::move(*out) : data::Outcomes{};
  }();
  return all;
}

// For each prompt of `task`, the gold label is the one extracted from most of its replies scored 1;
// a reply is then predicted right iff its extraction equals the gold label. Returns the share of
// replies where that prediction equals the recorded score (over prompts with a reply scored 1),
// and counts replies with nothing extracted.
struct ChoiceAgreement {
  std::size_t replies = 0, matches = 0, empty = 0, empty_but_right = 0, shown = 0;
  double accuracy() const { return replies ? double(matches) / double(replies) : 0; }
};

ChoiceAgreement measure_choice(const std::string& task) {
  auto ex = AnswerExtractor::make({.kind = AnswerKind::kChoice});
  ChoiceAgreement out;
  for (const auto& r : routerbench_all().records) {
    if (r.task != task) continue;
    const std::string prompt = r.user_text();
    std::vector<std::string_view> replies;
    std::vector<double> scores;
    for (const auto& [model, o] : r.outcomes) {
      replies.push_back(o.response ? std::string_view(*o.response) : std::string_view());
      scores.push_back(o.score);
    }
    const auto extracted = ex->extract(prompt, replies);
    std::map<std::string, int> right;
    for (std::size_t i = 0; i < replies.size(); ++i)
      if (scores[i] >= 0.5 && !extracted[i].empty()) ++right[extracted[i]];
    if (right.empty()) continue;
    std::string gold;
    int best = 0;
    for (const auto& [label, n] : right)
      if (n > best) gold = label, best = n;
    for (std::size_t i = 0; i < replies.size(); ++i) {
      ++out.replies;
      const bool predicted = extracted[i] == gold;
      const bool match = predicted == (scores[i] >= 0.5);
      out.matches += match;
      if (!match && out.shown < 8) {
        ++out.shown;
        std::string shown(replies[i].substr(0, 40));
        for (char& c : shown)
          if (c == '\n') c = ' ';
        std::printf("[extraction]   mismatch %s: reply '%s' -> '%s', gold '%s', score %.0f\n",
                    r.id.c_str(), shown.c_str(), extracted[i].c_str(), gold.c_str(), scores[i]);
      }
      if (extracted[i].empty()) {
        ++out.empty;
        out.empty_but_right += scores[i] >= 0.5;
      }
    }
  }
  return out;
}

TEST(JudgesExtractRouterBench, ChoiceExtractionMatchesRecordedScores) {
  if (routerbench_all().records.empty()) GTEST_SKIP() << "routerbench_zs not present";
  for (const std::string task : {"arc-challenge", "winogrande"}) {
    const auto m = measure_choice(task);
    std::printf(
        "[extraction] %s: %zu replies, extraction agrees with the recorded score on %.4f; "
        "%zu with no answer extracted (%zu of them scored 1)\n",
        task.c_str(), m.replies, m.accuracy(), m.empty, m.empty_but_right);
    EXPECT_GT(m.replies, 5000u);
    EXPECT_GE(m.accuracy(), 0.99) << task;
    EXPECT_LE(m.empty_but_right, m.replies / 1000) << task;
  }
}

TEST(JudgesExtractRouterBench, CodeFoundInMbppReplies) {
  if (routerbench_all().records.empty()) GTEST_SKIP() << "routerbench_zs not present";
  auto ex = AnswerExtractor::make({.kind = AnswerKind::kAuto});
  std::size_t right = 0, right_with_code = 0, wrong = 0, wrong_with_code = 0;
  for (const auto& r : routerbench_all().records) {
    if (r.task != "mbpp") continue;
    const std::string prompt = r.user_text();
    for (const auto& [model, o] : r.outcomes) {
      const std::string_view reply = o.response ? std::string_view(*o.response) : "";
      AnswerKind kind = AnswerKind::kAuto;
      const bool has_code = !ex->extract(prompt, {reply}, &kind).front().empty();
      ASSERT_EQ(kind, AnswerKind::kCode) << r.id;
      if (o.score >= 0.5) {
        ++right;
        right_with_code += has_code;
      } else {
        ++wrong;
        wrong_with_code += has_code;
      }
    }
  }
  const double right_share = double(right_with_code) / double(right);
  const double wrong_share = double(wrong_with_code) / double(wrong);
  std::printf(
      "[extraction] mbpp: code found in %.4f of %zu replies scored 1, %.4f of %zu scored 0\n",
      right_share, right, wrong_share, wrong);
  EXPECT_GE(right_share, 0.98);
  EXPECT_GE(right_share, wrong_share);
}

}  // namespace
