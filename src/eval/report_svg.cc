// The frontier plot: mean score (y) against total cost on a log scale (x). Policies and task-best
// are lines through their Pareto-efficient points with every point marked, random mixing is a
// dashed line, single models are labelled grey dots and the oracle a star.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "eval/report.h"

namespace switchboard::eval {
namespace {

constexpr double kWidth = 1100, kHeight = 660;
constexpr double kLeft = 78, kRight = 770, kTop = 76, kBottom = 588;  // the plot area
constexpr const char* kFont = "font-family=\"Helvetica, Arial, sans-serif\"";
// Okabe–Ito colours (distinguishable with colour-blindness), policies first.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#CC79A7",
                                    "#56B4E9", "#E69F00", "#000000"};
constexpr const char* kTaskBest = "#009E73";
constexpr const char* kRandom = "#7f7f7f";
constexpr const char* kSingle = "#8a8a8a";
constexpr const char* kOracle = "#E69F00";

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// "org/model" → "model": the organisation only crowds the plot.
std::string short_name(const std::string& model) {
  auto slash = model.rfind('/');
  return slash == std::string::npos ? model : model.substr(slash + 1);
}

std::string money(double v) {
  if (v >= 1) return fmt::format("${:g}", v);
  return fmt::format("${:.{}f}", v,
                     std::max(0, static_cast<int>(std::ceil(-std::log10(v) - 1e-9))));
}

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

class Plot {
 public:
  Plot(double log_lo, double log_hi, double q_lo, double q_hi)
      : log_lo_(log_lo), log_hi_(log_hi), q_lo_(q_lo), q_hi_(q_hi) {}
  double x(double cost) const {
    const double l = cost > 0 ? std::log10(cost) : log_lo_;
    return kLeft +
           (std::clamp(l, log_lo_, log_hi_) - log_lo_) / (log_hi_ - log_lo_) * (kRight - kLeft);
  }
  double y(double q) const { return kBottom - (q - q_lo_) / (q_hi_ - q_lo_) * (kBottom - kTop); }

 private:
  double log_lo_, log_hi_, q_lo_, q_hi_;
};

std::string polyline(const Plot& p, const std::vector<CurvePoint>& pts, const char* color,
                     double width, const char* dash) {
  std::string d;
  for (const auto& pt : pts) d += fmt::format("{:.1f},{:.1f} ", p.x(pt.cost), p.y(pt.quality));
  if (!d.empty()) d.pop_back();
  return fmt::format(
      "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
      "stroke-linejoin=\"round\"{}/>\n",
      d, color, width, dash[0] ? fmt::format(" stroke-dasharray=\"{}\"", dash) : "");
}

std::string star(double cx, double cy, double r, const char* fill) {
  std::string d;
  for (int i = 0; i < 10; ++i) {
    const double a = -M_PI / 2 + i * M_PI / 5;
    const double rr = i % 2 ? r * 0.45 : r;
    d += fmt::format("{:.1f},{:.1f} ", cx + rr * std::cos(a), cy + rr * std::sin(a));
  }
  d.pop_back();
  return fmt::format("<polygon points=\"{}\" fill=\"{}\" stroke=\"#5a3d00\" stroke-width=\"1\"/>\n",
                     d, fill);
}

std::vector<CurvePoint> plain(const std::vector<EvalPoint>& pts) {
  return {pts.begin(), pts.end()};
}

}  // namespace

