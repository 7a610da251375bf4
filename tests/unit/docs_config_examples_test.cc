// Every whole configuration shown in README.md and docs/*.md (a ```yaml block with a top-level
// `models:` key and nothing elided with "...") is one the config loader accepts: README's own example (`server: {threads: 0}`)
// was refused until session 30.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace switchboard {
namespace {

struct Example {
  std::string file;
  int line = 0;
  std::string yaml;
};

std::vector<Example> yaml_examples(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<Example> out;
  std::string line;
  int n = 0;
  std::optional<Example> open;
  while (std::getline(in, line)) {
    ++n;
    if (!open && line.rfind("```yaml", 0) == 0) {
      open = Example{file.filename().string(), n + 1, ""};
    } else if (open && line.rfind("```", 0) == 0) {
      // A whole one: a top-level `models:`, nothing elided ("[...]", "model_dir: ...").
      const bool whole = open->yaml.find("\nmodels:") != std::string::npos ||
                         open->yaml.rfind("models:", 0) == 0;
      if (whole && open->yaml.find("...") == std::string::npos) out.push_back(std::move(*open));
      open.reset();
    } else if (open) {
      open->yaml += line + "\n";
    }
  }
  return out;
}

TEST(DocsConfigExamples, EveryWholeConfigShownIsAccepted) {
  const std::filesystem::path root(SB_SOURCE_DIR);
  std::vector<std::filesystem::path> files = {root / "README.md"};
  for (const auto& entry : std::filesystem::directory_iterator(root / "docs"))
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  std::size_t checked = 0;
  for (const auto& file : files)
    for (const auto& example : yaml_examples(file)) {
      ++checked;
      auto parsed = config::parse_config(example.yaml, example.file);
      EXPECT_TRUE(parsed) << example.file << ":" << example.line << ": "
                          << (parsed ? "" : parsed.error().message);
    }
  EXPECT_GE(checked, 2u) << "the examples were not found";  // README's and docs/pool.md's
}

}  // namespace
}  // namespace switchboard
