// The verifier's model: a logistic regression over hashed features (verifier/features.h), its raw
// probability isotonic-calibrated (policies/calibration.h) so that "0.7" means right about 70% of
// the time on out-of-fold training answers. Trained by verifier/trainer.cc; stored in a versioned
// model directory (policies/model_dir.h, policy "verifier"):
//   manifest.json     format, version, models trained on, training data, hyper-parameters
//                     (bits, l2, epochs, learning_rate, cv_log_loss, cv_auc, …)
//   weights.bin       "SBVW", u32 version 1, u32 bits, u32 count, then count × (u32 bucket, f32)
//   calibration.json  QualityCalibration::to_json() of one "model" (the verifier's raw output)
//
// Contract: immutable after load()/construction; probability() is thread-safe, does no I/O and
// returns a value in [0, 1].
#pragma once

#include <string>
#include <vector>

#include "judges/verifier/features.h"
#include "policies/calibration.h"
#include "policies/model_dir.h"
#include "switchboard/result.h"

namespace switchboard::judges::verifier {

inline constexpr std::uint32_t kWeightsVersion = 1;

class VerifierModel {
 public:
  VerifierModel(int bits, std::vector<float> weights, policies::QualityCalibration calibration)
      : hasher_(bits), weights_(std::move(weights)), calibration_(std::move(calibration)) {}

  // Errors (kBadRequest, "bad_model_dir") name the directory and what is wrong.
  static Result<VerifierModel> load(const std::string& dir);
  // Writes weights.bin, calibration.json and `manifest` (its policy set to "verifier").
  std::optional<Error> save(const std::string& dir, policies::Manifest manifest) const;

  const FeatureHasher& hasher() const { return hasher_; }
  // The uncalibrated logit of a feature vector.
  double logit(const SparseVector& x) const;
  // The calibrated P(correct).
  double probability(const FeatureInput& in) const;
  double calibrate(double raw_probability) const;

 private:
  FeatureHasher hasher_;
  std::vector<float> weights_;  // hasher_.dim()
  policies::QualityCalibration calibration_;
};

double sigmoid(double z);

}  // namespace switchboard::judges::verifier
