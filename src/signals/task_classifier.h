// The task/domain signal: a fastText supervised classifier trained on the `task` labels of recorded
// outcomes (data/outcomes.h), loaded by the Extractor from `signals.task_model`.
//
// Training and prediction see the same text: the prompt's words (signals/words.h: lowercase runs of
// letters and digits) joined by spaces, from the last kTaskBytes of the prompt (all message
// contents joined by '\n', as api::ChatRequest::prompt_text).
//
// Contract: train_task_classifier() is deterministic for a seed (one thread), writes only
// `out_path` (through a temporary file in the same directory, removed afterwards) and returns
// kBadRequest when the data has fewer than two distinct labels, kInternal on I/O errors.
// predict_task() is thread-safe and does no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/outcomes.h"
#include "signals/fasttext_model.h"
#include "switchboard/result.h"

namespace switchboard::signals {

inline constexpr std::size_t kTaskBytes = 1024;

struct TaskTrainOptions {
  std::uint64_t seed = 1;
  int epoch = 25;
  double lr = 0.5;
  int word_ngrams = 2;
  int dim = 32;
  int buckets = 20000;  // hashed word-bigram rows; the model is ~ (vocab + buckets) * dim * 4 bytes
                        // (small: cache-resident)
};

struct TaskTrainReport {
  std::size_t examples = 0;         // labelled records used
  std::size_t skipped = 0;          // records without a task label
  std::vector<std::string> labels;  // sorted
};

// The classifier's input text for a prompt (exposed for tests and for tools that export data).
std::string task_text(std::string_view prompt_text);

Result<TaskTrainReport> train_task_classifier(const data::Outcomes& train,
                                              const std::string& out_path,
                                              const TaskTrainOptions& options = {});

Prediction predict_task(const FastTextModel& model, std::string_view prompt_text);

}  // namespace switchboard::signals
