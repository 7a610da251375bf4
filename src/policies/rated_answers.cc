#include "policies/rated_answers.h"

#include <algorithm>
#include <optional>

namespace switchboard::policies {

Result<std::vector<RatedAnswer>> rated_answers(const Feedback& f,
                                               const std::vector<std::string>& models,
                                               std::string_view who) {
  auto index = [&](const std::string& name) -> std::optional<std::size_t> {
    auto it = std::find(models.begin(), models.end(), name);
    if (it == models.end()) return std::nullopt;
    return static_cast<std::size_t>(it - models.begin());
  };
  auto bad = [](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_feedback", why);
  };
  const std::string policy(who);
  const auto m = index(f.model);
  if (!m) return bad("feedback names model '" + f.model + "', which this " + policy +
                     " does not route to");
  std::vector<RatedAnswer> out;
  if (f.score) {
    out.push_back({*m, *f.score, &f.signals, f.prompt_text, f.prompt_tokens, f.cost});
    return out;
  }
  if (!f.outcome || f.other.empty())
    return bad("the " + policy +
               " learns from scores or pairwise preferences; this feedback has neither");
  const auto o = index(f.other);
  if (!o)
    return bad("feedback compares with model '" + f.other + "', which this " + policy +
               " does not route to");
  if (!(*f.outcome >= 0 && *f.outcome <= 1)) return bad("a comparison needs an outcome in [0,1]");
  out.push_back({*m, *f.outcome, &f.signals, f.prompt_text, f.prompt_tokens, f.cost});
  if (f.other_signals)
    out.push_back({*o, 1 - *f.outcome, &*f.other_signals, f.other_prompt_text,
                   f.other_prompt_tokens, f.other_cost});
  else
    out.push_back({*o, 1 - *f.outcome, &f.signals, f.prompt_text, f.prompt_tokens, f.other_cost});
  return out;
}

}  // namespace switchboard::policies
