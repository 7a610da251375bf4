#include "eval/import.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include "data/outcomes.h"
#include "data/routerbench_csv.h"

namespace switchboard::eval {
namespace {

namespace fs = std::filesystem;

Error write_failed(const std::string& what) {
  return make_error(ErrorKind::kInternal, "write_failed", what);
}

Result<std::vector<std::string>> split_files(const std::string& dir, const std::string& suffix) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec)
    return make_error(ErrorKind::kBadRequest, "bad_routerbench",
                      dir + ": cannot read directory: " + ec.message());
  std::vector<std::string> files;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.ends_with(suffix)) files.push_back(it->path().string());
  }
  if (ec)
    return make_error(ErrorKind::kBadRequest, "bad_routerbench",
                      dir + ": cannot read directory: " + ec.message());
  if (files.empty())
    return make_error(ErrorKind::kBadRequest, "bad_routerbench",
                      dir + ": no RouterBench file ending in " + suffix);
  std::sort(files.begin(), files.end());
  return files;
}

// Closes and deletes a partial output (best effort: an error here changes nothing for the caller).
void discard(std::ofstream& os, const fs::path& tmp) {
  os.close();
  std::error_code ignored;
  fs::remove(tmp, ignored);
}

// One split, file by file: only one CSV's records are in memory at a time. Written to OUT.tmp;
// the caller renames it once both splits are whole.
Result<ImportedSplit> import_split(const std::string& in_dir, const std::string& suffix,
                                   const fs::path& out) {
  auto files = split_files(in_dir, suffix);
  if (!files) return files.error();
  ImportedSplit split;
  split.path = out.string();
  split.files = *files;
  const fs::path tmp = out.string() + ".tmp";
  std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
  if (!os) return write_failed("cannot open " + tmp.string() + " for writing");
  std::unordered_set<std::string> ids;
  std::set<std::string> models, tasks;
  for (const auto& file : *files) {
    auto part = data::read_routerbench_csv_file(file);
    if (!part) {
      discard(os, tmp);
      return part.error();
    }
    for (const auto& rec : part->records) {
      if (!ids.insert(rec.id).second) {
        discard(os, tmp);
        return make_error(
            ErrorKind::kBadRequest, "bad_routerbench",
            file + ": sample_id '" + rec.id + "' repeats an earlier row of the split");
      }
      for (const auto& [m, _] : rec.outcomes) models.insert(m);
      if (!rec.task.empty()) tasks.insert(rec.task);
      os << data::to_jsonl_line(rec) << '\n';
    }
    split.records += part->records.size();
  }
  os.flush();
  os.close();
  if (!os) {
    discard(os, tmp);
    return write_failed("write to " + tmp.string() + " failed");
  }
  split.models.assign(models.begin(), models.end());
  split.tasks.assign(tasks.begin(), tasks.end());
  return split;
}

}  // namespace

Result<ImportSummary> import_routerbench(const std::string& in_dir, const std::string& out_dir) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return write_failed("cannot create " + out_dir + ": " + ec.message());
  ImportSummary summary;
  auto train = import_split(in_dir, "_train.csv", fs::path(out_dir) / "train.jsonl");
  if (!train) return train.error();
  summary.train = std::move(*train);
  auto test = import_split(in_dir, "_test.csv", fs::path(out_dir) / "test.jsonl");
  if (!test) {
    fs::remove(summary.train.path + ".tmp", ec);
    return test.error();
  }
  summary.test = std::move(*test);
  // Both splits are whole: only now do they replace the old ones (a failed test split left the
  // new train.jsonl beside the old test.jsonl). Between the two renames a reader may see a new
  // train with the old test; a failure of the second rename is reported.
  for (const auto* split : {&summary.train, &summary.test}) {
    fs::rename(split->path + ".tmp", split->path, ec);
    if (ec) {
      const std::string why = ec.message();
      for (const auto* s : {&summary.train, &summary.test}) fs::remove(s->path + ".tmp", ec);
      return write_failed("cannot rename " + split->path + ".tmp to " + split->path + ": " + why);
    }
  }
  return summary;
}

}  // namespace switchboard::eval
