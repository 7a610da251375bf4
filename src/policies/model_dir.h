// A trained policy's model directory: `manifest.json` plus the policy's artifacts (index, weights),
// written by the policy's trainer (`switchboard train`, `switchboard eval`) and read by its factory
// when a route's `policy: {type: knn, model_dir: DIR}` is built.
//
// manifest.json (format "switchboard-policy-model", version 1):
//   {"format", "version", "policy": "knn", "models": ["m1", ...] (the order predictions use),
//    "embedding": {"dim": 100, "provider": "glove-100d"} (dim 0 = none),
//    "training": {"path", "records", "hash"}, "created": "2026-11-23T21:40:00Z",
//    "hyperparameters": {...}, "objectives": {"quality", "balanced", "cost"} (optional; calibrate
//    writes `balanced`), "calibration": {...} (optional, what calibrate did)}
//
// Contract: load_manifest() fails (kBadRequest, code "bad_model_dir") with a message naming the
// directory when the manifest is missing or malformed, of another format version, trained for
// another policy type, or trained for another set of models than the route may choose (both lists
// are named). Writes go to a temporary file renamed into place.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/outcomes.h"
#include "policies/objective.h"
#include "switchboard/result.h"

namespace switchboard::policies {

inline constexpr int kModelDirVersion = 1;

struct Manifest {
  int version = kModelDirVersion;
  std::string policy;
  std::vector<std::string> models;
  std::size_t embedding_dim = 0;
  std::string embedding_provider;
  std::string train_path;
  std::size_t train_records = 0;
  std::string train_hash;
  std::string created;  // UTC, ISO 8601
  nlohmann::json hyperparameters = nlohmann::json::object();
  std::optional<Objectives> objectives;
  nlohmann::json calibration;  // null unless calibrated
};

// A stable hash (FNV-1a 64, hex) of the records' ids, texts, tasks and outcomes.
std::string outcomes_hash(const data::Outcomes& outcomes);

// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_now();

std::optional<Error> write_manifest(const std::string& dir, const Manifest& manifest);

// Reads DIR/manifest.json and checks its format version; `policy` (when non-empty) must match and
// `models` (when non-empty) must be the same set as the manifest's.
Result<Manifest> load_manifest(const std::string& dir, const std::string& policy = "",
                               const std::vector<std::string>& models = {});

// Writes `text` to `path` through a temporary file; kInternal error naming the path on failure.
std::optional<Error> write_file_atomic(const std::string& path, const std::string& text);
Result<std::string> read_file(const std::string& path);

}  // namespace switchboard::policies
