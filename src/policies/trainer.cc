#include "policies/trainer.h"

#include <cmath>

namespace switchboard::policies {

std::vector<double> default_lambda_sweep() {
  constexpr int kLogPoints = 39;
  constexpr double kFromExp = -1, kToExp = 5;
  std::vector<double> out{0.0};
  for (int i = 0; i < kLogPoints; ++i)
    out.push_back(std::pow(10.0, kFromExp + (kToExp - kFromExp) * i / (kLogPoints - 1)));
  return out;
}

}  // namespace switchboard::policies
