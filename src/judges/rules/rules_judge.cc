// The `rules` judge: checks that need no model — a refusal, the answer's length, regexes it must or
// must not match, a reply cut off by the token limit — and maps pass/fail to a confidence.
//
//   judge:
//     type: rules
//     refusal: true            # a refusal ("I cannot", "As an AI", "I'm sorry", …) fails, and
//                              # so does an answer the provider's filter cut (finish_reason
//                              # content_filter: partial at best)
//     min_chars: 1             # shorter answers fail (after trimming blanks)
//     max_chars: 0             # longer answers fail (0 = no bound)
//     require: ["```"]         # RE2 patterns the answer must each match
//     reject: ["(?i)lorem"]    # RE2 patterns the answer must match none of
//     truncated: ignore        # fail: finish_reason "length" fails
//     pass: 1.0                # the confidence of an answer passing every check
//     fail: 0.0                # ... failing one
//
// Verdict: confidence = the first answer's score; scores[i] = pass or fail for answer i; the note
// names the first answer's failed checks (the refusal phrase, the length, the pattern). An answer's
// tool calls (JudgeAnswer::tool_calls) count toward its length and are matched by the patterns.
#include <re2/re2.h>

#include "judges/answer_signs.h"
#include "judges/spec.h"

namespace switchboard::judges {
namespace {

struct Pattern {
  std::string text;
  std::shared_ptr<const RE2> re;
};

struct RulesSpec {
  bool refusal = true;
  std::size_t min_chars = 1, max_chars = 0;
  std::vector<Pattern> require, reject;
  bool fail_truncated = false;
  double pass = 1, fail = 0;
};

std::size_t trimmed_size(std::string_view s) {
  std::size_t b = 0, e = s.size();
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (b < e && blank(s[b])) ++b;
  while (e > b && blank(s[e - 1])) --e;
  return e - b;
}

class RulesJudge final : public Judge {
 public:
  explicit RulesJudge(RulesSpec spec) : spec_(std::move(spec)) {}

  Verdict judge(const JudgeInput& input) const override {
    Verdict v;
    v.scores.reserve(input.answers.size());
    for (std::size_t i = 0; i < input.answers.size(); ++i) {
      std::string failed;
      check(input.answers[i], failed);
      v.scores.push_back(failed.empty() ? spec_.pass : spec_.fail);
      if (i == 0) v.note = failed.empty() ? "all checks passed" : "failed: " + failed;
    }
    if (input.answers.empty()) {
      v.available = false;
      v.note = "no answer to judge";
      return v;
    }
    v.confidence = v.scores.front();
    return v;
  }

 private:
  void check(const JudgeAnswer& a, std::string& failed) const {
    auto add = [&failed](const std::string& what) {
      failed += (failed.empty() ? "" : "; ") + what;
    };
    // A tool call is an answer too: its calls count toward the length and the patterns see them
    // (after the text, one per line as `name(arguments)`).
    std::string with_tools;
    if (!a.tool_calls.empty()) with_tools = std::string(a.text) + "\n" + std::string(a.tool_calls);
    const std::string_view all = a.tool_calls.empty() ? a.text : std::string_view(with_tools);
    const std::size_t n = trimmed_size(all);
    if (spec_.refusal) {
      const auto phrase = refusal_phrase(a.text);
      if (!phrase.empty()) add("refusal ('" + std::string(phrase) + "')");
      if (a.finish_reason == "content_filter") add("cut by the content filter");
    }
    if (n < spec_.min_chars)
      add("too short (" + std::to_string(n) + " < " + std::to_string(spec_.min_chars) + " chars)");
    if (spec_.max_chars && n > spec_.max_chars)
      add("too long (" + std::to_string(n) + " > " + std::to_string(spec_.max_chars) + " chars)");
    const re2::StringPiece text(all.data(), all.size());
    for (const auto& p : spec_.require)
      if (!RE2::PartialMatch(text, *p.re)) add("does not match '" + p.text + "'");
    for (const auto& p : spec_.reject)
      if (RE2::PartialMatch(text, *p.re)) add("matches '" + p.text + "'");
    if (spec_.fail_truncated && a.finish_reason == "length") add("cut off (finish_reason length)");
  }

  RulesSpec spec_;
};

Result<std::unique_ptr<Judge>> make_rules_judge(const JudgeContext& ctx) {
  SpecReader spec(ctx);
  if (auto e = spec.only_keys({"type", "refusal", "min_chars", "max_chars", "require", "reject",
                               "truncated", "pass", "fail"}))
    return *e;
  RulesSpec s;
  auto refusal = spec.boolean("refusal", true);
  if (!refusal) return refusal.error();
  s.refusal = *refusal;
  auto min_chars = spec.number("min_chars", 1, 0, 1e9);
  if (!min_chars) return min_chars.error();
  s.min_chars = static_cast<std::size_t>(*min_chars);
  auto max_chars = spec.number("max_chars", 0, 0, 1e9);
  if (!max_chars) return max_chars.error();
  s.max_chars = static_cast<std::size_t>(*max_chars);
  if (s.max_chars && s.max_chars < s.min_chars)
    return spec.error(ctx.spec["max_chars"], "`max_chars` is below `min_chars`");
  for (const std::string key : {"require", "reject"}) {
    auto list = spec.strings(key);
    if (!list) return list.error();
    for (const auto& p : *list) {
      auto re = std::make_shared<const RE2>(p, RE2::Quiet);
      if (!re->ok())
        return spec.error(ctx.spec[key], "'" + p + "' is not a valid RE2 pattern: " + re->error());
      (key == "require" ? s.require : s.reject).push_back({p, std::move(re)});
    }
  }
  auto truncated = spec.string("truncated", "ignore", {"ignore", "fail"});
  if (!truncated) return truncated.error();
  s.fail_truncated = *truncated == "fail";
  auto pass = spec.number("pass", 1, 0, 1);
  if (!pass) return pass.error();
  auto fail = spec.number("fail", 0, 0, 1);
  if (!fail) return fail.error();
  s.pass = *pass;
  s.fail = *fail;
  return std::unique_ptr<Judge>(std::make_unique<RulesJudge>(std::move(s)));
}

const JudgeRegistrar kRulesJudge("rules", make_rules_judge);

}  // namespace
}  // namespace switchboard::judges
