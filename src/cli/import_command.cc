// `switchboard import routerbench --in DIR --out DIR`: converts a published routing dataset to
// recorded outcomes (JSON Lines, data/outcomes.h), one file per split.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "eval/import.h"

namespace switchboard::cli {
namespace {

struct ImportOptions {
  std::string format;
  std::string in;
  std::string out;
};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

int run_import(const ImportOptions& o) {
  auto summary = eval::import_routerbench(o.in, o.out);
  if (!summary) {
    fmt::print(stderr, "switchboard import: {}\n", summary.error().message);
    return 1;
  }
  for (const auto* s : {&summary->train, &summary->test})
    fmt::print("{}: {} prompts, {} models, tasks: {} (from {} files)\n", s->path, s->records,
               s->models.size(), join(s->tasks), s->files.size());
  return 0;
}

const CommandRegistrar kImport(
    "import", "Convert a routing dataset to recorded outcomes (JSON Lines)", [](CLI::App& app) {
      auto o = std::make_shared<ImportOptions>();
      app.add_option("format", o->format, "Dataset format: routerbench")
          ->required()
          ->check(CLI::IsMember({"routerbench"}));
      app.add_option("--in", o->in,
                     "Directory of the dataset (routerbench: *_train.csv and *_test.csv)")
          ->required();
      app.add_option("--out", o->out, "Directory to write train.jsonl and test.jsonl to")
          ->required();
      return [o] { return run_import(*o); };
    });

}  // namespace
}  // namespace switchboard::cli
