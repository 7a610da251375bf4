// The mf policy's model: matrix factorisation of prompt × model outcomes in the spirit of
// RouteLLM's matrix-factorisation router, for N models instead of a strong/weak pair. Each model m
// has a vector v_m and bias b_m; a prompt's embedding e is projected by W into the same space:
//
//     P(m answers well | prompt) = σ(v_mᵀ · W · e + b_m)
//
// trained by full-batch Adam on the binary cross-entropy against the recorded scores (graded
// scores are soft labels) with L2 on W and V. Deterministic: the initial weights come from the
// seed, and the arithmetic order is fixed (Eigen, one thread).
//
// Contract: raw() is const, thread-safe, allocation-free apart from its output, no I/O.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "policies/learned.h"

namespace switchboard::policies {

struct MfParams {
  int dim = 16;      // latent dimension
  int epochs = 300;  // full-batch steps
  double lr = 0.01;  // Adam step size
  double l2 = 1e-4;  // weight decay on W and V
  std::uint64_t seed = 1;
  nlohmann::json to_json() const;
};

class MfModel {
 public:
  // Trains on table rows `rows` (vectors[i] is row i's embedding, size `input_dim`). `tick` is
  // called with (epoch, epochs) now and then; may be empty.
  static MfModel train(const TrainTable& table, const std::vector<std::vector<float>>& vectors,
                       const std::vector<std::size_t>& rows, std::size_t input_dim,
                       const MfParams& params, const std::function<void(int, int)>& tick = {});
  // P(good) per model, uncalibrated; `embedding` must have input_dim() entries.
  void raw(const float* embedding, std::vector<double>& out) const;
  std::size_t input_dim() const { return static_cast<std::size_t>(w_.cols()); }

  nlohmann::json to_json() const;
  static Result<MfModel> from_json(const nlohmann::json& j, std::size_t input_dim,
                                   std::size_t n_models);

 private:
  Eigen::MatrixXf w_;  // dim × input_dim
  Eigen::MatrixXf v_;  // n_models × dim
  Eigen::VectorXf b_;  // n_models
};

}  // namespace switchboard::policies
