// Quality–cost metrics of a routing policy's operating points on recorded outcomes.
//
// A policy evaluated at several settings of its knob (λ or a threshold) gives a set of points
// (total cost on the test set, mean score, share of calls sent to the "strong" model). The metrics
// here summarise such a set; docs/evaluation.md states each definition and its assumptions.
// All functions are pure, take points in any order and never throw; a metric that is undefined for
// its input is std::nullopt.
#pragma once

#include <optional>
#include <vector>

namespace switchboard::eval {

struct CurvePoint {
  double cost = 0;          // total USD over the test prompts
  double quality = 0;       // mean score over the test prompts, in [0, 1]
  double strong_share = 0;  // share of prompts routed to the strong model, in [0, 1]
};

// A vertex of a piecewise-linear curve.
struct Vertex {
  double x = 0;
  double y = 0;
  bool operator==(const Vertex&) const = default;
};

// The non-decreasing upper convex hull of the points in (cost / max_cost, quality): the upper
// concave envelope starting at the cheapest point (the best quality among the cheapest), up to its
// highest-quality vertex (the cheapest such). Vertices in increasing x. Empty for no points or
// max_cost <= 0.
std::vector<Vertex> nondecreasing_hull(const std::vector<CurvePoint>& points, double max_cost);

// AIQ (RouterBench, Hu et al. 2024): the area under the non-decreasing hull over normalised cost
// x in [0, 1], divided by the range (1). The hull contributes nothing left of its cheapest point
// and extends flat from its last vertex to x = 1; anything beyond x = 1 is cut off.
// nullopt when there are no points or max_cost <= 0.
std::optional<double> aiq(const std::vector<CurvePoint>& points, double max_cost);

// The PGR curve (RouteLLM, Ong et al. 2024): vertices (strong_share, (quality - q_weak) /
// (q_strong - q_weak)), with the anchors (0, 0) (all weak) and (1, 1) (all strong) added, sorted
// by share; where several points share a share, the best PGR is kept. Empty when
// q_strong <= q_weak (no gap to recover).
std::vector<Vertex> pgr_curve(const std::vector<CurvePoint>& points, double q_weak,
                              double q_strong);

// APGR: the area under the PGR curve over share in [0, 1] (linear between vertices).
std::optional<double> apgr(const std::vector<CurvePoint>& points, double q_weak, double q_strong);

// CPT(p): the least strong-call share at which the linearly interpolated PGR curve reaches p
// (e.g. 0.5 for CPT(50%)). nullopt when the gap is not positive or the curve never reaches p.
std::optional<double> cpt(const std::vector<CurvePoint>& points, double q_weak, double q_strong,
                          double p);

// The best mean score among the points whose total cost is at most budget_share * max_cost
// (with a relative tolerance of 1e-9 for rounding). nullopt when no point is that cheap or
// max_cost <= 0.
std::optional<double> quality_at_budget(const std::vector<CurvePoint>& points, double max_cost,
                                        double budget_share);

// The points not dominated by another (no other point is at most as costly and strictly better,
// or strictly cheaper and at least as good), sorted by cost; equal points appear once.
std::vector<CurvePoint> pareto_front(const std::vector<CurvePoint>& points);

}  // namespace switchboard::eval
