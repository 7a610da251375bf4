#include "policies/mf/mf_model.h"

#include <cmath>
#include <random>

namespace switchboard::policies {
namespace {

using Mat = Eigen::MatrixXf;
using Vec = Eigen::VectorXf;

// One Adam-updated parameter block.
struct Adam {
  Mat m, v;
  explicit Adam(const Mat& like)
      : m(Mat::Zero(like.rows(), like.cols())), v(Mat::Zero(like.rows(), like.cols())) {}
  void step(Mat& param, const Mat& grad, double lr, int t) {
    constexpr float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    m = b1 * m + (1 - b1) * grad;
    v = b2 * v + (1 - b2) * grad.cwiseProduct(grad);
    const float c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
    param.array() -= static_cast<float>(lr) * (m.array() / c1) / ((v.array() / c2).sqrt() + eps);
  }
};

Mat gaussian(int rows, int cols, float sd, std::mt19937_64& rng) {
  // Box-Muller on the engine's raw output: std::normal_distribution differs between libraries.
  Mat out(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) {
      const double u1 = (static_cast<double>(rng() >> 11) + 0.5) / 9007199254740992.0;
      const double u2 = (static_cast<double>(rng() >> 11) + 0.5) / 9007199254740992.0;
      out(i, j) = static_cast<float>(sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
    }
  return out;
}

}  // namespace

nlohmann::json MfParams::to_json() const {
  return {{"dim", dim}, {"epochs", epochs}, {"lr", lr}, {"l2", l2}};
}

MfModel MfModel::train(const TrainTable& table, const std::vector<std::vector<float>>& vectors,
                       const std::vector<std::size_t>& rows, std::size_t input_dim,
                       const MfParams& p, const std::function<void(int, int)>& tick) {
  const int n = static_cast<int>(table.models.size()), d = p.dim, D = static_cast<int>(input_dim);
  const int r = static_cast<int>(rows.size());
  Mat E(r, D), S(r, n);
  for (int i = 0; i < r; ++i) {
    for (int k = 0; k < D; ++k) E(i, k) = vectors[rows[i]][k];
    for (int m = 0; m < n; ++m) S(i, m) = table.rows[rows[i]].score[m];
  }
  std::mt19937_64 rng(p.seed);
  MfModel model;
  model.w_ = gaussian(d, D, 1.0f / std::sqrt(static_cast<float>(D)), rng);
  model.v_ = gaussian(n, d, 1.0f / std::sqrt(static_cast<float>(d)), rng);
  Mat b(n, 1);
  for (int m = 0; m < n; ++m) {  // start at the models' log-odds of answering well
    const float mean = std::clamp(S.col(m).mean(), 0.01f, 0.99f);
    b(m, 0) = std::log(mean / (1 - mean));
  }
  Adam aw(model.w_), av(model.v_), ab(b);
  for (int t = 1; t <= p.epochs; ++t) {
    Mat Z = E * model.w_.transpose();                                          // r × d
    Mat logits = (Z * model.v_.transpose()).rowwise() + b.col(0).transpose();  // r × n
    Mat G = (1.0f / (1.0f + (-logits.array()).exp())).matrix() - S;            // dLoss/dlogits
    G /= static_cast<float>(r);
    Mat gV = G.transpose() * Z + static_cast<float>(p.l2) * model.v_;
    Mat gb = G.colwise().sum().transpose();
    Mat gW = (G * model.v_).transpose() * E + static_cast<float>(p.l2) * model.w_;
    aw.step(model.w_, gW, p.lr, t);
    av.step(model.v_, gV, p.lr, t);
    ab.step(b, gb, p.lr, t);
    if (tick && (t % 25 == 0 || t == p.epochs)) tick(t, p.epochs);
  }
  model.b_ = b.col(0);
  return model;
}

void MfModel::raw(const float* embedding, std::vector<double>& out) const {
  Eigen::Map<const Vec> e(embedding, w_.cols());
  Vec z = w_ * e;
  Vec logits = v_ * z + b_;
  out.resize(static_cast<std::size_t>(logits.size()));
  for (Eigen::Index m = 0; m < logits.size(); ++m)
    out[m] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[m])));
}

nlohmann::json MfModel::to_json() const {
  auto mat = [](const Mat& m) {
    std::vector<float> flat(m.data(), m.data() + m.size());  // column-major
    return nlohmann::json{{"rows", m.rows()}, {"cols", m.cols()}, {"data", flat}};
  };
  return {
      {"W", mat(w_)}, {"V", mat(v_)}, {"b", std::vector<float>(b_.data(), b_.data() + b_.size())}};
}

Result<MfModel> MfModel::from_json(const nlohmann::json& j, std::size_t input_dim,
                                   std::size_t n_models) {
  auto bad = [](const std::string& m) {
    return make_error(ErrorKind::kBadRequest, "bad_model_dir", m);
  };
  MfModel model;
  try {
    auto mat = [](const nlohmann::json& x) {
      auto flat = x.at("data").get<std::vector<float>>();
      Mat m(x.at("rows").get<int>(), x.at("cols").get<int>());
      if (static_cast<std::size_t>(m.size()) != flat.size())
        throw std::runtime_error("matrix size");
      std::copy(flat.begin(), flat.end(), m.data());
      return m;
    };
    model.w_ = mat(j.at("W"));
    model.v_ = mat(j.at("V"));
    auto b = j.at("b").get<std::vector<float>>();
    model.b_ = Eigen::Map<Vec>(b.data(), static_cast<Eigen::Index>(b.size()));
  } catch (const std::exception& e) {
    return bad(std::string("malformed weights.json: ") + e.what());
  }
  if (static_cast<std::size_t>(model.w_.cols()) != input_dim ||
      static_cast<std::size_t>(model.v_.rows()) != n_models || model.v_.cols() != model.w_.rows() ||
      static_cast<std::size_t>(model.b_.size()) != n_models)
    return bad("weights.json does not match the manifest (embedding dim or models)");
  return model;
}

}  // namespace switchboard::policies
