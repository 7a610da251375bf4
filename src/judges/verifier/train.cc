#include "judges/verifier/train.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "policies/route_input.h"

namespace switchboard::judges::verifier {
namespace {

struct Example {
  SparseVector x;
  float y = 0;
  std::size_t prompt = 0;  // index of its prompt, for the folds
};

// AdaGrad on the logistic loss with L2, over `rows` in a seeded shuffled order per epoch; calls
// `after_epoch(e)` after epoch e (1-based).
void fit(const std::vector<Example>& data, const std::vector<std::size_t>& rows, double l2,
         int epochs, double lr, std::uint64_t seed, std::vector<float>& w,
         const std::function<void(int)>& after_epoch) {
  std::vector<float> g2(w.size(), 0.f);
  std::vector<std::size_t> order = rows;
  std::mt19937_64 rng(seed);
  for (int e = 1; e <= epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t r : order) {
      const Example& ex = data[r];
      double z = 0;
      for (const auto& [i, v] : ex.x) z += static_cast<double>(w[i]) * v;
      const double err = sigmoid(z) - ex.y;
      for (const auto& [i, v] : ex.x) {
        const double g = err * v + l2 * w[i];
        g2[i] += static_cast<float>(g * g);
        w[i] -= static_cast<float>(lr * g / std::sqrt(g2[i] + 1e-8));
      }
    }
    if (after_epoch) after_epoch(e);
  }
}

double log_loss(const std::vector<double>& p, const std::vector<float>& y) {
  double s = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double q = std::clamp(p[i], 1e-6, 1 - 1e-6);
    s -= y[i] * std::log(q) + (1 - y[i]) * std::log(1 - q);
  }
  return p.empty() ? 0 : s / static_cast<double>(p.size());
}

}  // namespace

double roc_auc(const std::vector<double>& score, const std::vector<float>& y) {
  std::vector<std::size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](auto a, auto b) { return score[a] < score[b]; });
  double pos = 0, neg = 0, rank_sum = 0;
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j < idx.size() && score[idx[j]] == score[idx[i]]) ++j;
    const double mid_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;
    for (std::size_t k = i; k < j; ++k)
      if (y[idx[k]] >= 0.5f) rank_sum += mid_rank;
    i = j;
  }
  for (float v : y) (v >= 0.5f ? pos : neg) += 1;
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

Result<TrainedVerifier> train_verifier(const data::Outcomes& outcomes,
                                       const std::vector<std::string>& models,
                                       const VerifierTrainOptions& options) {
  const FeatureHasher hasher(options.bits);
  std::vector<Example> data;
  std::size_t prompts = 0;
  const std::size_t total = outcomes.records.size();
  for (std::size_t r = 0; r < total; ++r) {
    const auto& rec = outcomes.records[r];
    auto chat = policies::chat_request_for(rec, "train");
    if (!chat)
      return make_error(ErrorKind::kBadRequest, "bad_data",
                        "prompt '" + rec.id + "': " + chat.error().message);
    bool any = false;
    for (const auto& [model, o] : rec.outcomes) {
      if (!o.response) continue;
      if (!models.empty() && std::find(models.begin(), models.end(), model) == models.end())
        continue;
      Example ex;
      hasher.features({chat->prompt_text, *o.response, model, ""}, ex.x);
      ex.y = static_cast<float>(o.score);
      ex.prompt = prompts;
      data.push_back(std::move(ex));
      any = true;
    }
    prompts += any;
    if (options.progress && (r % 256 == 0 || r + 1 == total))
      options.progress("features", r + 1, total);
  }
  if (prompts < 2 || data.empty())
    return make_error(ErrorKind::kBadRequest, "bad_data",
                      "the verifier needs recorded responses on at least 2 prompts (found " +
                          std::to_string(prompts) + ")");
  std::vector<float> y(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) y[i] = data[i].y;

  const std::size_t folds = std::max<std::size_t>(2, std::min(options.folds, prompts));
  const int max_epochs = *std::max_element(options.epoch_grid.begin(), options.epoch_grid.end());
  // oof[l2 index][epochs index][example]
  std::vector<std::vector<std::vector<double>>> oof(
      options.l2_grid.size(), std::vector<std::vector<double>>(options.epoch_grid.size(),
                                                               std::vector<double>(data.size())));
  std::size_t step = 0;
  const std::size_t steps = options.l2_grid.size() * folds;
  for (std::size_t li = 0; li < options.l2_grid.size(); ++li) {
    for (std::size_t f = 0; f < folds; ++f) {
      std::vector<std::size_t> train_rows, test_rows;
      for (std::size_t i = 0; i < data.size(); ++i)
        (policies::in_fold(data[i].prompt, f, folds) ? test_rows : train_rows).push_back(i);
      std::vector<float> w(hasher.dim(), 0.f);
      fit(data, train_rows, options.l2_grid[li], max_epochs, options.learning_rate,
          options.seed + f, w, [&](int e) {
            for (std::size_t ei = 0; ei < options.epoch_grid.size(); ++ei) {
              if (options.epoch_grid[ei] != e) continue;
              for (std::size_t i : test_rows) {
                double z = 0;
                for (const auto& [b, v] : data[i].x) z += static_cast<double>(w[b]) * v;
                oof[li][ei][i] = sigmoid(z);
              }
            }
          });
      if (options.progress) options.progress("cross-validation", ++step, steps);
    }
  }
  TrainedVerifier out{VerifierModel(options.bits, {}, {}), {}};
  auto& rep = out.report;
  rep.examples = data.size();
  rep.prompts = prompts;
  double best = std::numeric_limits<double>::infinity();
  std::size_t bl = 0, be = 0;
  for (std::size_t li = 0; li < options.l2_grid.size(); ++li)
    for (std::size_t ei = 0; ei < options.epoch_grid.size(); ++ei) {
      const double loss = log_loss(oof[li][ei], y);
      char name[64];
      std::snprintf(name, sizeof name, "l2=%g,epochs=%d", options.l2_grid[li],
                    options.epoch_grid[ei]);
      rep.grid.emplace_back(name, loss);
      if (loss < best) best = loss, bl = li, be = ei;
    }
  rep.l2 = options.l2_grid[bl];
  rep.epochs = options.epoch_grid[be];
  rep.cv_log_loss = best;
  rep.cv_auc = roc_auc(oof[bl][be], y);

  std::vector<std::vector<float>> raw(data.size(), std::vector<float>(1)),
      score(data.size(), std::vector<float>(1));
  for (std::size_t i = 0; i < data.size(); ++i) {
    raw[i][0] = static_cast<float>(oof[bl][be][i]);
    score[i][0] = y[i];
  }
  auto calibration = policies::QualityCalibration::fit(raw, score, 1);
  double brier = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double p = calibration.apply(0, oof[bl][be][i]);
    brier += (p - y[i]) * (p - y[i]);
  }
  rep.cv_brier_calibrated = brier / static_cast<double>(data.size());

  std::vector<std::size_t> all(data.size());
  std::iota(all.begin(), all.end(), 0);
  std::vector<float> w(hasher.dim(), 0.f);
  fit(data, all, rep.l2, rep.epochs, options.learning_rate, options.seed, w, {});
  if (options.progress) options.progress("final fit", 1, 1);
  out.model = VerifierModel(options.bits, std::move(w), std::move(calibration));
  return out;
}

}  // namespace switchboard::judges::verifier
