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
  // A header the request repeats with different values (empty when none): the parse stage
  // refuses it (400 invalid_header) — a proxy's appended x-switchboard-max-cost must not lose to
  // the client's own, nor the client's to the proxy's.
  std::string_view conflicting;
  void add(std::string_view name, std::string_view value) {
    if (conflicting.empty())
      if (auto seen = find(name); seen && *seen != value) conflicting = name;
    items.emplace_back(name, value);
  }
  std::optional<std::string_view> find(std::string_view name) const {
    for (const auto& [n, v] : items)
      if (n == name) return v;
    return std::nullopt;
  }
};

}  // namespace switchboard::pipeline
