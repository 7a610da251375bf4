// Converting published routing datasets to recorded outcomes (data/outcomes.h, JSON Lines).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::eval {

struct ImportedSplit {
  std::string path;                // the JSONL file written
  std::vector<std::string> files;  // the CSVs read, in order
  std::size_t records = 0;
  std::vector<std::string> models;  // sorted
  std::vector<std::string> tasks;   // sorted
};

struct ImportSummary {
  ImportedSplit train, test;
};

// Converts the RouterBench CSVs of `in_dir` (`*_train.csv` and `*_test.csv`, each split read in
// file-name order) to `out_dir`/train.jsonl and `out_dir`/test.jsonl, responses included; rows in
// which some model has no score are dropped (RouterBench's published counts are of complete rows).
// `out_dir` is created if needed; each file is written under a temporary name and renamed when
// complete, so a failed import never leaves a half-written split behind.
//
// Memory: one CSV file's records at a time plus the set of ids seen (to reject duplicates).
// Errors: `in_dir` unreadable or without files of a split, a malformed CSV (the data module's
// message: file, line, column), an id repeated within a split (kBadRequest, code
// "bad_routerbench"), the output not writable (kInternal, "write_failed").
Result<ImportSummary> import_routerbench(const std::string& in_dir, const std::string& out_dir);

}  // namespace switchboard::eval
