#include "judges/verifier/model.h"

#include <cmath>
#include <cstring>
#include <filesystem>

namespace switchboard::judges::verifier {
namespace {

Error bad_dir(const std::string& dir, const std::string& why) {
  return make_error(ErrorKind::kBadRequest, "bad_model_dir", "verifier model " + dir + ": " + why);
}

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

}  // namespace

double sigmoid(double z) {
  if (z >= 0) return 1 / (1 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1 + e);
}

double VerifierModel::logit(const SparseVector& x) const {
  double z = 0;
  for (const auto& [i, v] : x) z += static_cast<double>(weights_[i]) * v;
  return z;
}

double VerifierModel::calibrate(double raw_probability) const {
  return calibration_.apply(0, raw_probability);
}

double VerifierModel::probability(const FeatureInput& in) const {
  thread_local SparseVector x;
  hasher_.features(in, x);
  return calibrate(sigmoid(logit(x)));
}

std::optional<Error> VerifierModel::save(const std::string& dir,
                                         policies::Manifest manifest) const {
  std::string bin = "SBVW";
  put_u32(bin, kWeightsVersion);
  put_u32(bin, static_cast<std::uint32_t>(hasher_.bits()));
  std::uint32_t count = 0;
  for (float w : weights_) count += w != 0;
  put_u32(bin, count);
  for (std::uint32_t i = 0; i < weights_.size(); ++i) {
    if (weights_[i] == 0) continue;
    put_u32(bin, i);
    char b[4];
    std::memcpy(b, &weights_[i], 4);
    bin.append(b, 4);
  }
  const auto base = std::filesystem::path(dir);
  if (auto e = policies::write_file_atomic((base / "weights.bin").string(), bin)) return e;
  if (auto e = policies::write_file_atomic((base / "calibration.json").string(),
                                           calibration_.to_json().dump()))
    return e;
  manifest.policy = "verifier";
  manifest.hyperparameters["bits"] = hasher_.bits();
  return policies::write_manifest(dir, manifest);
}

Result<VerifierModel> VerifierModel::load(const std::string& dir) {
  auto manifest = policies::load_manifest(dir, "verifier");
  if (!manifest) return manifest.error();
  const auto base = std::filesystem::path(dir);
  auto bin = policies::read_file((base / "weights.bin").string());
  if (!bin) return bad_dir(dir, bin.error().message);
  const std::string& b = *bin;
  auto u32 = [&b](std::size_t at) {
    std::uint32_t v = 0;
    std::memcpy(&v, b.data() + at, 4);
    return v;
  };
  if (b.size() < 16 || b.compare(0, 4, "SBVW") != 0)
    return bad_dir(dir, "weights.bin is not a verifier weights file");
  if (u32(4) != kWeightsVersion)
    return bad_dir(dir, "weights.bin has version " + std::to_string(u32(4)) + ", expected " +
                            std::to_string(kWeightsVersion));
  const std::uint32_t bits = u32(8), count = u32(12);
  if (bits < 10 || bits > 26)
    return bad_dir(dir, "weights.bin has " + std::to_string(bits) + " bits");
  if (b.size() != 16 + std::size_t{count} * 8) return bad_dir(dir, "weights.bin is truncated");
  std::vector<float> weights(std::size_t{1} << bits, 0.f);
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::uint32_t i = u32(16 + std::size_t{k} * 8);
    if (i >= weights.size()) return bad_dir(dir, "weights.bin has a bucket out of range");
    std::memcpy(&weights[i], b.data() + 16 + std::size_t{k} * 8 + 4, 4);
  }
  auto cal_text = policies::read_file((base / "calibration.json").string());
  if (!cal_text) return bad_dir(dir, cal_text.error().message);
  auto j = nlohmann::json::parse(*cal_text, nullptr, false);
  if (j.is_discarded()) return bad_dir(dir, "calibration.json is not JSON");
  auto cal = policies::QualityCalibration::from_json(j, 1);
  if (!cal) return bad_dir(dir, "calibration.json: " + cal.error().message);
  return VerifierModel(static_cast<int>(bits), std::move(weights), std::move(*cal));
}

}  // namespace switchboard::judges::verifier
