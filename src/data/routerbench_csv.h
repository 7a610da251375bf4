// Reads RouterBench result tables (CSV) into recorded outcomes (data/outcomes.h).
//
// Expected header: an unnamed index column, then sample_id, prompt, eval_name, one 0/1 score
// column per model (named by the model), "<model>|model_response" and "<model>|total_cost" columns,
// and oracle_model_to_route_to; columns may come in any order and unknown ones are ignored. A
// model is any column without '|' that is not one of the named ones.
//
// Per row: id = sample_id, task = eval_name, the prompt (a Python list-of-strings literal) becomes
// one user message per string, and each model with a non-empty score gets an outcome with that
// score, its total_cost (required then) and its response (the literal's strings joined by "\n";
// absent when the cell is empty).
#pragma once

#include <istream>
#include <string>

#include "data/outcomes.h"
#include "switchboard/result.h"

namespace switchboard::data {

struct RouterBenchOptions {
  // Drop rows in which some model has no score, so that every kept record has outcomes for all
  // models of its file (RouterBench's published counts are of such rows).
  bool require_all_models = true;
};

enum class Split { kAll, kTrain, kTest };

// Reads one CSV table. `name` is used in error messages. Errors (kind kBadRequest, code
// "bad_routerbench"/"bad_csv"): missing required header columns, a malformed CSV record, a row
// whose width differs from the header, an unparsable number or Python literal; each names the file,
// the line on which the row starts and the column.
Result<Outcomes> read_routerbench_csv(std::istream& in, const std::string& name,
                                      const RouterBenchOptions& options = {});
Result<Outcomes> read_routerbench_csv_file(const std::string& path,
                                           const RouterBenchOptions& options = {});

// Loads every *.csv file of `dir` in name order (kTrain: only names ending in "_train.csv",
// kTest: "_test.csv") and concatenates their records. Errors: `dir` is not a readable directory,
// it holds no matching file, or a file fails as above.
Result<Outcomes> load_routerbench_dir(const std::string& dir, Split split,
                                      const RouterBenchOptions& options = {});

}  // namespace switchboard::data
