#include "eval/calibrate.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <optional>

#include "pipeline/runtime.h"
#include "policies/route_input.h"

namespace switchboard::eval {
namespace {

Error bad(std::string message) {
  return make_error(ErrorKind::kBadRequest, "bad_target", std::move(message));
}

std::optional<double> parse_number(const std::string& s) {
  try {
    std::size_t used = 0;
    double v = std::stod(s, &used);
    if (used == s.size() && std::isfinite(v) && v >= 0) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

std::string CalibrationTarget::to_string() const {
  switch (kind) {
    case Kind::kShare:
      return fmt::format("share:{}={:g}", model, value);
    case Kind::kCostPer1k:
      return fmt::format("cost-per-1k:{:g}", value);
    case Kind::kMinScore:
      return fmt::format("min-score:{:g}", value);
  }
  return "";
}

Result<CalibrationTarget> parse_target(const std::string& text) {
  const std::string syntax =
      "a target is share:MODEL=X (X in [0,1]), cost-per-1k:USD or min-score:S (S in [0,1])";
  auto colon = text.find(':');
  if (colon == std::string::npos) return bad("bad target '" + text + "': " + syntax);
  const std::string kind = text.substr(0, colon), rest = text.substr(colon + 1);
  CalibrationTarget t;
  std::optional<double> v;
  if (kind == "share") {
    auto eq = rest.rfind('=');
    if (eq == std::string::npos || eq == 0) return bad("bad target '" + text + "': " + syntax);
    t.kind = CalibrationTarget::Kind::kShare;
    t.model = rest.substr(0, eq);
    v = parse_number(rest.substr(eq + 1));
    if (v && *v > 1) v.reset();
  } else if (kind == "cost-per-1k") {
    t.kind = CalibrationTarget::Kind::kCostPer1k;
    v = parse_number(rest);
  } else if (kind == "min-score") {
    t.kind = CalibrationTarget::Kind::kMinScore;
    v = parse_number(rest);
    if (v && *v > 1) v.reset();
  } else {
    return bad("bad target '" + text + "': " + syntax);
  }
  if (!v) return bad("bad target '" + text + "': " + syntax);
  t.value = *v;
  return t;
}

double OperatingPoint::value(const CalibrationTarget& t) const {
  switch (t.kind) {
    case CalibrationTarget::Kind::kShare: {
      auto it = shares.find(t.model);
      return it == shares.end() ? 0 : it->second;
    }
    case CalibrationTarget::Kind::kCostPer1k:
      return cost_per_1k;
    case CalibrationTarget::Kind::kMinScore:
      return mean_score;
  }
  return 0;
}

Result<std::function<OperatingPoint(double)>> operating_points(
    const pipeline::Runtime& runtime, const std::string& route,
    const std::vector<const data::PromptRecord*>& records, std::shared_ptr<std::string> error) {
  struct Prepared {
    std::vector<api::ChatRequest> requests;
    std::vector<Signals> signals;
  };
  auto prep = std::make_shared<Prepared>();
  for (const auto* r : records) {
    auto chat = policies::chat_request_for(*r, route);
    if (!chat) return bad("prompt '" + r->id + "': " + chat.error().message);
    prep->requests.push_back(std::move(*chat));
  }
  for (const auto& req : prep->requests) prep->signals.push_back(runtime.signals_for(req));
  return std::function<OperatingPoint(double)>(
      [&runtime, route, &records, prep, error](double lambda) {
        OperatingPoint p;
        if (records.empty() || !error->empty()) return p;
        for (std::size_t i = 0; i < records.size(); ++i) {
          RouteRequest rr = pipeline::route_request(prep->requests[i], lambda);
          auto d = runtime.decide(route, rr, prep->signals[i]);
          if (!d) {
            *error = "prompt '" + records[i]->id + "': " + d.error().message;
            return OperatingPoint{};
          }
          auto it = records[i]->outcomes.find(d->plan.model);
          if (it == records[i]->outcomes.end()) {
            *error = "prompt '" + records[i]->id + "' has no outcome for '" + d->plan.model + "'";
            return OperatingPoint{};
          }
          p.mean_score += it->second.score;
          p.score_se += it->second.score * it->second.score;  // sum of squares until the end
          p.cost_per_1k += it->second.cost;
          p.shares[d->plan.model] += 1;
        }
        const double n = static_cast<double>(records.size());
        p.mean_score /= n;
        const double var = std::max(0.0, p.score_se / n - p.mean_score * p.mean_score);
        p.score_se = n > 1 ? std::sqrt(var / (n - 1)) : 0;
        p.cost_per_1k *= 1000.0 / n;
        for (auto& [m, s] : p.shares) s /= n;
        return p;
      });
}

Result<CalibrationResult> calibrate(const std::function<OperatingPoint(double)>& at,
                                    const CalibrationTarget& t) {
  // ok(λ): the target holds. For share and cost it holds from some λ upwards (find the smallest);
  // for min-score it holds up to some λ (find the largest).
  const bool upper = t.kind == CalibrationTarget::Kind::kMinScore;
  auto ok = [&](const OperatingPoint& p) {
    const double v = p.value(t);
    return upper ? v - p.score_se >= t.value - 1e-12 : v <= t.value + 1e-12;
  };
  constexpr double kLo = -3, kHi = 7;  // log10 λ
  auto eval_at = [&](double lambda) { return CalibrationResult{lambda, at(lambda), 0}; };
  auto finish = [&](CalibrationResult r) {
    r.achieved = r.point.value(t);
    return r;
  };
  CalibrationResult zero = eval_at(0), high = eval_at(std::pow(10.0, kHi));
  if (upper) {
    if (ok(high.point)) return finish(high);
    if (!ok(zero.point))
      return bad(fmt::format("target {} cannot be met: the best reached is {:.6g} at lambda 0",
                             t.to_string(), zero.point.value(t)));
  } else {
    if (ok(zero.point)) return finish(zero);
    if (!ok(high.point))
      return bad(fmt::format("target {} cannot be met: the least reached is {:.6g} at lambda 1e7",
                             t.to_string(), high.point.value(t)));
  }
  // The curve is not exactly monotone (decisions flip prompt by prompt), so a plain bisection could
  // stop at any crossing, possibly at the edge of a cliff. Scan a grid from λ = 1e-3 upwards to the
  // first crossing — the first λ meeting a share/cost target, or the last λ before a min-score
  // target first fails — then bisect between the two grid points around it.
  constexpr int kGrid = 100;
  double good = 0, other = 0;
  CalibrationResult best = zero;
  bool found = false;
  double prev =
      -std::numeric_limits<double>::infinity();  // log10 λ of the previous grid point (λ=0)
  for (int i = 0; i <= kGrid && !found; ++i) {
    const double e = kLo + (kHi - kLo) * i / kGrid;
    CalibrationResult r = eval_at(std::pow(10.0, e));
    if (upper) {
      if (ok(r.point)) {
        best = r;
        prev = e;
        continue;
      }
      good = prev, other = e;
    } else {
      if (!ok(r.point)) {
        prev = e;
        continue;
      }
      best = r;
      good = e, other = prev;
    }
    found = true;
  }
  if (!found) return finish(best);
  if (!std::isfinite(good) || !std::isfinite(other)) return finish(best);  // crossing next to λ = 0
  for (int i = 0; i < 30 && std::abs(good - other) > 1e-4; ++i) {
    const double mid = (good + other) / 2;
    CalibrationResult r = eval_at(std::pow(10.0, mid));
    if (ok(r.point)) {
      good = mid;
      best = r;
    } else {
      other = mid;
    }
  }
  return finish(best);
}

}  // namespace switchboard::eval
