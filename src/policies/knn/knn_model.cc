#include "policies/knn/knn_model.h"

#include <hnswlib/hnswlib.h>

#include <filesystem>
#include <fstream>

namespace switchboard::policies {
struct KnnModel::Index {
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
};
KnnModel::KnnModel() = default;
KnnModel::~KnnModel() = default;
KnnModel::KnnModel(KnnModel&&) noexcept = default;
KnnModel& KnnModel::operator=(KnnModel&&) noexcept = default;

namespace {

constexpr std::size_t kEfSearch = 128;

Error bad(const std::string& m) {
  return make_error(ErrorKind::kBadRequest, "bad_model_dir", m);
}

void finish_means(std::size_t rows, std::size_t n, const std::vector<float>& score,
                  const std::vector<float>& cost, std::vector<double>& ms,
                  std::vector<double>& mc) {
  ms.assign(n, 0);
  mc.assign(n, 0);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t m = 0; m < n; ++m) ms[m] += score[i * n + m], mc[m] += cost[i * n + m];
  for (std::size_t m = 0; m < n; ++m) ms[m] /= rows, mc[m] /= rows;
}

}  // namespace

Result<KnnModel> KnnModel::build(const TrainTable& table,
                                 const std::vector<std::vector<float>>& vectors, std::size_t dim,
                                 std::size_t k, std::uint64_t seed) {
  KnnModel m;
  m.dim_ = dim;
  m.n_ = table.models.size();
  m.rows_ = table.rows.size();
  m.k_ = std::max<std::size_t>(1, std::min(k, m.rows_ - 1));
  if (vectors.size() != m.rows_) return bad("one embedding per training row is needed");
  m.index_ = std::make_unique<Index>();
  m.index_->space = std::make_unique<hnswlib::InnerProductSpace>(dim);
  m.index_->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(m.index_->space.get(), m.rows_,
                                                                     16, 200, seed);
  for (std::size_t i = 0; i < m.rows_; ++i) {
    if (vectors[i].size() != dim)
      return bad("embedding of training row " + std::to_string(i) + " has the wrong size");
    m.index_->hnsw->addPoint(vectors[i].data(), i);
  }
  m.index_->hnsw->setEf(kEfSearch);
  for (const auto& r : table.rows) {
    m.score_.insert(m.score_.end(), r.score.begin(), r.score.end());
    m.cost_.insert(m.cost_.end(), r.cost.begin(), r.cost.end());
  }
  finish_means(m.rows_, m.n_, m.score_, m.cost_, m.mean_score_, m.mean_cost_);
  CostTable ct = CostTable::fit(table);
  for (std::size_t j = 0; j < m.n_; ++j) m.latency_.push_back(ct.latency_ms(j));
  return m;
}

void KnnModel::neighbour_means(const float* embedding, std::size_t k, std::size_t exclude,
                               std::vector<double>& score, std::vector<double>& cost) const {
  if (k == 0) k = k_;
  score.assign(n_, 0);
  cost.assign(n_, 0);
  const std::size_t ask = std::min(rows_, k + (exclude < rows_ ? 1 : 0));
  auto result = index_->hnsw->searchKnn(embedding, ask);
  std::vector<std::size_t> nearest(result.size());  // the queue pops the farthest first
  for (std::size_t i = nearest.size(); i-- > 0; result.pop()) nearest[i] = result.top().second;
  std::size_t used = 0;
  for (std::size_t row : nearest) {
    if (row == exclude || used == k) continue;
    ++used;
    for (std::size_t m = 0; m < n_; ++m)
      score[m] += score_[row * n_ + m], cost[m] += cost_[row * n_ + m];
  }
  for (std::size_t m = 0; m < n_; ++m) {
    score[m] = used ? score[m] / used : mean_score_[m];
    cost[m] = used ? cost[m] / used : mean_cost_[m];
  }
}

void KnnModel::predict(const std::vector<float>& embedding, std::size_t k,
                       std::vector<ModelPrediction>& out) const {
  out.assign(n_, {});
  std::vector<double> score, cost;
  if (embedding.size() == dim_) {
    neighbour_means(embedding.data(), k, rows_, score, cost);
  } else {
    score = mean_score_;
    cost = mean_cost_;
  }
  for (std::size_t m = 0; m < n_; ++m) {
    out[m].quality = calibration_.apply(m, score[m]);
    out[m].cost = cost[m];
    out[m].latency_ms = latency_[m];
  }
}

void KnnModel::fit_calibration(const std::vector<std::vector<float>>& vectors) {
  std::vector<std::vector<float>> raw(rows_), obs(rows_);
  std::vector<double> s, c;
  for (std::size_t i = 0; i < rows_; ++i) {
    neighbour_means(vectors[i].data(), k_, i, s, c);
    raw[i].assign(s.begin(), s.end());
    obs[i].assign(score_.begin() + i * n_, score_.begin() + (i + 1) * n_);
  }
  calibration_ = QualityCalibration::fit(raw, obs, n_);
}

