// Conditions of the `rules` policy (docs/signals.md): a tree parsed once from YAML and evaluated
// per request on the request's Signals and prompt text.
//
// A condition is a YAML mapping; several keys in one mapping must all hold. Keys:
//   all: [COND, ...]   any: [COND, ...]   not: COND
//   prompt_tokens / message_count: {gt|gte|lt|lte|eq: N, ...}   (all comparisons must hold)
//   language / task: CODE | [CODE, ...] | {not: CODE | [CODE, ...]}   ("" = unknown never matches a
//   list) has_code: true | false keywords: [WORD, ...]   any of them, case-insensitive, as whole
//   words regex: "RE2 pattern"    searched in the prompt (RE2 syntax; (?i) for case-insensitive)
//
// Contract: parse_condition() throws RuleError ("file:line:col: reason") for any mistake; the tree
// is immutable and evaluate() is thread-safe, allocation-free and linear in the prompt (RE2).
#pragma once

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "switchboard/policy.h"

namespace switchboard::policies::rules {

struct RuleError {
  std::string message;
};

struct Condition {
  enum class Kind {
    kAll,
    kAny,
    kNot,
    kPromptTokens,
    kMessageCount,
    kLanguage,
    kTask,
    kHasCode,
    kRegex
  };
  Kind kind = Kind::kAll;
  std::vector<Condition> children;  // kAll, kAny, kNot (one child)
  // kPromptTokens, kMessageCount: every bound that is set must hold.
  std::optional<std::int64_t> gt, gte, lt, lte, eq;
  // kLanguage, kTask: the signal is one of `values` (or, with `negate`, is none of them).
  std::vector<std::string> values;
  bool negate = false;
  bool flag = false;                 // kHasCode
  std::shared_ptr<const RE2> regex;  // kRegex (keywords compile into one)
  std::string text;  // for the reason: what this condition says, e.g. "language is not en"

  bool evaluate(const Signals& signals, std::string_view prompt) const;
  void add_needs(SignalNeeds& needs) const;
};

// `where(node)` gives "file:line:col" of a node.
Condition parse_condition(const YAML::Node& node,
                          const std::function<std::string(const YAML::Node&)>& where);

}  // namespace switchboard::policies::rules
