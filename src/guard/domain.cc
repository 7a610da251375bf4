#include "guard/domain.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "signals/extractor.h"
#include "signals/glove_shared.h"

namespace switchboard::guard {

Result<std::shared_ptr<const DomainModel>> DomainModel::build(
    std::shared_ptr<const signals::GloveTable> glove, const std::vector<std::string>& examples,
    const DomainOptions& options) {
  std::shared_ptr<DomainModel> m(new DomainModel());
  m->glove_ = std::move(glove);
  m->k_ = std::max(1, options.k);
  const auto d = static_cast<Eigen::Index>(m->glove_->dim());
  std::vector<float> v;
  std::vector<std::vector<float>> kept;
  for (const auto& e : examples) {
    if (m->glove_->embed(e, v) == 0) continue;
    kept.push_back(v);
  }
  if (kept.size() < static_cast<std::size_t>(m->k_) + 1)
    return make_error(
        ErrorKind::kBadRequest, "bad_domain",
        "the domain has " + std::to_string(kept.size()) +
            " examples with known words; it needs at least k + 1 = " + std::to_string(m->k_ + 1));
  m->rows_.resize(static_cast<Eigen::Index>(kept.size()), d);
  for (std::size_t i = 0; i < kept.size(); ++i)
    m->rows_.row(static_cast<Eigen::Index>(i)) =
        Eigen::Map<const Eigen::RowVectorXf>(kept[i].data(), d);
  const Eigen::Index n = m->rows_.rows();
  const int r = std::clamp(options.remove_components, 0, static_cast<int>(d) - 1);
  m->components_.resize(d, r);
  if (r > 0) {
    const Eigen::MatrixXf cov = m->rows_.transpose() * m->rows_;  // d x d
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXf> eig(cov);      // ascending eigenvalues
    m->components_ = eig.eigenvectors().rightCols(r);
    for (Eigen::Index i = 0; i < n; ++i) {
      Eigen::VectorXf v = m->rows_.row(i).transpose();
      m->project(v);
      m->rows_.row(i) = v.transpose();
    }
  }
  // Leave-one-out distances, in blocks of rows (n^2 similarities, never all in memory).
  constexpr Eigen::Index kBlock = 256;
  m->loo_.reserve(static_cast<std::size_t>(n));
  for (Eigen::Index b = 0; b < n; b += kBlock) {
    const Eigen::Index rows = std::min(kBlock, n - b);
    Eigen::MatrixXf sims = m->rows_ * m->rows_.middleRows(b, rows).transpose();  // n x rows
    for (Eigen::Index c = 0; c < rows; ++c) {
      Eigen::VectorXf col = sims.col(c);
      m->loo_.push_back(m->mean_top_k(col, b + c));
    }
  }
  std::sort(m->loo_.begin(), m->loo_.end());
  if (options.threshold) {
    m->threshold_ = *options.threshold;
  } else {
    const double q = std::clamp(options.quantile, 0.0, 1.0);
    const auto at = static_cast<std::size_t>(
        std::min<double>(double(m->loo_.size() - 1), std::ceil(q * double(m->loo_.size())) - 1));
    m->threshold_ = m->loo_[std::max<std::size_t>(at, 0)];
  }
  return std::shared_ptr<const DomainModel>(std::move(m));
}

double DomainModel::mean_top_k(const Eigen::VectorXf& sims, Eigen::Index skip) const {
  // The k largest similarities (k is small: a bounded insertion list).
  float top[64];
  const int k = std::min(k_, 64);
  int have = 0;
  for (Eigen::Index i = 0; i < sims.size(); ++i) {
    if (i == skip) continue;
    const float s = sims[i];
    if (have < k) {
      int j = have++;
      while (j > 0 && top[j - 1] < s) {
        top[j] = top[j - 1];
        --j;
      }
      top[j] = s;
    } else if (s > top[k - 1]) {
      int j = k - 1;
      while (j > 0 && top[j - 1] < s) {
        top[j] = top[j - 1];
        --j;
      }
      top[j] = s;
    }
  }
  double sum = 0;
  for (int i = 0; i < have; ++i) sum += top[i];
  return have ? 1.0 - sum / have : 1.0;
}

void DomainModel::project(Eigen::Ref<Eigen::VectorXf> v) const {
  if (components_.cols() > 0) v -= components_ * (components_.transpose() * v);
  const float norm = v.norm();
  if (norm > 0) v /= norm;
}

double DomainModel::distance(std::string_view text) const {
  thread_local std::vector<float> v;
  if (glove_->embed(text, v) == 0) return 1.0;
  Eigen::Map<Eigen::VectorXf> q(v.data(), static_cast<Eigen::Index>(v.size()));
  project(q);
  const Eigen::VectorXf sims = rows_ * q;
  return mean_top_k(sims, -1);
}

Result<std::vector<std::string>> read_domain_examples(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::kBadRequest, "bad_domain", path + ": cannot open");
  std::vector<std::string> out;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fail = [&](const std::string& why) {
      return make_error(ErrorKind::kBadRequest, "bad_domain",
                        path + ":" + std::to_string(no) + ": " + why);
    };
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
    if (auto t = j.find("text"); t != j.end() && t->is_string()) {
      out.push_back(t->get<std::string>());
    } else if (auto p = j.find("prompt"); p != j.end() && p->is_string()) {
      out.push_back(p->get<std::string>());
    } else if (auto ms = j.find("messages"); ms != j.end() && ms->is_array()) {
      std::string text;
      for (const auto& m : *ms) {
        if (!m.is_object() || m.value("role", "") != "user") continue;
        auto c = m.find("content");
        if (c == m.end() || !c->is_string()) continue;
        if (!text.empty()) text += '\n';
        text += c->get<std::string>();
      }
      out.push_back(std::move(text));
    } else {
      return fail("needs a \"text\" or \"prompt\" string, or \"messages\"");
    }
  }
  return out;
}

Result<std::shared_ptr<const signals::GloveTable>> shared_glove(const std::string& weights_dir) {
  return signals::shared_glove(weights_dir);
}

}  // namespace switchboard::guard
