// The `agreement` judge (ACAR's σ over probes): the answers' normalised extractions
// (agreement/extract.h) are compared, and the confidence is the share of answers that agree with
// the majority answer — 3 probes answering B, B, C give 2/3. An answer with nothing extracted
// agrees with no one. Ties between answers are broken by order (the earliest answer's value wins).
//
//   judge:
//     type: agreement
//     kind: auto | choice | number | code | text     # default auto
//     patterns: ["(?i)final answer:\\s*(\\S+)"]      # optional RE2, group 1 is the answer
//     last_match: false      # take a pattern's last match instead of its first
//     builtin: true          # after the patterns, the kind's built-in extraction
//     labels: ABCDE          # choice labels when the prompt lists no options
//     reference: majority    # | first: agreement with the FIRST answer (a cascade verifying a
//                            #   routed model's answer beside probes: the probes confirm it, they
//                            #   cannot outvote it; with a threshold above 1/2 the accepted
//                            #   answer is then the first one)
//
// Verdict: confidence = majority count / answers (reference: first — the count of answers equal to
// the first one's extraction / answers; 0 when the first has none); `extracted` = each answer's
// extraction; `scores[i]` = the share of answers agreeing with answer i (0 when nothing was
// extracted). With fewer than two answers agreement is undefined: available = false (extracted
// still filled).
#include <unordered_map>

#include "judges/agreement/extract.h"
#include "judges/spec.h"

namespace switchboard::judges {
namespace {

class AgreementJudge final : public Judge {
 public:
  AgreementJudge(AnswerExtractor extractor, bool first)
      : extractor_(std::move(extractor)), first_(first) {}

  Verdict judge(const JudgeInput& input) const override {
    Verdict v;
    std::vector<std::string_view> replies;
    replies.reserve(input.answers.size());
    for (const auto& a : input.answers) replies.push_back(a.text);
    AnswerKind kind = AnswerKind::kText;
    v.extracted = extractor_.extract(input.prompt, replies, &kind);
    // An answer that calls tools agrees with one that makes the same calls (canonical form:
    // names and arguments), whatever its text says.
    // One the provider's content filter cut (finish_reason content_filter) is partial at best:
    // nothing extracted, so it neither agrees nor wins a vote.
    bool tools = false;
    for (std::size_t i = 0; i < input.answers.size() && i < v.extracted.size(); ++i)
      if (input.answers[i].finish_reason == "content_filter") {
        v.extracted[i].clear();
      } else if (!input.answers[i].tool_calls.empty()) {
        v.extracted[i] = "tool call: " + std::string(input.answers[i].tool_calls);
        tools = true;
      }
    const std::size_t n = v.extracted.size();
    std::vector<std::size_t> agreeing(n, 0);
    std::size_t best = n;  // index of the majority answer's first occurrence
    for (std::size_t i = 0; i < n; ++i) {
      if (v.extracted[i].empty()) continue;
      for (std::size_t j = 0; j < n; ++j) agreeing[i] += v.extracted[j] == v.extracted[i];
      if (best == n || agreeing[i] > agreeing[best]) best = i;
    }
    if (first_) best = n > 0 && !v.extracted[0].empty() ? 0 : n;
    v.scores.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      v.scores[i] = n ? static_cast<double>(agreeing[i]) / static_cast<double>(n) : 0.0;
    const std::string kind_name = tools ? std::string("tool calls") : answer_kind_name(kind);
    if (n < 2) {
      v.available = false;
      v.confidence = 0;
      v.note = "agreement needs at least 2 answers (got " + std::to_string(n) + ")";
      return v;
    }
    if (best == n) {
      v.confidence = 0;
      v.note = first_ ? kind_name + ": nothing extracted from the first answer"
                      : kind_name + ": no answer extracted from " + std::to_string(n);
      return v;
    }
    v.confidence = v.scores[best];
    std::string shown = v.extracted[best].substr(0, 24);
    for (char& c : shown)
      if (c == '\n' || c == '\t') c = ' ';
    if (v.extracted[best].size() > 24) shown += "...";
    v.note = kind_name + ": " + std::to_string(agreeing[best]) + " of " + std::to_string(n) +
             (first_ ? " agree with the first, '" : " agree on '") + shown + "'";
    return v;
  }

 private:
  AnswerExtractor extractor_;
  bool first_;  // reference: first
};

Result<std::unique_ptr<Judge>> make_agreement(const JudgeContext& ctx) {
  SpecReader spec(ctx);
  if (auto e = spec.only_keys(
          {"type", "kind", "patterns", "last_match", "builtin", "labels", "reference"}))
    return *e;
  auto reference = spec.string("reference", "majority", {"majority", "first"});
  if (!reference) return reference.error();
  ExtractorOptions options;
  auto kind = spec.string("kind", "auto", {"auto", "choice", "number", "code", "text"});
  if (!kind) return kind.error();
  options.kind = *parse_answer_kind(*kind);
  auto patterns = spec.strings("patterns");
  if (!patterns) return patterns.error();
  options.patterns = *patterns;
  auto last = spec.boolean("last_match", false);
  if (!last) return last.error();
  options.last_match = *last;
  auto builtin = spec.boolean("builtin", true);
  if (!builtin) return builtin.error();
  options.builtin = *builtin;
  auto labels = spec.string("labels", "ABCDE");
  if (!labels) return labels.error();
  options.labels = *labels;
  if (!options.builtin && options.patterns.empty())
    return spec.error(ctx.spec, "`builtin: false` needs `patterns:` (else nothing is extracted)");
  auto extractor = AnswerExtractor::make(std::move(options));
  if (!extractor) return spec.error(ctx.spec["patterns"], extractor.error().message);
  return std::unique_ptr<Judge>(
      std::make_unique<AgreementJudge>(std::move(*extractor), *reference == "first"));
}

const JudgeRegistrar kAgreement("agreement", make_agreement);

}  // namespace
}  // namespace switchboard::judges
