// Out-of-domain detection (Guarded Query Routing, docs/guard.md): a route's domain is a set of
// example prompts; a prompt whose mean cosine distance to its k nearest examples (GloVe sentence
// embeddings, signals/glove.h) exceeds a threshold is outside it. The threshold is calibrated on
// the domain's own examples: the given quantile of their leave-one-out distances (each example's
// distance to its k nearest others), so ~ (1 - quantile) of in-domain prompts are refused.
//
// Contract: build() embeds and calibrates once (O(n^2 d), blocked); the model is immutable and
// thread-safe; distance() does no I/O (exact search: one n x d matrix-vector product — 2,000
// examples cost ~20 µs).
#pragma once

#include <Eigen/Core>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signals/glove.h"
#include "switchboard/result.h"

namespace switchboard::guard {

struct DomainOptions {
  int k = 5;
  double quantile = 0.95;           // of the leave-one-out distances: the threshold
  std::optional<double> threshold;  // set explicitly instead of calibrating
  // Principal components of the domain's embeddings projected out of every embedding (the SIF
  // paper's common-component removal): averaged word vectors share a large common direction that
  // makes every English sentence look alike; without it, distances between topics shrink.
  int remove_components = 1;
};

class DomainModel {
 public:
  // Errors (kBadRequest, bad_domain): fewer than k + 1 examples with known words.
  static Result<std::shared_ptr<const DomainModel>> build(
      std::shared_ptr<const signals::GloveTable> glove, const std::vector<std::string>& examples,
      const DomainOptions& options);

  // Mean cosine distance (1 - cos) to the k nearest examples; 1 when the text has no known word.
  double distance(std::string_view text) const;
  double threshold() const { return threshold_; }
  std::size_t size() const { return static_cast<std::size_t>(rows_.rows()); }
  int k() const { return k_; }
  // The leave-one-out distances the threshold was calibrated on (sorted).
  const std::vector<double>& calibration() const { return loo_; }

 private:
  DomainModel() = default;
  double mean_top_k(const Eigen::VectorXf& sims, Eigen::Index skip) const;
  // v minus its projection on the removed components, L2-normalised.
  void project(Eigen::Ref<Eigen::VectorXf> v) const;

  std::shared_ptr<const signals::GloveTable> glove_;
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows_;  // n x d, unit rows
  Eigen::MatrixXf components_;  // d x r, orthonormal columns
  int k_ = 5;
  double threshold_ = 1;
  std::vector<double> loo_;
};

// The prompts of a domain file, JSONL: per line a "text" or "prompt" string, or "messages" (a
// recorded-outcomes record: its user messages joined by "\n"). Errors name the file and line.
Result<std::vector<std::string>> read_domain_examples(const std::string& path);

// The GloVe table of `weights_dir` (signals::default_weights_dir() when empty), loaded once per
// process and shared by every route that uses it (signals::shared_glove: the signals and cache
// stages use the same copy).
Result<std::shared_ptr<const signals::GloveTable>> shared_glove(const std::string& weights_dir);

}  // namespace switchboard::guard
