#include "guard/jailbreak.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

namespace switchboard::guard {

namespace {
// Version 1: bits, bias, threshold, weights. Version 2 adds the window (words) after the threshold.
constexpr char kMagicV1[8] = {'S', 'B', 'G', 'R', 'D', 'J', 'B', '1'};
constexpr char kMagic[8] = {'S', 'B', 'G', 'R', 'D', 'J', 'B', '2'};
}  // namespace

void featurize(std::string_view text, unsigned dim_bits, Features& out) {
  thread_local TextEvents t;
  events_of(text, dim_bits, t);
  features_of(t, 0, t.words(), out);
}

JailbreakModel::JailbreakModel(unsigned dim_bits, Eigen::VectorXf weights, float bias,
                               float threshold, unsigned window_words)
    : dim_bits_(dim_bits),
      weights_(std::move(weights)),
      bias_(bias),
      threshold_(threshold),
      window_words_(window_words) {}

double JailbreakModel::score(std::string_view text) const {
  thread_local TextEvents t;
  events_of(text, dim_bits_, t);
  const double z = max_window_logit(t, window_words_, weights_.data(), bias_).logit;
  return 1.0 / (1.0 + std::exp(-z));
}

Result<bool> JailbreakModel::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(ErrorKind::kInternal, "io_error", "cannot write " + tmp);
  const std::uint32_t bits = dim_bits_;
  out.write(kMagic, sizeof kMagic);
  out.write(reinterpret_cast<const char*>(&bits), sizeof bits);
  out.write(reinterpret_cast<const char*>(&bias_), sizeof bias_);
  out.write(reinterpret_cast<const char*>(&threshold_), sizeof threshold_);
  const std::uint32_t window = window_words_;
  out.write(reinterpret_cast<const char*>(&window), sizeof window);
  out.write(reinterpret_cast<const char*>(weights_.data()),
            static_cast<std::streamsize>(weights_.size() * sizeof(float)));
  out.close();
  if (!out || std::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(ErrorKind::kInternal, "io_error", "cannot write " + path);
  return true;
}

Result<std::shared_ptr<const JailbreakModel>> JailbreakModel::load(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_model",
                      path + ": " + why +
                          " (train one with `switchboard train --policy guard --data FILE --out "
                          "DIR`)");
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("cannot open the jailbreak model");
  char magic[8];
  std::uint32_t bits = 0;
  float bias = 0, threshold = 0;
  in.read(magic, sizeof magic);
  in.read(reinterpret_cast<char*>(&bits), sizeof bits);
  in.read(reinterpret_cast<char*>(&bias), sizeof bias);
  in.read(reinterpret_cast<char*>(&threshold), sizeof threshold);
  const bool v1 = in && std::memcmp(magic, kMagicV1, sizeof magic) == 0;
  if (!in || (!v1 && std::memcmp(magic, kMagic, sizeof magic) != 0) || bits < 8 || bits > 26)
    return bad("not a jailbreak model file");
  std::uint32_t window = 0;
  if (!v1) in.read(reinterpret_cast<char*>(&window), sizeof window);
  if (!in) return bad("not a jailbreak model file");
  if (window > kMaxWindowWords) return bad("its window is over " + std::to_string(kMaxWindowWords) + " words");
  Eigen::VectorXf w(Eigen::Index{1} << bits);
  in.read(reinterpret_cast<char*>(w.data()),
          static_cast<std::streamsize>(w.size() * sizeof(float)));
  if (!in) return bad("the jailbreak model file is truncated");
  if (!std::isfinite(bias) || !w.allFinite())
    return bad("the jailbreak model holds non-finite weights");
  if (!(threshold >= 0 && threshold <= 1)) return bad("its threshold is not in [0, 1]");
  return std::shared_ptr<const JailbreakModel>(
      std::make_shared<JailbreakModel>(bits, std::move(w), bias, threshold, window));
}

