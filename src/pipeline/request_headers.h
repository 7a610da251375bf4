// The request headers a stage may read, copied by the API front end (names lower-case; values are
// views into the front end's request, which outlives the run).
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::pipeline {

struct RequestHeaders {
  std::vector<std::pair<std::string_view, std::string_view>> items;
  std::optional<std::string_view> find(std::string_view name) const {
    for (const auto& [n, v] : items)
      if (n == name) return v;
    return std::nullopt;
  }
};

}  // namespace switchboard::pipeline
