// The knn policy's model: an hnswlib index (inner product over unit-length prompt embeddings, i.e.
// cosine similarity) of the training prompts, each with every model's recorded score and cost.
// A prompt's predicted quality for a model is the mean score of its k nearest training prompts
// (isotonic-calibrated on leave-one-out predictions), its predicted cost their mean cost.
//
// Files in the model directory: index.bin (hnswlib), outcomes.bin (float32 scores then costs,
// row-major rows × models), predictors.json ({k, calibration, costs}).
//
// hnswlib 0.6.2's header defines non-inline functions, so only knn_model.cc includes it.
//
// Contract: build() is deterministic for a seed (single-threaded insertion, fixed level seed).
// predict() is const and thread-safe (hnswlib searches are read-only) and does no I/O; an empty or
// wrongly sized embedding predicts the training means.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "policies/calibration.h"
#include "policies/learned.h"

namespace switchboard::policies {

class KnnModel {
 public:
  KnnModel();
  ~KnnModel();
  KnnModel(KnnModel&&) noexcept;
  KnnModel& operator=(KnnModel&&) noexcept;
  // `vectors[i]` is the embedding of table.rows[i]; all of size `dim`, unit length.
  static Result<KnnModel> build(const TrainTable& table,
                                const std::vector<std::vector<float>>& vectors, std::size_t dim,
                                std::size_t k, std::uint64_t seed);
  static Result<KnnModel> load(const std::string& dir, std::size_t dim, std::size_t n_models);
  std::optional<Error> save(const std::string& dir) const;

  // Raw (uncalibrated) mean score and mean cost per model over the k nearest rows, skipping row
  // `exclude` (for leave-one-out); k = 0 uses the model's k.
  void neighbour_means(const float* embedding, std::size_t k, std::size_t exclude,
                       std::vector<double>& score, std::vector<double>& cost) const;
  void predict(const std::vector<float>& embedding, std::size_t k,
               std::vector<ModelPrediction>& out) const;

  // Leave-one-out raw predictions of every training row, then fits the calibration.
  void fit_calibration(const std::vector<std::vector<float>>& vectors);

  std::size_t k() const { return k_; }
  std::size_t rows() const { return rows_; }

 private:
  std::size_t dim_ = 0, n_ = 0, rows_ = 0, k_ = 20;
  struct Index;  // the hnswlib space and index
  std::unique_ptr<Index> index_;
  std::vector<float> score_, cost_;  // rows × n
  std::vector<double> mean_score_, mean_cost_;
  QualityCalibration calibration_;
  std::vector<double> latency_;
};

}  // namespace switchboard::policies
