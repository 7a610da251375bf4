// The jailbreak / prompt-injection classifier: logistic regression on hashed word uni- and bigrams
// and character 3- to 5-grams of each word, the latter at a tenth of a word's weight
// (docs/guard.md). A text longer than the model's window (in words) is scored window by window
// (windows overlap by half) and its score is the highest window's: an instruction injected into a
// long document weighs as much as in a short one (within the head and tail read, kMaxScoredBytes),
// and a long benign document is no more suspect than its worst passage (a whole-text score grew
// with length). Training fits that same maximum.
// CPU only: a 2,000-token prompt costs well under a millisecond on one core.
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

#include "guard/jailbreak_features.h"
#include "switchboard/result.h"

namespace switchboard::guard {

inline constexpr char kJailbreakModelFile[] = "jailbreak.bin";
inline constexpr unsigned kMaxWindowWords = 4096;

struct LabelledText {
  std::string text;
  bool attack = false;
  // Examples of one group (a document and its injected twin) are never split between a
  // cross-validation fold and its training part; "" = a group of its own.
  std::string group;
};

// JSONL, one {"text": "...", "label": "attack" | "benign", "group"?: "..."} per line (label 1/0 and
// true/false are accepted too). Errors (kBadRequest, bad_examples) name the file and line.
Result<std::vector<LabelledText>> read_labelled_jsonl(const std::string& path);

// The feature vector of a whole text, as one window (jailbreak_features.h).
void featurize(std::string_view text, unsigned dim_bits, Features& out);

class JailbreakModel {
 public:
  static Result<std::shared_ptr<const JailbreakModel>> load(const std::string& path);
  JailbreakModel(unsigned dim_bits, Eigen::VectorXf weights, float bias, float threshold,
                 unsigned window_words = 0);

  // Probability that the text is an attack, in [0, 1]: its highest-scoring window's.
  double score(std::string_view text) const;
  // Words per scored window; 0: the whole text at once (models of the first file format).
  unsigned window_words() const { return window_words_; }
  // The decision threshold chosen at training (a route may set its own).
  double threshold() const { return threshold_; }
  unsigned dim_bits() const { return dim_bits_; }

  Result<bool> save(const std::string& path) const;

 private:
  unsigned dim_bits_;
  Eigen::VectorXf weights_;
  float bias_;
  float threshold_;
  unsigned window_words_;
};

struct JailbreakTrainOptions {
  unsigned dim_bits = 18;
  int epochs = 30;
  double learning_rate = 0.5;
  double l2 = 1e-5;
  double threshold = 0.5;
  // Words per window (docs/guard.md: chosen by cross-validation on the labelled set's train part).
  unsigned window_words = 32;
  std::uint64_t seed = 1;
};

// Fits the model on `examples` (both classes required; classes weighted to balance). Errors
// (kBadRequest) when a class is missing or window_words is over kMaxWindowWords.
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

// k-fold cross-validation of `options` on `examples` (folds by a seeded shuffle of the groups,
// dealt round-robin by kind — attack only, benign only, both): the confusion counts of every
// example scored by the model of the folds without it, and the area under the ROC curve of those
// scores. Errors (kBadRequest) when a fold's training part lacks a class, and as
// train_jailbreak's.
struct CrossValidation {
  BinaryScores at_threshold;
  double auc = 0;
};
Result<CrossValidation> cross_validate_jailbreak(const std::vector<LabelledText>& examples,
                                                 const JailbreakTrainOptions& options, int folds);

}  // namespace switchboard::guard
