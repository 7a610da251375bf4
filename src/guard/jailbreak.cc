#include "guard/jailbreak.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

namespace switchboard::guard {

namespace {
constexpr char kMagic[8] = {'S', 'B', 'G', 'R', 'D', 'J', 'B', '1'};
// Weight of a character n-gram relative to a word: 0.1 was best of {1, 0.5, 0.25, 0.1, 0} in 5-fold
// cross-validation on tests/data/guard/train.jsonl (F1 0.857 vs 0.832 at 1).
constexpr float kCharGramWeight = 0.1f;

std::uint64_t fnv(std::string_view s, std::uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}
std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

bool word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}
}  // namespace

void featurize(std::string_view text, unsigned dim_bits, Features& out) {
  out.index.clear();
  out.value.clear();
  std::string lowered;
  if (text.size() > kMaxScoredBytes) {
    lowered.append(text.substr(0, kMaxScoredBytes / 2));
    lowered += ' ';
    lowered.append(text.substr(text.size() - kMaxScoredBytes / 2));
  } else {
    lowered.assign(text);
  }
  for (char& c : lowered)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  const std::uint32_t mask = (1u << dim_bits) - 1;
  // Weighted counts per hashed index in an open-addressing table (no sort: one pass): words,
  // bigrams and marks weigh 1, character n-grams kCharGramWeight.
  thread_local std::vector<std::uint32_t> keys;  // index + 1; 0 = empty
  thread_local std::vector<float> weights;
  std::size_t cap = 1024;
  while (cap < lowered.size() * 8) cap <<= 1;
  if (keys.size() < cap) {
    keys.assign(cap, 0);
    weights.assign(cap, 0);
  }
  const std::size_t slot_mask = cap - 1;
  std::vector<std::uint32_t>& idx = out.index;  // the distinct indices, in first-seen order
  auto add = [&](std::uint64_t h, float weight) {
    const auto key = static_cast<std::uint32_t>(h) & mask;
    std::size_t slot = (key * 0x9E3779B1u) & slot_mask;
    while (keys[slot] != 0 && keys[slot] != key + 1) slot = (slot + 1) & slot_mask;
    if (keys[slot] == 0) {
      keys[slot] = key + 1;
      idx.push_back(key);
    }
    weights[slot] += weight;
  };
  std::uint64_t prev = 0;
  std::size_t i = 0;
  const std::size_t n = lowered.size();
  while (i < n) {
    while (i < n && !word_byte(static_cast<unsigned char>(lowered[i]))) {
      // Punctuation marks that attacks lean on count as tokens of their own.
      const char c = lowered[i];
      if (c == '#' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' || c == '}' ||
          c == '|' || c == '*' || c == '=')
        add(mix(fnv(std::string_view(&c, 1), 7)), 1.0f);
      ++i;
    }
    if (i >= n) break;
    std::size_t j = i;
    while (j < n && word_byte(static_cast<unsigned char>(lowered[j]))) ++j;
    const std::string_view word(lowered.data() + i, j - i);
    const std::uint64_t wh = fnv(word);
    add(mix(wh), 1.0f);
    if (prev) add(mix(prev * 31 + wh + 1), 1.0f);
    prev = wh;
    // Character 3- to 5-grams of "<word>" (the first 24 bytes): from each start, the FNV state
    // of the 3-, 4- and 5-byte prefixes in one pass.
    char padded[32];
    const std::size_t len = std::min<std::size_t>(word.size(), 24) + 2;
    padded[0] = '<';
    std::memcpy(padded + 1, word.data(), len - 2);
    padded[len - 1] = '>';
    for (std::size_t st = 0; st + 3 <= len; ++st) {
      std::uint64_t h = 14695981039346656037ull;
      for (std::size_t k = st; k < st + 5 && k < len; ++k) {
        h ^= static_cast<unsigned char>(padded[k]);
        h *= 1099511628211ull;
        if (k >= st + 2) add(mix(h + (k - st + 1) * 0x9E3779B97F4A7C15ull), kCharGramWeight);
      }
    }
    i = j;
  }
  std::vector<float>& val = out.value;
  val.reserve(idx.size());
  double norm = 0;
  for (std::uint32_t key : idx) {
    std::size_t slot = (key * 0x9E3779B1u) & slot_mask;
    while (keys[slot] != key + 1) slot = (slot + 1) & slot_mask;
    const float weight = weights[slot];
    keys[slot] = 0;  // the table is left empty for the next call
    weights[slot] = 0;
    // Sub-linear in the (weighted) count: 1 + log(count) from one occurrence of a word on.
    const float v = weight >= 1 ? 1.0f + std::log(weight) : weight;
    val.push_back(v);
    norm += double(v) * v;
  }
  if (norm > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& v : val) v *= inv;
  }
}

JailbreakModel::JailbreakModel(unsigned dim_bits, Eigen::VectorXf weights, float bias,
                               float threshold)
    : dim_bits_(dim_bits), weights_(std::move(weights)), bias_(bias), threshold_(threshold) {}

double JailbreakModel::score(std::string_view text) const {
  thread_local Features f;
  featurize(text, dim_bits_, f);
  double z = bias_;
  for (std::size_t i = 0; i < f.index.size(); ++i) z += double(weights_[f.index[i]]) * f.value[i];
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
  if (!in || std::memcmp(magic, kMagic, sizeof magic) != 0 || bits < 8 || bits > 26)
    return bad("not a jailbreak model file");
  Eigen::VectorXf w(Eigen::Index{1} << bits);
  in.read(reinterpret_cast<char*>(w.data()),
          static_cast<std::streamsize>(w.size() * sizeof(float)));
  if (!in) return bad("the jailbreak model file is truncated");
  if (!std::isfinite(bias) || !w.allFinite())
    return bad("the jailbreak model holds non-finite weights");
  return std::shared_ptr<const JailbreakModel>(
      std::make_shared<JailbreakModel>(bits, std::move(w), bias, threshold));
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
    out.push_back({text->get<std::string>(), attack});
  }
  return out;
}

Result<std::shared_ptr<const JailbreakModel>> train_jailbreak(
    const std::vector<LabelledText>& examples, const JailbreakTrainOptions& o) {
  std::size_t pos = 0;
  for (const auto& e : examples) pos += e.attack;
  if (pos == 0 || pos == examples.size())
    return make_error(ErrorKind::kBadRequest, "bad_examples",
                      "the examples need both classes (attack and benign); got " +
                          std::to_string(pos) + " attacks of " + std::to_string(examples.size()));
  std::vector<Features> feats(examples.size());
  for (std::size_t i = 0; i < examples.size(); ++i)
    featurize(examples[i].text, o.dim_bits, feats[i]);
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
      const Features& f = feats[k];
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
      o.dim_bits, std::move(w), static_cast<float>(bias), static_cast<float>(o.threshold)));
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

}  // namespace switchboard::guard
