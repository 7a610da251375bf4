// `switchboard batch --in PROMPTS --budget USD`: assigns a whole file of prompts to models under a
// total budget and per-model capacities (policies/assignment.h) with a learned policy's
// predictions, and writes one OpenAI Batch-API input file per model (docs/capacity.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace switchboard::cli {

struct BatchAssignOptions {
  std::string in;      // prompts: outcomes JSONL, or {"custom_id"|"id", "prompt"|"messages"|"body"}
  double budget = -1;  // USD for the whole file (< 0: no budget)
  std::string policy;  // policy type (knn, classifier, mf, ...) with --model-dir
  std::string model_dir;
  std::string config;  // or a gateway config and --route
  std::string route;
  std::vector<std::string> capacity;  // MODEL=N
  std::string out;                    // directory for the per-model files (empty: none written)
};

// Prints the summary as JSON on stdout; returns the exit code (2: bad arguments or config, 1: bad
// input file or a solver error).
int run_batch_assign(const BatchAssignOptions& o);

}  // namespace switchboard::cli