Result<std::vector<LabelledText>> read_labelled_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::kBadRequest, "bad_examples", path + ": cannot open");
  std::vector<LabelledText> out;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fail = [&](const std::string& why) {
      return make_error(ErrorKind::kBadRequest, "bad_examples",
                        path + ":" + std::to_string(no) + ": " + why);
    };
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
    auto text = j.find("text");
    if (text == j.end() || !text->is_string()) return fail("\"text\" must be a string");
    auto label = j.find("label");
    if (label == j.end()) return fail("\"label\" is missing");
    bool attack;
    if (label->is_string() &&
        (*label == "attack" || *label == "jailbreak" || *label == "injection"))
      attack = true;
    else if (label->is_string() && *label == "benign")
      attack = false;
    else if (label->is_boolean())
      attack = label->get<bool>();
    else if (label->is_number_integer() && (*label == 0 || *label == 1))
      attack = *label == 1;
    else
      return fail("\"label\" must be \"attack\" or \"benign\" (or 1/0)");
    std::string group;
    if (auto g = j.find("group"); g != j.end()) {
      if (!g->is_string()) return fail("\"group\" must be a string");
      group = g->get<std::string>();
    }
    out.push_back({text->get<std::string>(), attack, std::move(group)});
  }
  return out;
}

Result<std::shared_ptr<const JailbreakModel>> train_jailbreak(
    const std::vector<LabelledText>& examples, const JailbreakTrainOptions& o) {
  if (o.window_words > kMaxWindowWords)
    return make_error(ErrorKind::kBadRequest, "bad_options",
                      "the window must be at most " + std::to_string(kMaxWindowWords) + " words");
  std::size_t pos = 0;
  for (const auto& e : examples) pos += e.attack;
  if (pos == 0 || pos == examples.size())
    return make_error(ErrorKind::kBadRequest, "bad_examples",
                      "the examples need both classes (attack and benign); got " +
                          std::to_string(pos) + " attacks of " + std::to_string(examples.size()));
  // Each example's windows; the loss is taken on its highest-scoring one, the window that decides
  // its score when served (a benign document's most suspect passage, an attack's injection).
  std::vector<TextEvents> texts(examples.size());
  for (std::size_t i = 0; i < examples.size(); ++i) events_of(examples[i].text, o.dim_bits, texts[i]);
  Features f;
  const std::size_t dim = std::size_t{1} << o.dim_bits;
  Eigen::VectorXf w = Eigen::VectorXf::Zero(static_cast<Eigen::Index>(dim));
  Eigen::VectorXf g2 = Eigen::VectorXf::Constant(static_cast<Eigen::Index>(dim), 1e-6f);
  double bias = 0, bias_g2 = 1e-6;
  // Balanced class weights.
  const double w_pos = double(examples.size()) / (2.0 * double(pos));
  const double w_neg = double(examples.size()) / (2.0 * double(examples.size() - pos));
  std::vector<std::size_t> order(examples.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t k : order) {
      const auto top = max_window_logit(texts[k], o.window_words, w.data(), bias);
      features_of(texts[k], top.first, top.stop, f);
      double z = bias;
      for (std::size_t i = 0; i < f.index.size(); ++i) z += double(w[f.index[i]]) * f.value[i];
      const double p = 1.0 / (1.0 + std::exp(-z));
      const double y = examples[k].attack ? 1.0 : 0.0;
      const double g = (p - y) * (examples[k].attack ? w_pos : w_neg);
      for (std::size_t i = 0; i < f.index.size(); ++i) {
        const auto j = f.index[i];
        const double gj = g * f.value[i] + o.l2 * w[j];
        g2[j] += static_cast<float>(gj * gj);
        w[j] -= static_cast<float>(o.learning_rate * gj / std::sqrt(double(g2[j])));
      }
      bias_g2 += g * g;
      bias -= o.learning_rate * g / std::sqrt(bias_g2);
    }
  }
  return std::shared_ptr<const JailbreakModel>(std::make_shared<JailbreakModel>(
      o.dim_bits, std::move(w), static_cast<float>(bias), static_cast<float>(o.threshold),
      o.window_words));
}