std::string to_svg(const EvalResult& r) {
  // Axis ranges from every point drawn.
  double cmin = 0, cmax = 0, qmin = 1, qmax = 0;
  for (const auto* curves : {&r.policies, &r.baselines})
    for (const auto& c : *curves)
      for (const auto& p : c.points) {
        if (p.cost > 0 && (cmin == 0 || p.cost < cmin)) cmin = p.cost;
        cmax = std::max(cmax, p.cost);
        qmin = std::min(qmin, p.quality);
        qmax = std::max(qmax, p.quality);
      }
  if (cmin <= 0) cmin = cmax > 0 ? cmax / 10 : 1;
  if (cmax <= cmin) cmax = cmin * 10;
  const double span = std::log10(cmax) - std::log10(cmin);
  const double log_lo = std::log10(cmin) - std::max(0.08 * span, 0.1);
  const double log_hi = std::log10(cmax) + std::max(0.06 * span, 0.1);
  const double q_lo = std::max(0.0, std::floor((qmin - 0.03) * 20) / 20);
  const double q_hi = std::min(1.0, std::ceil((qmax + 0.02) * 20) / 20);
  Plot plot(log_lo, log_hi, q_lo, q_hi > q_lo ? q_hi : q_lo + 0.05);

  std::string s;
  s += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "{2}>\n",
      kWidth, kHeight, kFont);
  s += fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", kWidth, kHeight);
  s += fmt::format(
      "<text x=\"{}\" y=\"34\" font-size=\"20\" font-weight=\"bold\" fill=\"#222\">Quality–cost "
      "frontier on {} test prompts</text>\n",
      kLeft, r.test_records);
  s += fmt::format(
      "<text x=\"{}\" y=\"56\" font-size=\"13\" fill=\"#555\">Mean score against the total cost "
      "of routing every test prompt (log scale). Up and to the left is better.</text>\n",
      kLeft);

  // Grid and axes.
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#bbb\"/>\n",
      kLeft, kTop, kRight - kLeft, kBottom - kTop);
  for (int e = static_cast<int>(std::floor(log_lo)); e <= static_cast<int>(std::ceil(log_hi));
       ++e) {
    for (int m : {1, 2, 5}) {
      const double v = m * std::pow(10.0, e);
      const double l = std::log10(v);
      if (l < log_lo || l > log_hi) continue;
      const double x = plot.x(v);
      s += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"{3}\"/>\n", x, kTop,
          kBottom, m == 1 ? "#d9d9d9" : "#ececec");
      s += fmt::format(
          "<text x=\"{:.1f}\" y=\"{}\" font-size=\"12\" fill=\"#444\" "
          "text-anchor=\"middle\">{}</text>\n",
          x, kBottom + 18, money(v));
    }
  }
  const double q_step = (q_hi - q_lo) > 0.45 ? 0.1 : 0.05;
  for (double q = q_lo; q <= q_hi + 1e-9; q += q_step) {
    const double y = plot.y(q);
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#e3e3e3\"/>\n",
                     kLeft, y, kRight, y);
    s += fmt::format(
        "<text x=\"{}\" y=\"{:.1f}\" font-size=\"12\" fill=\"#444\" "
        "text-anchor=\"end\">{:.2f}</text>\n",
        kLeft - 8, y + 4, q);
  }
  s += fmt::format(
      "<text x=\"{:.1f}\" y=\"{}\" font-size=\"14\" fill=\"#222\" text-anchor=\"middle\">total "
      "cost "
      "on the test set (USD, log scale)</text>\n",
      (kLeft + kRight) / 2, kBottom + 44);
  s += fmt::format(
      "<text transform=\"translate({},{:.1f}) rotate(-90)\" font-size=\"14\" fill=\"#222\" "
      "text-anchor=\"middle\">mean score</text>\n",
      kLeft - 48, (kTop + kBottom) / 2);

  // Curves, back to front: random mixing, task-best, policies; then dots on top.
  struct LegendEntry {
    std::string label;
    std::string swatch;  // SVG drawn at (0,0) to be translated
  };
  std::vector<LegendEntry> legend;
  std::vector<Box> taken;  // label boxes and dots, for label placement
  auto aiq_text = [](const Curve& c) {
    return c.metrics.aiq ? fmt::format("  AIQ {:.3f}", rounded(*c.metrics.aiq, 3)) : std::string();
  };

  for (const auto& c : r.baselines) {
    if (c.kind != "random") continue;
    const char* dash = c.name == "random" ? "6 4" : "2 3";
    s += polyline(plot, plain(c.points), kRandom, 1.6, dash);
    legend.push_back({c.name + aiq_text(c),
                      fmt::format("<line x1=\"0\" y1=\"0\" x2=\"26\" y2=\"0\" stroke=\"{}\" "
                                  "stroke-width=\"1.6\" stroke-dasharray=\"{}\"/>",
                                  kRandom, dash)});
  }
  auto draw_curve = [&](const Curve& c, const char* color) {
    s += polyline(plot, pareto_front(plain(c.points)), color, 2.4, "");
    const double radius = c.points.size() == 1 ? 5.5 : 3.2;  // a lone point must stand out
    for (const auto& p : c.points) {
      const double px = plot.x(p.cost), py = plot.y(p.quality);
      s += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\" stroke=\"#fff\" "
          "stroke-width=\"0.8\"><title>{}: ${:.4f}, {:.3f}</title></circle>\n",
          px, py, radius, color, esc(c.name), rounded(p.cost, 4), rounded(p.quality, 3));
      taken.push_back({px - 3, py - 3, px + 3, py + 3});
    }
    legend.push_back({c.name + aiq_text(c),
                      fmt::format("<line x1=\"0\" y1=\"0\" x2=\"26\" y2=\"0\" stroke=\"{0}\" "
                                  "stroke-width=\"2.4\"/><circle cx=\"13\" cy=\"0\" r=\"3.2\" "
                                  "fill=\"{0}\"/>",
                                  color)});
  };
  for (const auto& c : r.baselines)
    if (c.kind == "oracle") s += polyline(plot, pareto_front(plain(c.points)), kOracle, 1.8, "");
  for (const auto& c : r.baselines)
    if (c.kind == "task-best") draw_curve(c, kTaskBest);

  // Single models as labelled dots; each label goes to the first free spot around its dot.
  std::vector<const Curve*> singles;
  for (const auto& c : r.baselines)
    if (c.kind == "single" && !c.points.empty()) singles.push_back(&c);
  for (const auto* c : singles) {
    const auto& p = c->points[0];
    const double px = plot.x(p.cost), py = plot.y(p.quality);
    taken.push_back({px - 5, py - 5, px + 5, py + 5});
    s += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\" stroke=\"#fff\" "
        "stroke-width=\"1\">"
        "<title>{}: ${:.4f}, {:.3f}</title></circle>\n",
        px, py, kSingle, esc(c->name), rounded(p.cost, 4), rounded(p.quality, 3));
  }
  if (!singles.empty())
    legend.push_back({"single models",
                      fmt::format("<circle cx=\"13\" cy=\"0\" r=\"5\" fill=\"{}\"/>", kSingle)});

  for (const auto& c : r.baselines) {
    if (c.kind != "oracle" || c.points.empty()) continue;
    const EvalPoint* top = &c.points[0];
    for (const auto& p : c.points)
      if (p.quality > top->quality || (p.quality == top->quality && p.cost < top->cost)) top = &p;
    const auto& p = *top;
    const double px = plot.x(p.cost), py = plot.y(p.quality);
    s += star(px, py, 10, kOracle);
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\" font-weight=\"bold\" fill=\"#5a3d00\" "
        "text-anchor=\"middle\">oracle {:.3f}</text>\n",
        px, py - 14, rounded(p.quality, 3));
    taken.push_back({px - 40, py - 28, px + 40, py + 10});
    legend.push_back({"oracle (best per prompt)" + aiq_text(c),
                      fmt::format("<line x1=\"0\" y1=\"0\" x2=\"26\" y2=\"0\" stroke=\"{}\" "
                                  "stroke-width=\"1.8\"/>{}",
                                  kOracle, star(13, 0, 8, kOracle))});
  }

  // Policies on top of the baselines, listed first in the legend.
  const std::size_t baseline_entries = legend.size();
  for (std::size_t i = 0; i < r.policies.size(); ++i)
    draw_curve(r.policies[i], kPalette[i % std::size(kPalette)]);
  std::rotate(legend.begin(), legend.begin() + baseline_entries, legend.end());

  for (const auto* c : singles) {
    const auto& p = c->points[0];
    const double px = plot.x(p.cost), py = plot.y(p.quality);
    const std::string text = short_name(c->name);
    const double w = 6.3 * text.size(), h = 13;
    struct Spot {
      double x, y;
      const char* anchor;
    };
    const Spot spots[] = {{px + 8, py + 4, "start"}, {px - 8, py + 4, "end"},
                          {px, py - 9, "middle"},    {px, py + 17, "middle"},
                          {px + 8, py - 8, "start"}, {px + 8, py + 16, "start"},
                          {px - 8, py - 8, "end"},   {px - 8, py + 16, "end"}};
    const Spot* chosen = &spots[0];
    for (const auto& sp : spots) {
      const double x0 = sp.anchor[0] == 's' ? sp.x : sp.anchor[0] == 'e' ? sp.x - w : sp.x - w / 2;
      Box b{x0, sp.y - h + 3, x0 + w, sp.y + 3};
      if (b.x0 < kLeft || b.x1 > kRight || b.y0 < kTop || b.y1 > kBottom) continue;
      if (std::none_of(taken.begin(), taken.end(), [&](const Box& o) { return o.overlaps(b); })) {
        chosen = &sp;
        taken.push_back(b);
        break;
      }
    }
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" fill=\"#333\" text-anchor=\"{}\" "
        "paint-order=\"stroke\" stroke=\"#fafafa\" stroke-width=\"3\">{}</text>\n",
        chosen->x, chosen->y, chosen->anchor, esc(text));
  }

  // Legend to the right of the plot.
  const double lx = kRight + 24;
  double ly = kTop + 8;
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"bold\" fill=\"#222\">Legend</text>\n",
      lx, ly);
  ly += 22;
  for (const auto& e : legend) {
    s += fmt::format("<g transform=\"translate({},{})\">{}</g>\n", lx, ly - 4, e.swatch);
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#222\">{}</text>\n", lx + 34,
                     ly, esc(e.label));
    ly += 22;
  }
  ly += 8;
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#666\">AIQ: area under the non-decreasing "
      "convex</text>\n"
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#666\">hull, with cost divided by ${:.2f}, "
      "the</text>\n"
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#666\">cost of {}</text>\n",
      lx, ly, lx, ly + 15, rounded(r.max_cost, 2), lx, ly + 30, esc(short_name(r.max_cost_model)));
  s += "</svg>\n";
  return s;
}

}  // namespace switchboard::eval
