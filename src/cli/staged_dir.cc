#include "cli/staged_dir.h"

#include <unistd.h>

#include <filesystem>

namespace switchboard::cli {
namespace fs = std::filesystem;
namespace {

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
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path(), ec);
  if (ec) return write_failed("cannot create " + target.parent_path().string(), ec);
  const fs::path staging =
      target.parent_path() / (target.filename().string() + ".training-" + std::to_string(getpid()));
  fs::remove_all(staging, ec);  // a run of the same pid that died
  fs::create_directory(staging, ec);
  if (ec) return write_failed("cannot create " + staging.string(), ec);
  return StagedDir(target.string(), staging.string());
}

StagedDir::~StagedDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::optional<Error> StagedDir::publish(YAML::Node& spec) {
  std::error_code ec;
  const fs::path old = out_ + ".replaced-" + std::to_string(getpid());
  const bool existed = fs::exists(out_, ec);
  if (existed) {
    fs::remove_all(old, ec);
    fs::rename(out_, old, ec);
    if (ec) return write_failed("cannot move " + out_ + " aside", ec);
  }
  fs::rename(path_, out_, ec);
  if (ec) {
    std::error_code back;
    if (existed) fs::rename(old, out_, back);
    return write_failed("cannot move " + path_ + " to " + out_, ec);
  }
  if (existed) fs::remove_all(old, ec);
  rename_paths(spec, path_, out_);
  path_.clear();
  return std::nullopt;
}

}  // namespace switchboard::cli
