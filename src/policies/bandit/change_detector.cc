#include "policies/bandit/change_detector.h"

#include <algorithm>
#include <cmath>

namespace switchboard::policies::bandit {

bool ChangeDetector::add(double residual) {
  if (!std::isfinite(residual)) return false;
  ++n;
  mean += (residual - mean) / static_cast<double>(n);
  // The first observations define μ; testing against a mean of one sample would only see noise.
  const double d = n > 1 ? residual - mean : 0.0;
  up = std::max(0.0, up + d - delta);
  down = std::max(0.0, down - d - delta);
  bias_up = std::max(0.0, bias_up + residual - bias_delta);
  bias_down = std::max(0.0, bias_down - residual - bias_delta);
  if (std::max({up, down, bias_up, bias_down}) <= threshold) return false;
  ++alarms;
  mean = up = down = bias_up = bias_down = 0;
  n = 0;
  return true;
}

nlohmann::json ChangeDetector::to_json() const {
  return {{"mean", mean},       {"up", up}, {"down", down}, {"bias_up", bias_up},
          {"bias_down", bias_down}, {"n", n},  {"alarms", alarms}};
}

bool ChangeDetector::from_json(const nlohmann::json& j) {
  try {
    mean = j.at("mean").get<double>();
    up = j.at("up").get<double>();
    down = j.at("down").get<double>();
    n = j.at("n").get<std::uint64_t>();
    alarms = j.at("alarms").get<std::uint64_t>();
    bias_up = j.value("bias_up", 0.0);
    bias_down = j.value("bias_down", 0.0);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return std::isfinite(mean) && std::isfinite(up) && std::isfinite(down) && up >= 0 && down >= 0 &&
         std::isfinite(bias_up) && std::isfinite(bias_down) && bias_up >= 0 && bias_down >= 0;
}

}  // namespace switchboard::policies::bandit
