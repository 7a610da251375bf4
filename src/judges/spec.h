// Reading a judge's `judge:` YAML mapping: typed getters whose errors name the key's position
// ("file:line:col: ...", kBadRequest, code "bad_config"), and a check for unknown keys. Shared by
// every judge's factory; built once at config load, never at judge time.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "switchboard/judge.h"
#include "switchboard/result.h"

namespace switchboard::judges {

class SpecReader {
 public:
  explicit SpecReader(const JudgeContext& ctx) : ctx_(ctx) {}

  // "file:line:col" of `node` (the spec's own position when the node has none).
  std::string where(const YAML::Node& node) const;
  Error error(const YAML::Node& node, const std::string& why) const;

  // The first key of the spec not in `allowed`, as an error listing the allowed keys.
  std::optional<Error> only_keys(const std::set<std::string>& allowed) const;

  // A number (absent: `fallback`) in [lo, hi].
  Result<double> number(const std::string& key, double fallback, double lo, double hi) const;
  // A string (absent: `fallback`); when `choices` is non-empty, one of them.
  Result<std::string> string(const std::string& key, const std::string& fallback,
                             const std::vector<std::string>& choices = {}) const;
  Result<bool> boolean(const std::string& key, bool fallback) const;
  // A string or a list of strings (absent: empty).
  Result<std::vector<std::string>> strings(const std::string& key) const;

  const YAML::Node& spec() const { return ctx_.spec; }

 private:
  const JudgeContext& ctx_;
};

}  // namespace switchboard::judges
