// The RouterBench CSV reader (data::read_routerbench_csv, with its CSV and Python-literal
// parsers) on arbitrary tables. The first byte chooses require_all_models. Properties: no crash,
// UB or exception escaping; every record kept has an id and only scores in [0, 1] and costs >= 0.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "data/routerbench_csv.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace switchboard::data;
  if (size < 1) return 0;
  RouterBenchOptions options;
  options.require_all_models = (data[0] & 1) != 0;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  auto out = read_routerbench_csv(in, "fuzz.csv", options);
  if (!out) {
    FUZZ_CHECK(out.error().message.rfind("fuzz.csv", 0) == 0);
    return 0;
  }
  for (const auto& r : out->records) {
    for (const auto& [model, o] : r.outcomes) {
      FUZZ_CHECK(o.score >= 0 && o.score <= 1);
      FUZZ_CHECK(o.cost >= 0 && std::isfinite(o.cost));
    }
  }
  (void)out->models();
  return 0;
}
