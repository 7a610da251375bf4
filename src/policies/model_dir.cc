#include "policies/model_dir.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchboard::policies {
namespace {

Error bad_dir(const std::string& dir, const std::string& reason) {
  return make_error(ErrorKind::kBadRequest, "bad_model_dir",
                    "model directory " + dir + ": " + reason);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  void add(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // separator
  }
  void add(double v) { add(fmt::format("{:.17g}", v)); }
};

}  // namespace

std::string outcomes_hash(const data::Outcomes& outcomes) {
  Fnv f;
  for (const auto& r : outcomes.records) {
    f.add(r.id);
    f.add(r.task);
    for (const auto& m : r.messages) {
      f.add(m.role);
      f.add(m.content);
    }
    for (const auto& [model, o] : r.outcomes) {
      f.add(model);
      f.add(o.score);
      f.add(o.cost);
    }
  }
  return fmt::format("fnv1a64:{:016x}", f.h);
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<Error> write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return make_error(ErrorKind::kInternal, "write_failed", "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return make_error(ErrorKind::kInternal, "write_failed",
                      "cannot rename " + tmp + ": " + ec.message());
  return std::nullopt;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::kBadRequest, "bad_model_dir", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<Error> write_manifest(const std::string& dir, const Manifest& m) {
  nlohmann::json j = {
      {"format", "switchboard-policy-model"},
      {"version", m.version},
      {"policy", m.policy},
      {"models", m.models},
      {"embedding", {{"dim", m.embedding_dim}, {"provider", m.embedding_provider}}},
      {"training", {{"path", m.train_path}, {"records", m.train_records}, {"hash", m.train_hash}}},
      {"created", m.created},
      {"hyperparameters", m.hyperparameters},
  };
  if (m.objectives)
    j["objectives"] = {{"quality", m.objectives->quality},
                       {"balanced", m.objectives->balanced},
                       {"cost", m.objectives->cost}};
  if (!m.calibration.is_null()) j["calibration"] = m.calibration;
  return write_file_atomic((std::filesystem::path(dir) / "manifest.json").string(),
                           j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

namespace {
constexpr std::size_t kMaxEmbeddingDim = 65536;  // far over any sentence embedding's
}  // namespace

Result<Manifest> load_manifest(const std::string& dir, const std::string& policy,
                               const std::vector<std::string>& models) {
  const std::string path = (std::filesystem::path(dir) / "manifest.json").string();
  auto text = read_file(path);
  if (!text) return bad_dir(dir, "no manifest.json (train one with `switchboard train`)");
  Manifest m;
  try {
    auto j = nlohmann::json::parse(*text);
    if (j.value("format", "") != "switchboard-policy-model")
      return bad_dir(dir, "manifest.json is not a switchboard policy model");
    if (!j.at("version").is_number_integer())
      return bad_dir(dir,
                     "manifest.json: version must be a whole number; retrain with "
                     "`switchboard train`");
    m.version = j.at("version").get<int>();
    if (m.version != kModelDirVersion)
      return bad_dir(
          dir, fmt::format("format version {} is not supported (this build reads version {}); "
                           "retrain with `switchboard train`",
                           m.version, kModelDirVersion));
    m.policy = j.at("policy").get<std::string>();
    m.models = j.at("models").get<std::vector<std::string>>();
    m.embedding_dim = j.at("embedding").at("dim").get<std::size_t>();
    if (m.embedding_dim > kMaxEmbeddingDim)
      return bad_dir(dir, fmt::format("manifest.json: embedding.dim {} is over {}", m.embedding_dim,
                                      kMaxEmbeddingDim));
    m.embedding_provider = j.at("embedding").value("provider", "");
    m.train_path = j.at("training").value("path", "");
    m.train_records = j.at("training").value("records", std::size_t{0});
    m.train_hash = j.at("training").value("hash", "");
    m.created = j.value("created", "");
    m.hyperparameters = j.value("hyperparameters", nlohmann::json::object());
    if (!m.hyperparameters.is_object())
      return bad_dir(dir, "manifest.json: hyperparameters must be an object");
    if (j.contains("objectives")) {
      const auto& o = j["objectives"];
      Objectives obj;
      obj.quality = o.value("quality", obj.quality);
      obj.balanced = o.value("balanced", obj.balanced);
      obj.cost = o.value("cost", obj.cost);
      // λ values: the config key and the header refuse λ < 0 (a negative one prefers the
      // dearest model), so does the manifest.
      for (double l : {obj.quality, obj.balanced, obj.cost})
        if (!std::isfinite(l) || l < 0)
          return bad_dir(dir, "manifest.json: objectives must be finite numbers >= 0 (λ)");
      m.objectives = obj;
    }
    if (j.contains("calibration")) m.calibration = j["calibration"];
  } catch (const nlohmann::json::exception& e) {
    return bad_dir(dir, std::string("malformed manifest.json: ") + e.what());
  }
  if (!policy.empty() && m.policy != policy)
    return bad_dir(dir, "was trained for policy '" + m.policy + "', not '" + policy + "'");
  if (!models.empty()) {
    auto a = m.models, b = models;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b)
      return bad_dir(
          dir, "was trained for the models " + join(m.models) + " but the route may choose " +
                   join(models) +
                   "; retrain for these models (switchboard train --models) or set the route's "
                   "`models:` to the trained ones");
  }
  return m;
}

}  // namespace switchboard::policies
