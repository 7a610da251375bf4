// Every unit-test process gets its own temporary directory: before any test runs, TMPDIR (which
// std::filesystem::temp_directory_path() reads) is pointed at a fresh directory under the
// original one, removed when the process exits. ctest runs each test as its own process, two at a
// time, so tests of one suite that use a fixed name under the temporary directory (a fixture's
// model directory, a database file) never see each other's files or removals.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace {

struct PrivateTmpdir {
  PrivateTmpdir() {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::temp_directory_path(ec);
    if (ec) return;
    std::string pattern = (base / "sb-unit-XXXXXX").string();
    if (!mkdtemp(pattern.data())) return;
    dir = pattern;
    setenv("TMPDIR", dir.c_str(), 1);
  }
  ~PrivateTmpdir() {
    if (dir.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
};

const PrivateTmpdir kPrivateTmpdir;

}  // namespace
