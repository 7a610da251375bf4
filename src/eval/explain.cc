#include "eval/explain.h"

#include <fmt/format.h>

#include "signals/signals_json.h"

namespace switchboard::eval {
namespace {

std::string text_or_dash(double v, const char* format) {
  return v < 0 ? std::string("-") : fmt::format(fmt::runtime(format), v);
}

}  // namespace

std::string explain_decision_text(const Decision& decision, std::string_view route,
                                  std::optional<double> lambda, const Signals& signals) {
  std::string out;
  out += fmt::format("route    {}\n", route);
  out += fmt::format("policy   {}\n", decision.policy);
  out += fmt::format("model    {}\n", decision.plan.model);
  out += fmt::format("reason   {}\n", decision.reason);
  if (lambda) out += fmt::format("lambda   {:g} quality points per USD\n", *lambda);
  out += fmt::format("prompt   {}\n", signals::signals_text(signals));
  if (!decision.plan.fallbacks.empty()) {
    std::string list;
    for (const auto& f : decision.plan.fallbacks) list += (list.empty() ? "" : ", ") + f;
    out += fmt::format("fallback {}\n", list);
  }
  if (decision.candidates.empty()) return out;
  std::size_t width = 5;
  for (const auto& c : decision.candidates) width = std::max(width, c.model.size());
  out += fmt::format("\n  {:<{}}  {:>9}  {:>12}  {:>9}  {}\n", "model", width, "quality", "cost (USD)",
                     "utility", "note");
  for (const auto& c : decision.candidates) {
    std::string note = c.note;
    if (!c.eligible) note = "not eligible" + (note.empty() ? "" : ": " + note);
    out += fmt::format("{} {:<{}}  {:>9}  {:>12}  {:>9}  {}\n", c.model == decision.plan.model ? "*" : " ",
                       c.model, width, text_or_dash(c.predicted_quality, "{:.3f}"),
                       text_or_dash(c.predicted_cost, "{:.6f}"),
                       c.utility ? fmt::format("{:.4f}", *c.utility) : std::string("-"), note);
  }
  return out;
}

}  // namespace switchboard::eval
