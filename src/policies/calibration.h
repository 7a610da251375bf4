// Calibration of a learned policy's raw quality predictions: per model, a monotone map from the
// raw prediction to the observed mean score (isotonic regression by pool-adjacent-violators, then
// linear interpolation between the pooled blocks), fitted on out-of-fold predictions of the
// training set. It makes "predicted quality 0.7" mean "answers well about 70% of the time", so that
// λ trades quality points against dollars the same way for every policy.
//
// Contract: immutable after fit()/from_json(); apply() is thread-safe and returns a value in
// [0,1]. An empty calibration (no fit) is the identity (clamped to [0,1]).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::policies {

class QualityCalibration {
 public:
  // raw[i][m] and score[i][m]: out-of-fold prediction and observed score of row i for model m.
  static QualityCalibration fit(const std::vector<std::vector<float>>& raw,
                                const std::vector<std::vector<float>>& score, std::size_t n_models);
  double apply(std::size_t model, double raw) const;
  nlohmann::json to_json() const;
  static Result<QualityCalibration> from_json(const nlohmann::json& j, std::size_t n_models);

 private:
  std::vector<std::vector<std::pair<double, double>>> knots_;  // per model, by raw value
};

// Which of `n` rows go to fold `f` of `folds` (a fixed interleaving: row i is in fold i % folds).
inline bool in_fold(std::size_t row, std::size_t fold, std::size_t folds) {
  return row % folds == fold;
}

}  // namespace switchboard::policies
