// Reading a balancer's options from its `balancer:` mapping, in the configuration's style: unknown
// keys are rejected and every error names FILE:LINE:COLUMN of the offending key or value. Used only
// inside factories; a problem throws OptionError, which make_balancer() turns into an Error.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "switchboard/balancer.h"

namespace switchboard::pool {

struct OptionError {
  std::string message;  // complete, with location
};

class Options {
 public:
  // Checks that every key of the mapping is `type` or one of `allowed`. A null options node (the
  // balancer was named by a string) has no keys and every getter returns its default.
  Options(const BalancerContext& ctx, std::string balancer,
          std::initializer_list<const char*> allowed);

  double number(const char* key, double fallback, double min, double max) const;
  std::int64_t integer(const char* key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const;
  bool has(const char* key) const { return ctx_.options.IsMap() && ctx_.options[key]; }

 private:
  [[noreturn]] void fail(const YAML::Node& node, const std::string& reason) const;
  const BalancerContext& ctx_;
  std::string balancer_;
};

}  // namespace switchboard::pool
