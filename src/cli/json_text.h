#pragma once
// JSON as the CLI prints and writes it: indented, and with any byte that is not UTF-8 (a file
// name, a team typed in another encoding) replaced by U+FFFD instead of nlohmann's exception
// (it aborted `sim --json`, `calibrate --write` and `keys list --json`).

#include <nlohmann/json.hpp>

#include <string>

namespace switchboard::cli {

inline std::string json_text(const nlohmann::json& j, int indent = 2) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace switchboard::cli
