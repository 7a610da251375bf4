// One arm of a disjoint linear bandit (LinUCB, Li et al. 2010; linear Thompson sampling): a ridge
// regression of the reward on the context x, kept as A⁻¹ and b with
//
//     A = P + Σ x xᵀ,   b = Σ r x,   θ = A⁻¹ b,   P = diag(prior, …, prior, bias_prior)
//
// updated in O(d²) per observation by Sherman–Morrison. With a discount γ < 1 (non-stationary
// rewards: D-LinUCB, Russac et al. 2019) each update first weighs the past by γ and restores the
// prior's share, A = γ·A + (1−γ)·P + x xᵀ, b = γ·b + r·x, so the arm remembers about
// 1/(1−γ) of its observations; A⁻¹ is then refactored (O(d³)). mean(x) = θᵀx is the predicted
// reward and width(x) = sqrt(xᵀA⁻¹x) its confidence width: LinUCB adds α·width, Thompson sampling
// draws θᵀx + v·width·N(0,1) (the exact marginal of θᵀx under the Gaussian posterior N(θ, v²A⁻¹)).
//
// Contract: a value type; update() returns a new arm (the state is swapped as immutable snapshots).
#pragma once

#include <Eigen/Dense>
#include <cstdint>

namespace switchboard::policies::bandit {

struct LinearArm {
  Eigen::VectorXd p;      // the prior's diagonal P (the last entry is the bias term's)
  Eigen::MatrixXd a;      // d × d
  Eigen::MatrixXd a_inv;  // d × d
  Eigen::VectorXd b;      // d
  Eigen::VectorXd theta;  // A⁻¹ b, cached
  std::uint64_t n = 0;    // observations

  // bias_prior ≤ 0: the same as prior.
  static LinearArm make(std::size_t dim, double prior, double bias_prior = 0);
  // (Unchanged when `x` or `reward` is not finite.)
  LinearArm updated(const Eigen::VectorXd& x, double reward, double discount = 1) const;
  double mean(const Eigen::VectorXd& x) const { return theta.dot(x); }
  double width(const Eigen::VectorXd& x) const;
};

}  // namespace switchboard::policies::bandit
