// Internals of the evaluator (eval/evaluator.h): the TEST set as a dense score/cost table, the
// reference baselines computed from outcomes, and the metrics of a curve. Exposed for unit tests.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/outcomes.h"
#include "eval/evaluator.h"

namespace switchboard::eval {

// The TEST records that have an outcome for every model, with their scores and costs in a dense
// table. A record whose whole conversation repeats an earlier one's is left out (`duplicates`):
// the recorded upstream answers a conversation with one record's answer and bill, so its score
// and cost would be another record's. Borrows the records: the Outcomes must outlive it.
class TestSet {
 public:
  // Errors (kBadRequest): no record has every model's outcome.
  static Result<TestSet> make(const data::Outcomes& test, const std::optional<std::string>& strong);

  std::vector<const data::PromptRecord*> records;
  std::vector<std::string> models;    // sorted
  std::vector<double> model_cost;     // total over records, by model index
  std::vector<double> model_quality;  // mean over records, by model index
  std::size_t duplicates = 0;         // records left out as repeating an earlier conversation

  std::optional<std::size_t> model_index(std::string_view name) const;
  double score(std::size_t record, std::size_t model) const {
    return score_[record * models.size() + model];
  }
  double cost(std::size_t record, std::size_t model) const {
    return cost_[record * models.size() + model];
  }

  // The point of a routing that sent calls[m] prompts (possibly fractional, for expected values)
  // to model m and reached these totals.
  EvalPoint point(double total_cost, double total_score, const std::vector<double>& calls,
                  std::optional<double> knob) const;
  EvalPoint point(double total_cost, double total_score, const std::vector<std::size_t>& calls,
                  std::optional<double> knob) const;

 private:
  std::optional<std::size_t> strong_;
  std::vector<double> score_, cost_;  // records × models
};

// Drops points equal in (cost, quality) to an earlier one (sweep order), then sorts by cost
// ascending and quality descending.
std::vector<EvalPoint> distinct_sorted(std::vector<EvalPoint> points);

// Every single model (by name), `random` (mixing the cheapest and the best single model),
// `random-weak-strong` (when weak and strong are named and are not that pair), `oracle` and,
// when TEST records carry task labels and TRAIN has outcomes, `task-best`.
std::vector<Curve> baselines(const data::Outcomes& train, const TestSet& test,
                             const std::optional<std::string>& weak,
                             const std::optional<std::string>& strong);

// AIQ against result.max_cost, APGR/CPT when result names strong and weak, quality at
// result.budgets.
CurveMetrics compute_metrics(const std::vector<EvalPoint>& points, const EvalResult& result);

}  // namespace switchboard::eval
