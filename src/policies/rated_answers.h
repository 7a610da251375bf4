// The answers one piece of feedback rates, for the online policies (bandit, corrected): a score
// rates the answer it is about; a pairwise preference without a score rates both answers — winner
// 1, loser 0, tie 0.5 each (`outcome` and 1 − outcome), each at its own decision's request (the
// other decision's signals and prompt when known, else this one's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/learning.h"
#include "switchboard/result.h"

namespace switchboard::policies {

struct RatedAnswer {
  std::size_t model;  // index into the policy's models
  double score;       // in [0, 1]
  const Signals* signals;
  std::string_view prompt_text;
  std::int64_t prompt_tokens;
  double cost;  // USD billed for that answer
};

// The rated answers of `f` (one or two; they refer into `f`). kBadRequest "bad_feedback" when a
// model is not in `models`, a comparison's outcome is outside [0, 1], or `f` has neither a score nor
// a comparison; `who` names the policy in the messages ("bandit", "correction").
Result<std::vector<RatedAnswer>> rated_answers(const Feedback& f,
                                               const std::vector<std::string>& models,
                                               std::string_view who);

}  // namespace switchboard::policies
