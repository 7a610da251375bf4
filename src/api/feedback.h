// The body of POST /v1/feedback (docs/online.md): pure parsing, no I/O.
//
//   {"decision_id": "dec_…", "score": 0.8}                          a rating in [0, 1]
//   {"decision_a": "dec_…", "decision_b": "dec_…", "winner": "a"}   a pairwise preference;
//                                                                   winner: a | b | tie, or one of
//                                                                   the two decision ids
//
// Errors (400, OpenAI's shape): `invalid_json` when the body is not JSON; `invalid_request` naming
// the field otherwise — not an object, a repeated or unknown key, both forms or neither, a missing
// field, an id that is not a non-empty string, a score that is not a number in [0, 1], a winner
// that is none of the above, or one decision compared with itself.
#pragma once

#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace switchboard::api {

struct FeedbackRequest {
  enum class Kind { kScore, kPairwise };
  Kind kind = Kind::kScore;
  std::string decision_id;  // score
  double score = 0;
  std::string decision_a, decision_b;  // pairwise
  double outcome = 0;                  // pairwise: 1 = a won, 0 = b won, 0.5 = tie
};

Result<FeedbackRequest> parse_feedback(std::string_view body);

}  // namespace switchboard::api
