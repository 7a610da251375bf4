#include "api/feedback.h"

#include <cmath>

#include "api/json_util.h"

namespace switchboard::api {
namespace {

Result<std::string> id_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return invalid_request(std::string("missing field '") + name + "'");
  if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
      it->get_ref<const std::string&>().size() > 200)
    return invalid_request(std::string("'") + name +
                           "' must be a decision id (a non-empty string of at most 200 bytes)");
  return it->get<std::string>();
}

}  // namespace

Result<FeedbackRequest> parse_feedback(std::string_view body) {
  auto parsed = parse_request_object(body);
  if (!parsed) return parsed.error();
  const nlohmann::json& j = *parsed;
  const bool score_form = j.contains("decision_id") || j.contains("score");
  const bool pair_form =
      j.contains("decision_a") || j.contains("decision_b") || j.contains("winner");
  for (const auto& [key, _] : j.items()) {
    if (key != "decision_id" && key != "score" && key != "decision_a" && key != "decision_b" &&
        key != "winner")
      return invalid_request("unknown field '" + key +
                             "' (feedback is {decision_id, score} or {decision_a, decision_b, "
                             "winner})");
  }
  if (score_form && pair_form)
    return invalid_request(
        "feedback is either {decision_id, score} or {decision_a, decision_b, winner}, not both");
  if (!score_form && !pair_form)
    return invalid_request(
        "feedback needs {decision_id, score} or {decision_a, decision_b, winner}");
  FeedbackRequest out;
  if (score_form) {
    auto id = id_field(j, "decision_id");
    if (!id) return id.error();
    out.decision_id = std::move(*id);
    auto it = j.find("score");
    if (it == j.end()) return invalid_request("missing field 'score' (a number in [0, 1])");
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0 ||
        it->get<double>() > 1)
      return invalid_request("'score' must be a number in [0, 1]");
    out.score = it->get<double>() + 0.0;  // -0.0 stored and echoed as 0
    return out;
  }
  out.kind = FeedbackRequest::Kind::kPairwise;
  auto a = id_field(j, "decision_a");
  if (!a) return a.error();
  auto b = id_field(j, "decision_b");
  if (!b) return b.error();
  out.decision_a = std::move(*a);
  out.decision_b = std::move(*b);
  if (out.decision_a == out.decision_b)
    return invalid_request("'decision_a' and 'decision_b' must be two different decisions");
  auto it = j.find("winner");
  if (it == j.end()) return invalid_request("missing field 'winner' (a, b or tie)");
  const std::string w = it->is_string() ? it->get<std::string>() : std::string();
  if (w == "a" || w == out.decision_a)
    out.outcome = 1;
  else if (w == "b" || w == out.decision_b)
    out.outcome = 0;
  else if (w == "tie")
    out.outcome = 0.5;
  else
    return invalid_request("'winner' must be \"a\", \"b\", \"tie\" or one of the two decision ids");
  return out;
}

}  // namespace switchboard::api
