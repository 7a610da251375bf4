// The recorded-outcomes JSONL reader: data::read_outcomes_jsonl on the input as a file, and
// data::parse_outcome_line on each line. Properties: no crash or UB; every record read is written
// back by to_jsonl_line() as a line that parses to the same record.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "data/outcomes.h"
#include "fuzz_check.h"

namespace {

const std::string& temp_path() {
  static const std::string path = "/tmp/sb_fuzz_outcomes_" + std::to_string(::getpid()) + ".jsonl";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace switchboard::data;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t line_no = 0;
  for (std::string_view rest = text; !rest.empty();) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    auto rec = parse_outcome_line(line, "fuzz:" + std::to_string(++line_no));
    if (!rec) continue;
    const std::string written = to_jsonl_line(*rec);
    auto back = parse_outcome_line(written, "roundtrip");
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(*back == *rec);
  }
  {
    std::ofstream out(temp_path(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  auto all = read_outcomes_jsonl(temp_path());
  if (all) {
    for (const auto& r : all->records) FUZZ_CHECK(!r.id.empty());
    (void)all->models();
  }
  return 0;
}
