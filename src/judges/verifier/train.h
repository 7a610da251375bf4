// Training the verifier (verifier/model.h) on recorded outcomes that hold responses: one example
// per (prompt, model) with a response, labelled by its score (a soft label when the score is not
// 0/1). The prompt is what the gateway sees (policies::chat_request_for(record).prompt_text).
//
// Hyper-parameters are chosen by k-fold cross-validation inside the training data (folds by
// prompt, so one prompt's answers never sit on both sides): the L2 strength and the number of
// epochs with the lowest out-of-fold log loss. The isotonic calibration is fitted on the
// out-of-fold predictions of that choice; the final weights on all training examples.
//
// Contract: deterministic for a given seed; no I/O (the trainer in trainer.cc writes the
// directory).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/outcomes.h"
#include "judges/verifier/model.h"
#include "switchboard/result.h"

namespace switchboard::judges::verifier {

struct VerifierTrainOptions {
  int bits = 18;
  std::size_t folds = 5;
  std::vector<double> l2_grid = {1e-6, 1e-5, 1e-4};
  std::vector<int> epoch_grid = {1, 2, 4, 8};
  double learning_rate = 0.1;  // AdaGrad
  std::uint64_t seed = 1;
  std::function<void(std::string_view stage, std::size_t done, std::size_t total)> progress;
};

struct VerifierTrainReport {
  std::size_t examples = 0, prompts = 0;
  double l2 = 0;
  int epochs = 0;
  double cv_log_loss = 0, cv_auc = 0;  // of the chosen setting, out of fold, before calibration
  double cv_brier_calibrated = 0;      // out of fold, after calibration (fitted on the same folds)
  std::vector<std::pair<std::string, double>> grid;  // "l2=…,epochs=…" → out-of-fold log loss
};

struct TrainedVerifier {
  VerifierModel model;
  VerifierTrainReport report;
};

// Examples from `outcomes` for `models` (every model with a response when empty). Errors
// (kBadRequest "bad_data"): fewer than 2 prompts or no answer with a response.
Result<TrainedVerifier> train_verifier(const data::Outcomes& outcomes,
                                       const std::vector<std::string>& models,
                                       const VerifierTrainOptions& options);

// The area under the ROC curve of `score` for labels `y` ≥ 0.5 (ties counted half); 0.5 when one
// class is missing.
double roc_auc(const std::vector<double>& score, const std::vector<float>& y);

}  // namespace switchboard::judges::verifier
