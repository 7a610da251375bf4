// JSON, text table and SVG of `switchboard eval --online` (eval/online.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "eval/online.h"

namespace switchboard::eval {
namespace {

nlohmann::json opt(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

std::string pct(const std::optional<double>& v) {
  return v ? fmt::format("{:+.1f}%", *v * 100) : "-";
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

nlohmann::json online_to_json(const OnlineResult& r) {
  nlohmann::json j;
  j["mode"] = "online";
  j["lambda"] = r.lambda;
  j["seed"] = r.seed;
  j["warmup"] = r.warmup;
  j["test_records"] = r.test_records;
  j["models"] = r.models;
  if (r.drift)
    j["drift"] = {
        {"model", r.drift->model}, {"after", r.drift->after}, {"factor", r.drift->factor}};
  j["curves"] = nlohmann::json::array();
  for (const auto& c : r.curves) {
    nlohmann::json cj;
    cj["name"] = c.name;
    cj["type"] = c.type;
    cj["kind"] = c.kind;
    cj["mean_utility"] = c.mean_utility;
    cj["quality"] = c.quality;
    cj["cost"] = c.cost;
    cj["shares"] = c.shares;
    cj["worst_gap_to_reference"] = opt(c.worst_gap_to_reference);
    cj["utility_after_1000"] = opt(c.utility_after_1000);
    cj["reference_after_1000"] = opt(c.reference_after_1000);
    cj["prompts_after_1000"] = c.prompts_after_1000;
    cj["drift"] = {{"share_before", opt(c.drift_share_before)},
                   {"share_300_after", opt(c.drift_share_300)},
                   {"moved_300", opt(c.drift_moved_300)},
                   {"prompts_to_move_80", c.drift_prompts_to_move_80
                                              ? nlohmann::json(*c.drift_prompts_to_move_80)
                                              : nlohmann::json()}};
    cj["points"] = nlohmann::json::array();
    for (const auto& p : c.points)
      cj["points"].push_back({{"n", p.n},
                              {"regret_oracle", p.regret_oracle},
                              {"regret_reference", p.regret_reference},
                              {"mean_utility", p.mean_utility},
                              {"window_utility", p.window_utility},
                              {"drift_share", p.drift_share}});
    if (!c.state.is_null()) cj["state"] = c.state;
    j["curves"].push_back(std::move(cj));
  }
  return j;
}

std::string online_to_table(const OnlineResult& r) {
  std::string out = fmt::format(
      "online replay: {} TEST prompts after {} TRAIN warm-up events, λ = {}, seed {}{}\n\n",
      r.test_records, r.warmup, r.lambda, r.seed,
      r.drift
          ? fmt::format(", drift {} ×{} after {}", r.drift->model, r.drift->factor, r.drift->after)
          : "");
  out += fmt::format("{:<16} {:<10} {:>9} {:>8} {:>9} {:>11} {:>11} {:>9} {:>10}\n", "policy",
                     "kind", "utility", "quality", "cost $", "regret/orc", "regret/ref",
                     "worst gap", "drift mv300");
  for (const auto& c : r.curves) {
    const auto& last = c.points.empty() ? OnlinePoint{} : c.points.back();
    out +=
        fmt::format("{:<16} {:<10} {:>9.4f} {:>8.4f} {:>9.4f} {:>11.2f} {:>11.2f} {:>9} {:>10}\n",
                    c.name, c.kind, c.mean_utility, c.quality, c.cost, last.regret_oracle,
                    last.regret_reference, pct(c.worst_gap_to_reference), pct(c.drift_moved_300));
  }
  for (const auto& c : r.curves)
    if (c.utility_after_1000)
      out += fmt::format(
          "\n{}: after ≥1,000 feedback events ({} prompts): utility {:.4f} vs reference {:.4f} "
          "({})",
          c.name, c.prompts_after_1000, *c.utility_after_1000, *c.reference_after_1000,
          *c.reference_after_1000 != 0 ? pct((*c.utility_after_1000 - *c.reference_after_1000) /
                                             std::abs(*c.reference_after_1000))
                                       : "-");
  return out + "\n";
}

std::string online_to_svg(const OnlineResult& r) {
  constexpr double W = 720, H = 420, L = 70, R = 170, T = 30, B = 50;
  double max_n = 1, lo = 0, hi = 1e-9;
  for (const auto& c : r.curves)
    for (const auto& p : c.points) {
      max_n = std::max(max_n, static_cast<double>(p.n));
      lo = std::min(lo, p.regret_oracle);
      hi = std::max(hi, p.regret_oracle);
    }
  auto x = [&](double n) { return L + (W - L - R) * n / max_n; };
  auto y = [&](double v) { return H - B - (H - T - B) * (v - lo) / (hi - lo); };
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                 "#ff7f0e", "#8c564b", "#7f7f7f"};
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H);
  s += fmt::format("<text x=\"{}\" y=\"18\">Cumulative regret vs the oracle (λ = {}{})</text>\n", L,
                   r.lambda,
                   r.drift ? fmt::format(", {} ×{} after {}", escape(r.drift->model),
                                         r.drift->factor, r.drift->after)
                           : "");
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", L,
                   H - B, W - R);
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", L, T,
                   H - B);
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4, n = max_n * i / 4;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.1f}</text>\n", L - 4, y(v) + 4,
                     v);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.0f}</text>\n", x(n),
                     H - B + 16, n);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">TEST prompts</text>\n",
                   (L + W - R) / 2, H - 12);
  if (r.drift)
    s += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#999\" stroke-dasharray=\"4 "
        "3\"/>\n",
        x(static_cast<double>(r.drift->after)), T, H - B);
  for (std::size_t i = 0; i < r.curves.size(); ++i) {
    const auto& c = r.curves[i];
    const char* color = colors[i % 7];
    std::string pts = fmt::format("{:.1f},{:.1f}", x(0), y(0));
    for (const auto& p : c.points)
      pts += fmt::format(" {:.1f},{:.1f}", x(static_cast<double>(p.n)), y(p.regret_oracle));
    s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                     color, pts);
    s += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\">{} ({})</text>\n", W - R + 8,
                     T + 16 * (i + 1), color, escape(c.name), c.kind);
  }
  return s + "</svg>\n";
}

}  // namespace switchboard::eval
