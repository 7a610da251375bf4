// Judges score a multi-call plan's answers: after each tier of a cascade, how confident the router
// may be that the tier's answer is right (below the tier's threshold it escalates); in an ensemble,
// which answers agree (vote) or which one is best (best-of).
//
// Contract: judge() runs concurrently from every worker thread, must not block or do I/O, and never
// throws on any answer text (untrusted upstream output). A judge that cannot score (the upstream
// returned no logprobs, say) returns available = false and says why in `note`; the plan then does
// what its config says. Judges are built once from a tier's `judge:` YAML mapping by a factory
// registered under the judge's `type` (src/judges/<name>/, JudgeRegistrar) and are immutable
// afterwards. Like policies, judges know nothing of http, store, eval or pipeline.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/registry.h"
#include "switchboard/result.h"

namespace switchboard {

// The log-probabilities an upstream returned with an answer (OpenAI `logprobs.content`), when it did.
struct AnswerLogprobs {
  std::vector<float> tokens;     // log-probability of each generated token, in order
  std::vector<float> first_top;  // the `top_logprobs` of the first generated token (may be empty)
};

// One answer of a tier or ensemble member.
struct JudgeAnswer {
  std::string_view model;
  std::string_view text;                         // the answer's content (choices[0].message.content)
  // Its tool calls, one per line as `name(arguments)` with the arguments' JSON canonical (keys
  // sorted, no blanks); "" when it calls none (api::CompletionAnswer::tool_calls).
  std::string_view tool_calls;
  std::optional<AnswerLogprobs> logprobs;        // absent: the upstream returned none
  std::string_view finish_reason;                // "stop", "length", ... ("" = unknown)
};

struct JudgeInput {
  std::string_view prompt;               // all message texts joined by '\n' (RouteRequest::prompt_text)
  std::span<const JudgeAnswer> answers;  // the tier's answers (one per probe), in the plan's order
};

struct Verdict {
  double confidence = 0;   // in [0,1]: that the tier's (first / majority) answer is right
  bool available = true;   // false: the judge could not score; `note` says why
  std::string note;        // one line for the decision record (never the answers themselves in full)
  // Per answer, in input order (empty when the judge does not produce them):
  std::vector<std::string> extracted;  // the normalised answer (agreement, vote): "B", "42", ...
  std::vector<double> scores;          // per-answer confidence in [0,1] (verifier: P(correct))
};

class Judge {
 public:
  virtual ~Judge() = default;
  virtual Verdict judge(const JudgeInput& input) const = 0;
};

struct JudgeContext {
  const YAML::Node& spec;    // the `judge:` mapping (has `type`)
  const std::string& where;  // "file:line:col" of the spec, to prefix error messages
};

// Returns the judge, or an Error whose message starts with `where` and says what is wrong.
using JudgeFactory = std::function<Result<std::unique_ptr<Judge>>(const JudgeContext&)>;
using JudgeRegistry = Registry<JudgeFactory>;
using JudgeRegistrar = Registrar<JudgeFactory>;

}  // namespace switchboard
