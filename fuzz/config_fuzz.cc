// config::parse_config on arbitrary YAML text. Properties: no crash, UB, leak or exception
// escaping (a bad config is an error value naming the source).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = switchboard::config::parse_config(text, "fuzz.yaml");
  if (!cfg) {
    FUZZ_CHECK(cfg.error().code == "bad_config");
    FUZZ_CHECK(cfg.error().message.rfind("fuzz.yaml", 0) == 0);
    return 0;
  }
  for (const auto& m : (*cfg)->models) FUZZ_CHECK((*cfg)->find_model(m.name) != nullptr);
  for (const auto& r : (*cfg)->routes) FUZZ_CHECK((*cfg)->find_route(r.name) != nullptr);
  return 0;
}