std::optional<Error> KnnModel::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  try {
    index_->hnsw->saveIndex((fs::path(dir) / "index.bin").string());
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "write_failed",
                      std::string("cannot write index.bin: ") + e.what());
  }
  {
    std::ofstream out((fs::path(dir) / "outcomes.bin").string(),
                      std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(score_.data()), score_.size() * sizeof(float));
    out.write(reinterpret_cast<const char*>(cost_.data()), cost_.size() * sizeof(float));
    if (!out) return make_error(ErrorKind::kInternal, "write_failed", "cannot write outcomes.bin");
  }
  nlohmann::json j = {{"k", k_},
                      {"rows", rows_},
                      {"calibration", calibration_.to_json()},
                      {"latency_ms", latency_}};
  return write_file_atomic((fs::path(dir) / "predictors.json").string(), j.dump() + "\n");
}

Result<KnnModel> KnnModel::load(const std::string& dir, std::size_t dim, std::size_t n) {
  namespace fs = std::filesystem;
  KnnModel m;
  m.dim_ = dim;
  m.n_ = n;
  auto text = read_file((fs::path(dir) / "predictors.json").string());
  if (!text) return bad("no predictors.json");
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return bad("predictors.json is not JSON");
  try {
    m.k_ = j.at("k").get<std::size_t>();
    m.rows_ = j.at("rows").get<std::size_t>();
    m.latency_ = j.at("latency_ms").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    return bad(std::string("malformed predictors.json: ") + e.what());
  }
  auto cal = QualityCalibration::from_json(j.value("calibration", nlohmann::json()), n);
  if (!cal) return cal.error();
  m.calibration_ = std::move(*cal);
  if (m.latency_.size() != n || m.rows_ == 0)
    return bad("predictors.json does not match the models");
  const std::string index_path = (fs::path(dir) / "index.bin").string();
  if (!fs::is_regular_file(index_path)) return bad("no index.bin (a regular file)");
  {
    // hnswlib trusts its header: it allocates what it says (8 edited bytes took 6 GB) and reads
    // rows at the offsets it says (16 made it read far outside its buffer). Its layout
    // (hnswalg.h saveIndex): offsetLevel0, max_elements, cur_element_count, the size of a row, the
    // label's and the vector's offsets in it (size_t each), maxlevel (int), the entry point
    // (unsigned), maxM, maxM0 (size_t). A row is its links (maxM0 ids and their count), its
    // vector (`dim` floats) and its label (size_t); rows as predictors.json says, all in the file.
    std::ifstream header(index_path, std::ios::binary);
    std::size_t fields[6] = {};
    std::int32_t max_level = 0;
    std::uint32_t entry = 0;
    std::size_t max_m[2] = {};
    header.read(reinterpret_cast<char*>(fields), sizeof fields);
    header.read(reinterpret_cast<char*>(&max_level), sizeof max_level);
    header.read(reinterpret_cast<char*>(&entry), sizeof entry);
    header.read(reinterpret_cast<char*>(max_m), sizeof max_m);
    constexpr std::size_t kHeaderBytes = 6 * sizeof(std::size_t) + 8 + 2 * sizeof(std::size_t);
    const std::size_t links = max_m[1] * sizeof(std::uint32_t) + sizeof(std::uint32_t);
    std::error_code ec;
    const auto file_size = fs::file_size(index_path, ec);
    if (!header || ec || fields[0] != 0 || fields[1] != m.rows_ || fields[2] != m.rows_ ||
        max_m[1] > 100000 || fields[5] != links ||
        fields[4] != links + dim * sizeof(float) || fields[3] != fields[4] + sizeof(std::size_t) ||
        max_level < 0 || max_level > 64 || entry >= m.rows_ ||
        fields[3] > (file_size - std::min<std::uintmax_t>(file_size, kHeaderBytes)) / m.rows_)
      return bad("index.bin does not match predictors.json (" + std::to_string(m.rows_) +
                 " rows of " + std::to_string(dim) + " dimensions)");
  }
  m.index_ = std::make_unique<Index>();
  m.index_->space = std::make_unique<hnswlib::InnerProductSpace>(dim);
  try {
    m.index_->hnsw =
        std::make_unique<hnswlib::HierarchicalNSW<float>>(m.index_->space.get(), index_path);
  } catch (const std::exception& e) {
    return bad(std::string("cannot load index.bin: ") + e.what());
  }
  if (m.index_->hnsw->cur_element_count != m.rows_)
    return bad("index.bin does not match predictors.json");
  m.index_->hnsw->setEf(kEfSearch);
  std::ifstream in((fs::path(dir) / "outcomes.bin").string(), std::ios::binary);
  m.score_.resize(m.rows_ * n);
  m.cost_.resize(m.rows_ * n);
  in.read(reinterpret_cast<char*>(m.score_.data()), m.score_.size() * sizeof(float));
  in.read(reinterpret_cast<char*>(m.cost_.data()), m.cost_.size() * sizeof(float));
  if (!in) return bad("outcomes.bin is missing or too short");
  finish_means(m.rows_, n, m.score_, m.cost_, m.mean_score_, m.mean_cost_);
  return m;
}

}  // namespace switchboard::policies