BinaryScores evaluate_jailbreak(const JailbreakModel& model,
                                const std::vector<LabelledText>& examples, double threshold) {
  BinaryScores s;
  for (const auto& e : examples) {
    const bool flagged = model.score(e.text) >= threshold;
    if (e.attack)
      (flagged ? s.tp : s.fn)++;
    else
      (flagged ? s.fp : s.tn)++;
  }
  return s;
}

Result<CrossValidation> cross_validate_jailbreak(const std::vector<LabelledText>& examples,
                                                 const JailbreakTrainOptions& options, int folds) {
  if (folds < 2 || static_cast<std::size_t>(folds) > examples.size())
    return make_error(ErrorKind::kBadRequest, "bad_examples",
                      "cross-validation needs 2 <= folds <= the number of examples (" +
                          std::to_string(examples.size()) + ")");
  // Folds by group: the groups of each kind (attack only, benign only, both) shuffled, then dealt
  // round-robin, one deal across the kinds.
  std::map<std::string, std::vector<std::size_t>> groups;
  std::vector<std::vector<std::size_t>> units;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (examples[i].group.empty())
      units.push_back({i});
    else
      groups[examples[i].group].push_back(i);
  }
  for (auto& [name, members] : groups) units.push_back(std::move(members));
  std::vector<std::vector<std::size_t>> by_kind[3];  // attack only, benign only, both
  for (auto& u : units) {
    std::size_t attacks = 0;
    for (std::size_t i : u) attacks += examples[i].attack;
    by_kind[attacks == u.size() ? 0 : attacks == 0 ? 1 : 2].push_back(std::move(u));
  }
  std::vector<int> fold(examples.size());
  std::mt19937_64 rng(options.seed ^ 0x5eedf01dull);
  std::size_t dealt = 0;
  for (auto& kind : by_kind) {
    std::shuffle(kind.begin(), kind.end(), rng);
    for (const auto& u : kind) {
      for (std::size_t i : u) fold[i] = static_cast<int>(dealt % folds);
      ++dealt;
    }
  }
  for (int k = 0; k < folds; ++k) {
    std::size_t attacks = 0, benign = 0;
    for (std::size_t i = 0; i < examples.size(); ++i)
      if (fold[i] != k) (examples[i].attack ? attacks : benign)++;
    if (attacks == 0 || benign == 0)
      return make_error(ErrorKind::kBadRequest, "bad_examples",
                        "cv=" + std::to_string(folds) + ": the training part of fold " +
                            std::to_string(k + 1) +
                            " lacks a class (too few groups of attacks or benign examples for "
                            "that many folds)");
  }
  std::vector<double> scores(examples.size());
  for (int k = 0; k < folds; ++k) {
    std::vector<LabelledText> train;
    for (std::size_t i = 0; i < examples.size(); ++i)
      if (fold[i] != k) train.push_back(examples[i]);
    auto model = train_jailbreak(train, options);
    if (!model) return model.error();
    for (std::size_t i = 0; i < examples.size(); ++i)
      if (fold[i] == k) scores[i] = (*model)->score(examples[i].text);
  }
  CrossValidation cv;
  std::vector<std::size_t> by_score(examples.size());
  std::iota(by_score.begin(), by_score.end(), 0);
  std::sort(by_score.begin(), by_score.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // AUC by ranks (Mann-Whitney), ties sharing their mean rank.
  double rank_sum = 0, positives = 0;
  for (std::size_t r = 0; r < by_score.size();) {
    std::size_t e = r;
    while (e < by_score.size() && scores[by_score[e]] == scores[by_score[r]]) ++e;
    const double mean_rank = (double(r) + double(e - 1)) / 2.0 + 1.0;
    for (std::size_t q = r; q < e; ++q)
      if (examples[by_score[q]].attack) rank_sum += mean_rank, ++positives;
    r = e;
  }
  const double negatives = double(examples.size()) - positives;
  cv.auc = (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives);
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const bool flagged = scores[i] >= options.threshold;
    if (examples[i].attack)
      (flagged ? cv.at_threshold.tp : cv.at_threshold.fn)++;
    else
      (flagged ? cv.at_threshold.fp : cv.at_threshold.tn)++;
  }
  return cv;
}

}  // namespace switchboard::guard
