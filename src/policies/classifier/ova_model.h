// The classifier policy's model: one fastText supervised model with one-vs-all loss whose labels
// are the models (`__label__<index>`, plus `__label__none` for prompts no model answers well), so
// one forward pass gives P(model answers well) for every model at once. Records with a task label
// also carry `__label__t:<task>`, so the same pass estimates the task, which the policy uses to
// predict cost from the per-task means even when no task signal is configured.
//
// Contract: train_ova() is deterministic for a given seed (one training thread); it writes its
// training text to `scratch_path` and removes it. predict_ova() is const and thread-safe
// (fastText's predict keeps its state on the stack) and does no I/O.
#pragma once

#include <fasttext/fasttext.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policies/learned.h"

namespace switchboard::policies {

struct OvaParams {
  int dim = 16;
  int epoch = 20;
  int word_ngrams = 2;
  int bucket = 200000;
  double lr = 0.2;
  double threshold = 0.5;  // a model answered well when its score ≥ threshold
  std::uint64_t seed = 1;
  nlohmann::json to_json() const;
};

// Trains on table rows `rows` with their prepared texts (fasttext_text()).
Result<std::unique_ptr<fasttext::FastText>> train_ova(const TrainTable& table,
                                                      const std::vector<std::string>& texts,
                                                      const std::vector<std::size_t>& rows,
                                                      const OvaParams& params,
                                                      const std::string& scratch_path);

// P(good) per model into `out` (size n_models), and P(task) per entry of `tasks` into
// `task_probs` (when non-null), for a prepared text.
void predict_ova(const fasttext::FastText& model, const std::string& text, std::size_t n_models,
                 std::vector<double>& out, const std::vector<std::string>* tasks = nullptr,
                 std::vector<double>* task_probs = nullptr);

}  // namespace switchboard::policies
