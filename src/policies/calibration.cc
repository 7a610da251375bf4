#include "policies/calibration.h"

#include <algorithm>
#include <numeric>

namespace switchboard::policies {
namespace {

// Isotonic regression of y on x (pool adjacent violators); returns (mean x, mean y) per block.
std::vector<std::pair<double, double>> isotonic(std::vector<std::pair<double, double>> xy) {
  // Equal x with larger y first, so that equal raw values always pool into one block.
  std::sort(xy.begin(), xy.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  });
  struct Block {
    double sx, sy, n;
  };
  std::vector<Block> blocks;
  for (const auto& [x, y] : xy) {
    blocks.push_back({x, y, 1});
    while (blocks.size() > 1) {
      auto& b = blocks[blocks.size() - 1];
      auto& a = blocks[blocks.size() - 2];
      if (a.sy / a.n < b.sy / b.n) break;
      a.sx += b.sx, a.sy += b.sy, a.n += b.n;
      blocks.pop_back();
    }
  }
  std::vector<std::pair<double, double>> knots;
  for (const auto& b : blocks) knots.push_back({b.sx / b.n, b.sy / b.n});
  return knots;
}

}  // namespace

QualityCalibration QualityCalibration::fit(const std::vector<std::vector<float>>& raw,
                                           const std::vector<std::vector<float>>& score,
                                           std::size_t n_models) {
  QualityCalibration c;
  for (std::size_t m = 0; m < n_models; ++m) {
    std::vector<std::pair<double, double>> xy;
    for (std::size_t i = 0; i < raw.size(); ++i) xy.push_back({raw[i][m], score[i][m]});
    c.knots_.push_back(isotonic(std::move(xy)));
  }
  return c;
}

double QualityCalibration::apply(std::size_t model, double raw) const {
  if (model >= knots_.size() || knots_[model].empty()) return std::clamp(raw, 0.0, 1.0);
  const auto& k = knots_[model];
  if (raw <= k.front().first) return k.front().second;
  if (raw >= k.back().first) return k.back().second;
  auto hi = std::upper_bound(k.begin(), k.end(), raw,
                             [](double v, const auto& p) { return v < p.first; });
  auto lo = hi - 1;
  if (hi->first - lo->first < 1e-12) return hi->second;
  const double t = (raw - lo->first) / (hi->first - lo->first);
  return lo->second + t * (hi->second - lo->second);
}

nlohmann::json QualityCalibration::to_json() const {
  auto out = nlohmann::json::array();
  for (const auto& k : knots_) {
    auto pts = nlohmann::json::array();
    for (const auto& [x, y] : k) pts.push_back({x, y});
    out.push_back(pts);
  }
  return out;
}

Result<QualityCalibration> QualityCalibration::from_json(const nlohmann::json& j,
                                                         std::size_t n_models) {
  QualityCalibration c;
  try {
    for (const auto& pts : j) {
      std::vector<std::pair<double, double>> k;
      for (const auto& p : pts) k.push_back({p.at(0).get<double>(), p.at(1).get<double>()});
      c.knots_.push_back(std::move(k));
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_model_dir",
                      std::string("malformed calibration: ") + e.what());
  }
  if (c.knots_.size() != n_models)
    return make_error(ErrorKind::kBadRequest, "bad_model_dir",
                      "calibration does not match the models");
  return c;
}

}  // namespace switchboard::policies
