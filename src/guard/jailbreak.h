// The jailbreak / prompt-injection classifier: logistic regression on hashed word uni- and bigrams
// and character 3- to 5-grams of each word, the latter at a tenth of a word's weight
// (docs/guard.md). CPU only, one pass over the text: a
// 2,000-token prompt costs well under a millisecond on one core.
//
// Contract: JailbreakModel::load() reads a model file written by train_jailbreak() (errors name the
// file); the object is immutable and thread-safe; score() does no I/O. The text scored is bounded
// (kMaxScoredBytes: its head and tail) so that the cost is bounded whatever the prompt.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::guard {

inline constexpr std::size_t kMaxScoredBytes = 32 * 1024;
inline constexpr char kJailbreakModelFile[] = "jailbreak.bin";

struct LabelledText {
  std::string text;
  bool attack = false;
};

// JSONL, one {"text": "...", "label": "attack" | "benign"} per line (label 1/0 and true/false are
// accepted too). Errors (kBadRequest, bad_examples) name the file and line.
Result<std::vector<LabelledText>> read_labelled_jsonl(const std::string& path);

// The sparse feature vector of a text: distinct hashed indices (in first-seen order) and their
// L2-normalised values. One pass, no sort: ~0.1-0.3 ms for 8,000 characters.
struct Features {
  std::vector<std::uint32_t> index;
  std::vector<float> value;
};
void featurize(std::string_view text, unsigned dim_bits, Features& out);

class JailbreakModel {
 public:
  static Result<std::shared_ptr<const JailbreakModel>> load(const std::string& path);
  JailbreakModel(unsigned dim_bits, Eigen::VectorXf weights, float bias, float threshold);

  // Probability that the text is an attack, in [0, 1].
  double score(std::string_view text) const;
  // The decision threshold chosen at training (a route may set its own).
  double threshold() const { return threshold_; }
  unsigned dim_bits() const { return dim_bits_; }

  Result<bool> save(const std::string& path) const;

 private:
  unsigned dim_bits_;
  Eigen::VectorXf weights_;
  float bias_;
  float threshold_;
};

struct JailbreakTrainOptions {
  unsigned dim_bits = 18;
  int epochs = 30;
  double learning_rate = 0.5;
  double l2 = 1e-5;
  double threshold = 0.5;
  std::uint64_t seed = 1;
};

// Fits the model on `examples` (both classes required; classes weighted to balance). Errors
// (kBadRequest) when a class is missing.
Result<std::shared_ptr<const JailbreakModel>> train_jailbreak(
    const std::vector<LabelledText>& examples, const JailbreakTrainOptions& options);

struct BinaryScores {
  std::size_t tp = 0, fp = 0, tn = 0, fn = 0;
  double precision() const { return tp + fp ? double(tp) / double(tp + fp) : 0; }
  double recall() const { return tp + fn ? double(tp) / double(tp + fn) : 0; }
};
// The model's confusion counts on `examples` at `threshold`.
BinaryScores evaluate_jailbreak(const JailbreakModel& model,
                                const std::vector<LabelledText>& examples, double threshold);

}  // namespace switchboard::guard
