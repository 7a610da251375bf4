#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace switchboard::eval {
namespace {

// > 0 when o→a→b turns counter-clockwise, 0 when collinear.
double cross(const Vertex& o, const Vertex& a, const Vertex& b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

// Sorted by x; at equal x only the highest y is kept.
std::vector<Vertex> best_per_x(std::vector<Vertex> v) {
  std::sort(v.begin(), v.end(),
            [](const Vertex& a, const Vertex& b) { return a.x != b.x ? a.x < b.x : a.y > b.y; });
  std::vector<Vertex> out;
  for (const auto& p : v)
    if (out.empty() || out.back().x != p.x) out.push_back(p);
  return out;
}

// Area under the polyline over [its first x, 1], cut at x = 1.
double area_to_one(const std::vector<Vertex>& v) {
  double area = 0;
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    const Vertex& a = v[i];
    const Vertex& b = v[i + 1];
    if (a.x >= 1) return area;
    if (b.x > 1) {
      double y1 = a.y + (b.y - a.y) * (1 - a.x) / (b.x - a.x);
      return area + (1 - a.x) * (a.y + y1) / 2;
    }
    area += (b.x - a.x) * (a.y + b.y) / 2;
  }
  return area;
}

}  // namespace

std::vector<Vertex> nondecreasing_hull(const std::vector<CurvePoint>& points, double max_cost) {
  if (points.empty() || !(max_cost > 0)) return {};
  std::vector<Vertex> v;
  v.reserve(points.size());
  for (const auto& p : points) v.push_back({p.cost / max_cost, p.quality});
  v = best_per_x(std::move(v));
  std::vector<Vertex> hull;
  for (const auto& p : v) {
    while (hull.size() >= 2 && cross(hull[hull.size() - 2], hull.back(), p) >= 0) hull.pop_back();
    hull.push_back(p);
  }
  // The upper hull rises to its best vertex and falls after it; keep the rising part.
  auto best = std::max_element(hull.begin(), hull.end(),
                               [](const Vertex& a, const Vertex& b) { return a.y < b.y; });
  hull.erase(best + 1, hull.end());
  return hull;
}

std::optional<double> aiq(const std::vector<CurvePoint>& points, double max_cost) {
  std::vector<Vertex> hull = nondecreasing_hull(points, max_cost);
  if (hull.empty()) return std::nullopt;
  if (hull.back().x < 1) hull.push_back({1, hull.back().y});  // flat to the largest cost
  return area_to_one(hull);
}

std::vector<Vertex> pgr_curve(const std::vector<CurvePoint>& points, double q_weak,
                              double q_strong) {
  const double gap = q_strong - q_weak;
  if (!(gap > 0)) return {};
  std::vector<Vertex> v{{0, 0}, {1, 1}};
  for (const auto& p : points) v.push_back({p.strong_share, (p.quality - q_weak) / gap});
  return best_per_x(std::move(v));
}

std::optional<double> apgr(const std::vector<CurvePoint>& points, double q_weak, double q_strong) {
  std::vector<Vertex> curve = pgr_curve(points, q_weak, q_strong);
  if (curve.empty()) return std::nullopt;
  double area = 0;
  for (std::size_t i = 0; i + 1 < curve.size(); ++i)
    area += (curve[i + 1].x - curve[i].x) * (curve[i].y + curve[i + 1].y) / 2;
  return area;
}

std::optional<double> cpt(const std::vector<CurvePoint>& points, double q_weak, double q_strong,
                          double p) {
  std::vector<Vertex> curve = pgr_curve(points, q_weak, q_strong);
  if (curve.empty()) return std::nullopt;
  if (curve.front().y >= p) return curve.front().x;
  for (std::size_t i = 0; i + 1 < curve.size(); ++i) {
    const Vertex& a = curve[i];
    const Vertex& b = curve[i + 1];
    if (a.y < p && b.y >= p) return a.x + (p - a.y) * (b.x - a.x) / (b.y - a.y);
  }
  return std::nullopt;
}

std::optional<double> quality_at_budget(const std::vector<CurvePoint>& points, double max_cost,
                                        double budget_share) {
  if (!(max_cost >= 0)) return std::nullopt;  // (0: free data — a point that costs 0 is within)
  const double budget = budget_share * max_cost * (1 + 1e-9);
  std::optional<double> best;
  for (const auto& p : points)
    if (p.cost <= budget && (!best || p.quality > *best)) best = p.quality;
  return best;
}

std::vector<CurvePoint> pareto_front(const std::vector<CurvePoint>& points) {
  std::vector<CurvePoint> sorted = points;
  std::sort(sorted.begin(), sorted.end(), [](const CurvePoint& a, const CurvePoint& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.quality > b.quality;
  });
  std::vector<CurvePoint> front;
  for (const auto& p : sorted)
    if (front.empty() || p.quality > front.back().quality) front.push_back(p);
  return front;
}

}  // namespace switchboard::eval
