#include "policies/bandit/linear_arm.h"

#include <algorithm>
#include <cmath>

namespace switchboard::policies::bandit {

LinearArm LinearArm::make(std::size_t dim, double prior, double bias_prior) {
  LinearArm arm;
  const auto d = static_cast<Eigen::Index>(dim);
  arm.p = Eigen::VectorXd::Constant(d, prior);
  if (bias_prior > 0 && d > 0) arm.p[d - 1] = bias_prior;
  arm.a = arm.p.asDiagonal();
  arm.a_inv = arm.p.cwiseInverse().asDiagonal();
  arm.b = Eigen::VectorXd::Zero(d);
  arm.theta = Eigen::VectorXd::Zero(d);
  return arm;
}

LinearArm LinearArm::updated(const Eigen::VectorXd& x, double reward, double discount) const {
  // A context or reward that is not finite would make the arm NaN for good (and a NaN estimate
  // compares as no number does): such an observation teaches nothing.
  if (!x.allFinite() || !std::isfinite(reward)) return *this;
  LinearArm next;
  next.p = p;
  if (discount < 1) {
    const auto d = a.rows();
    next.a = discount * a + x * x.transpose();
    next.a.diagonal() += (1 - discount) * p;
    next.a_inv = next.a.llt().solve(Eigen::MatrixXd::Identity(d, d));
    next.b = discount * b + reward * x;
    next.theta = next.a_inv * next.b;
    next.n = n + 1;
    return next;
  }
  next.a = a + x * x.transpose();
  // Sherman–Morrison: (A + x xᵀ)⁻¹ = A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x)   (A⁻¹ symmetric)
  const Eigen::VectorXd ax = a_inv * x;
  next.a_inv = a_inv - (ax * ax.transpose()) / (1.0 + x.dot(ax));
  next.b = b + reward * x;
  next.theta = next.a_inv * next.b;
  next.n = n + 1;
  return next;
}

double LinearArm::width(const Eigen::VectorXd& x) const {
  return std::sqrt(std::max(0.0, x.dot(a_inv * x)));
}

}  // namespace switchboard::policies::bandit
