// The `rules` judge and the refusal / hedging signs (src/judges/rules/, src/judges/answer_signs.*),
// on refusals as RouterBench's recorded replies show them (claude-v2's cut-off "I do",
// "Unfortunately I") and on made-up answers.
#include <gtest/gtest.h>

#include "judges/answer_signs.h"
#include "judges_test_util.h"

using namespace switchboard;
using namespace switchboard::judges;
using namespace switchboard::judges_test;

namespace {

TEST(JudgesAnswerSigns, Refusals) {
  EXPECT_EQ(refusal_phrase("I cannot help with that request."), "i cannot");
  EXPECT_EQ(refusal_phrase("  As an AI language model, I don't have opinions."), "as an ai");
  EXPECT_EQ(refusal_phrase("I'm sorry, but I can't do that."), "i'm sorry");
  EXPECT_EQ(refusal_phrase("Unfortunately, I do not have enough context to answer."),
            "i do not have enough");
  EXPECT_EQ(refusal_phrase("I apologize, but"), "i apologize");
  EXPECT_EQ(refusal_phrase("I\u2019m unable to browse."), "i'm unable");
  // Cut off by the token limit (RouterBench's claude-v2 multiple-choice replies).
  EXPECT_FALSE(refusal_phrase("I do").empty());
  EXPECT_FALSE(refusal_phrase("Unfortunately I").empty());
  EXPECT_TRUE(refusal_phrase("I do", false).empty());
  // Not refusals.
  EXPECT_TRUE(refusal_phrase("B").empty());
  EXPECT_TRUE(refusal_phrase("I think the answer is B.").empty());
  EXPECT_TRUE(refusal_phrase("Here is a function:\n```python\ndef f(): pass\n```").empty());
  EXPECT_TRUE(refusal_phrase("The function cannot fail: I cannot see why it would.").empty());
  EXPECT_TRUE(refusal_phrase("").empty());
}

TEST(JudgesAnswerSigns, Hedges) {
  EXPECT_EQ(hedge_count("B"), 0u);
  EXPECT_EQ(hedge_count("I think it is probably B, but I'm not sure."), 3u);
  EXPECT_EQ(hedge_count("Probably. PERHAPS. unlikely"), 2u);  // "unlikely" is not "likely"
}

TEST(JudgesRules, PassFailAndNotes) {
  auto j = build_judge(
      "{type: rules, min_chars: 2, max_chars: 50, require: ['def '], reject: ['(?i)todo'],"
      " truncated: fail, pass: 0.9, fail: 0.1}");
  ASSERT_TRUE(j.ok()) << j.error().message;
  auto v = run_judge(**j, "p", {"def f(): return 1", "I cannot do that", "x"});
  EXPECT_TRUE(v.available);
  EXPECT_DOUBLE_EQ(v.confidence, 0.9);
  EXPECT_EQ(v.scores, (std::vector<double>{0.9, 0.1, 0.1}));
  EXPECT_EQ(v.note, "all checks passed");
  v = run_judge(**j, "p", {"I cannot write def f() TODO"});
  EXPECT_DOUBLE_EQ(v.confidence, 0.1);
  EXPECT_NE(v.note.find("refusal ('i cannot')"), std::string::npos) << v.note;
  EXPECT_NE(v.note.find("matches '(?i)todo'"), std::string::npos) << v.note;
  v = run_judge(**j, "p", {std::string(60, 'a') + " def "});
  EXPECT_NE(v.note.find("too long (64 > 50 chars)"), std::string::npos) << v.note;
  std::vector<JudgeAnswer> cut{answer("m", "def f(", std::nullopt, "length")};
  v = (*j)->judge({"p", cut});
  EXPECT_NE(v.note.find("cut off"), std::string::npos) << v.note;
  v = run_judge(**j, "p", {});
  EXPECT_FALSE(v.available);
}

TEST(JudgesRules, DefaultsCatchRefusalsAndEmptyAnswers) {
  auto j = build_judge("{type: rules}");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(run_judge(**j, "p", {"B"}).confidence, 1.0);
  EXPECT_EQ(run_judge(**j, "p", {"   "}).confidence, 0.0);
  EXPECT_EQ(run_judge(**j, "p", {"As an AI, I cannot"}).confidence, 0.0);
  // An answer the provider's content filter cut is partial at best: a cascade escalates past it.
  const std::vector<JudgeAnswer> filtered{answer("m", "Here is how to", std::nullopt, "content_filter")};
  const Verdict v = (*j)->judge({"p", filtered});
  EXPECT_EQ(v.confidence, 0.0);
  EXPECT_NE(v.note.find("cut by the content filter"), std::string::npos) << v.note;
  EXPECT_EQ(build_judge("{type: rules, refusal: false}").value()->judge({"p", filtered}).confidence, 1.0);
}

TEST(JudgesRules, ConfigErrors) {
  auto j = build_judge("{type: rules, require: ['(']}");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("not a valid RE2"), std::string::npos);
  j = build_judge("{type: rules, min_chars: 10, max_chars: 5}");
  ASSERT_FALSE(j.ok());
  j = build_judge("{type: rules, pass: 2}");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().message.rfind("test.yaml:", 0), 0u) << j.error().message;
  j = build_judge("{type: rules, truncated: maybe}");
  ASSERT_FALSE(j.ok());
  j = build_judge("{type: rules, regex: x}");
  ASSERT_FALSE(j.ok());
}

}  // namespace
