#pragma once
// A model directory written beside its final place and swapped in whole, so a gateway reloading
// while `switchboard train` rewrites the directory it serves from never reads a mix of old and new
// files (an index of one training run with the outcomes of another).
//
// Contract: `StagedDir::create(out)` refuses an OUT that is not new, empty or a model directory
// (a manifest.json: anything else there would be deleted), or that is or holds the current
// directory; it creates an empty sibling OUT.training-PID. The trainer writes there (and names it
// in the spec it returns: `publish` rewrites those paths to OUT); `publish` swaps it with OUT in
// one atomic rename (renameat2 RENAME_EXCHANGE: OUT never goes missing) and deletes the old
// files. The destructor removes a staging directory never published.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "switchboard/result.h"

namespace switchboard::cli {

class StagedDir {
 public:
  static Result<StagedDir> create(const std::string& out);
  StagedDir(StagedDir&& o) noexcept : out_(std::move(o.out_)), path_(std::move(o.path_)) {
    o.path_.clear();
  }
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;
  StagedDir& operator=(StagedDir&&) = delete;
  ~StagedDir();

  const std::string& path() const { return path_; }  // where to write
  const std::string& out() const { return out_; }    // where it ends
  // Swaps the staging directory in as OUT; `spec`'s strings naming the staging directory (or a
  // path in it) name OUT instead.
  std::optional<Error> publish(YAML::Node& spec);

 private:
  StagedDir(std::string out, std::string path) : out_(std::move(out)), path_(std::move(path)) {}
  std::string out_, path_;
};

}  // namespace switchboard::cli
