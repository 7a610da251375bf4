// `switchboard train`'s staged model directory (cli/staged_dir.h): written beside --out, swapped
// in whole, the spec's paths renamed; nothing left behind, published or not.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/staged_dir.h"

namespace switchboard::cli {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(StagedDir, ReplacesTheOldDirectoryWholeAndRenamesTheSpecsPaths) {
  const fs::path root = fs::temp_directory_path() / "staged";
  const fs::path out = root / "knn";
  fs::create_directories(out);
  write(out / "manifest.json", "{}");  // a model directory: it may be replaced
  write(out / "index.bin", "old index");
  write(out / "stale.bin", "a file the new run does not write");

  auto staged = StagedDir::create(out.string() + "/");
  ASSERT_TRUE(staged.ok()) << staged.error().message;
  EXPECT_EQ(staged->out(), out.string());
  EXPECT_EQ(read(out / "index.bin"), "old index");  // untouched while training
  write(fs::path(staged->path()) / "index.bin", "new index");
  fs::create_directory(fs::path(staged->path()) / "warm_start");

  YAML::Node spec = YAML::Load("{type: bandit, model_dir: x, other: " + staged->path() +
                               "-not-it}");
  spec["model_dir"] = staged->path();
  spec["warm_start"] = staged->path() + "/warm_start";
  spec["members"].push_back(staged->path());
  const std::string unrelated = spec["other"].as<std::string>();
  ASSERT_FALSE(staged->publish(spec));

  EXPECT_EQ(entries(root), std::vector<std::string>{"knn"});  // no staging, no old copy
  EXPECT_EQ(entries(out), (std::vector<std::string>{".switchboard-train", "index.bin", "warm_start"}));
  EXPECT_EQ(read(out / "index.bin"), "new index");
  EXPECT_EQ(spec["model_dir"].as<std::string>(), out.string());
  EXPECT_EQ(spec["warm_start"].as<std::string>(), (out / "warm_start").string());
  EXPECT_EQ(spec["members"][0].as<std::string>(), out.string());
  EXPECT_EQ(spec["other"].as<std::string>(), unrelated);
}

TEST(StagedDir, AStagingDirectoryNeverPublishedIsRemovedAndTheOldOneKept) {
  const fs::path root = fs::temp_directory_path() / "unpublished";
  const fs::path out = root / "mf";
  fs::create_directories(out);
  write(out / "manifest.json", "old");
  {
    auto staged = StagedDir::create(out.string());
    ASSERT_TRUE(staged.ok());
    write(fs::path(staged->path()) / "manifest.json", "half-written");
  }  // training failed
  EXPECT_EQ(entries(root), std::vector<std::string>{"mf"});
  EXPECT_EQ(read(out / "manifest.json"), "old");
}

TEST(StagedDir, ANewDirectoryIsCreatedWithItsParents) {
  const fs::path out = fs::temp_directory_path() / "a" / "b" / "classifier";
  auto staged = StagedDir::create(out.string());
  ASSERT_TRUE(staged.ok());
  write(fs::path(staged->path()) / "model.bin", "m");
  YAML::Node spec;
  ASSERT_FALSE(staged->publish(spec));
  EXPECT_EQ(read(out / "model.bin"), "m");
  // No manifest.json there, but a training run's marker: it may be trained into again.
  EXPECT_TRUE(StagedDir::create(out.string()).ok());
  EXPECT_FALSE(StagedDir::create("/").ok());  // no directory to write beside
}

// What --out would replace whole must be a model directory (or new, or empty): a project
// directory, a file or the current directory were deleted.
TEST(StagedDir, RefusesToReplaceWhatNoTrainingWrote) {
  const fs::path root = fs::temp_directory_path() / "refused";
  fs::create_directories(root / "project");
  write(root / "project" / "notes.txt", "keep me");
  write(root / "file", "keep me too");
  fs::create_directories(root / "empty");
  auto project = StagedDir::create((root / "project").string());
  ASSERT_FALSE(project.ok());
  EXPECT_NE(project.error().message.find("no manifest.json"), std::string::npos);
  EXPECT_FALSE(StagedDir::create((root / "file").string()).ok());
  const auto cwd = fs::current_path();
  fs::current_path(root / "project");
  EXPECT_FALSE(StagedDir::create(".").ok());
  EXPECT_FALSE(StagedDir::create("..").ok());  // holds the current directory
  fs::current_path(cwd);
  EXPECT_TRUE(StagedDir::create((root / "empty").string()).ok());
  EXPECT_EQ(read(root / "project" / "notes.txt"), "keep me");
  EXPECT_EQ(read(root / "file"), "keep me too");
}

}  // namespace
}  // namespace switchboard::cli
