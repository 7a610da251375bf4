#include "cli/staged_dir.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace switchboard::cli {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMarker = ".switchboard-train";

Error write_failed(const std::string& what, const std::error_code& ec) {
  return make_error(ErrorKind::kInternal, "write_failed", what + ": " + ec.message());
}

// `node`'s string scalars starting with `from` start with `to` instead.
void rename_paths(YAML::Node node, const std::string& from, const std::string& to) {
  if (node.IsScalar()) {
    const auto s = node.Scalar();
    if (s.starts_with(from) && (s.size() == from.size() || s[from.size()] == '/'))
      node = to + s.substr(from.size());
  } else if (node.IsSequence()) {
    for (auto child : node) rename_paths(child, from, to);
  } else if (node.IsMap()) {
    for (auto kv : node) rename_paths(kv.second, from, to);
  }
}

}  // namespace

Result<StagedDir> StagedDir::create(const std::string& out) {
  // Absolute: the trainers name their directory so in the spec (policies/learned.cc).
  std::error_code ec;
  fs::path target = fs::absolute(out, ec).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "dir/" names dir
  if (ec || target.filename().empty() || target.filename() == "..")
    return make_error(ErrorKind::kBadRequest, "bad_out", "--out must name a directory: " + out);
  // Replaced whole: only a directory a training run wrote (its manifest.json), or none. Anything
  // else there (the current directory, a project, a file) would be deleted with it.
  const fs::path cwd = fs::current_path(ec);
  if (!ec && std::mismatch(target.begin(), target.end(), cwd.begin(), cwd.end()).first ==
                 target.end())
    return make_error(ErrorKind::kBadRequest, "bad_out",
                      "--out " + out + " is the current directory or holds it; name a directory "
                      "of its own");
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec))
      return make_error(ErrorKind::kBadRequest, "bad_out",
                        "--out " + out + " exists and is not a directory");
    if (!fs::is_empty(target, ec) && !fs::exists(target / "manifest.json", ec) &&
        !fs::exists(target / kMarker, ec))
      return make_error(ErrorKind::kBadRequest, "bad_out",
                        "--out " + out + " is a directory no training run wrote (no "
                        "manifest.json): it would be replaced whole; name a new or empty "
                        "directory, or a model directory");
  }
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path(), ec);
  if (ec) return write_failed("cannot create " + target.parent_path().string(), ec);
  const fs::path staging =
      target.parent_path() / (target.filename().string() + ".training-" + std::to_string(getpid()));
  fs::remove_all(staging, ec);  // a run of the same pid that died
  fs::create_directory(staging, ec);
  if (ec) return write_failed("cannot create " + staging.string(), ec);
  // Says "a training run wrote this" where no manifest.json does (an ensemble's recruiter only).
  std::ofstream(staging / kMarker) << "written by switchboard train\n";
  return StagedDir(target.string(), staging.string());
}

StagedDir::~StagedDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::optional<Error> StagedDir::publish(YAML::Node& spec) {
  std::error_code ec;
  if (fs::exists(out_, ec)) {
    // One atomic swap (Linux renameat2): OUT is never missing; the old files end up in the
    // staging path, deleted with it.
    if (renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, out_.c_str(), RENAME_EXCHANGE) != 0)
      return write_failed("cannot swap " + path_ + " with " + out_,
                          std::error_code(errno, std::generic_category()));
    fs::remove_all(path_, ec);
  } else {
    fs::rename(path_, out_, ec);
    if (ec) return write_failed("cannot move " + path_ + " to " + out_, ec);
  }
  rename_paths(spec, path_, out_);
  path_.clear();
  return std::nullopt;
}

}  // namespace switchboard::cli
