#include "pool/options.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

namespace switchboard::pool {

Options::Options(const BalancerContext& ctx, std::string balancer,
                 std::initializer_list<const char*> allowed)
    : ctx_(ctx), balancer_(std::move(balancer)) {
  const YAML::Node& node = ctx_.options;
  if (!node || node.IsNull()) return;
  if (!node.IsMap()) fail(node, "balancer options must be a mapping");
  std::set<std::string> ok(allowed.begin(), allowed.end());
  ok.insert("type");
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    if (ok.count(key)) continue;
    std::string list = "type";
    for (const auto* k : allowed) list += std::string(", ") + k;
    fail(kv.first,
         "unknown key '" + key + "' in " + balancer_ + " balancer (allowed: " + list + ")");
  }
}

void Options::fail(const YAML::Node& node, const std::string& reason) const {
  auto m = node.Mark();
  std::string where = m.is_null() ? ctx_.where
                                  : ctx_.source + ":" + std::to_string(m.line + 1) + ":" +
                                        std::to_string(m.column + 1);
  throw OptionError{where + ": " + reason};
}

double Options::number(const char* key, double fallback, double min, double max) const {
  if (!has(key)) return fallback;
  YAML::Node v = ctx_.options[key];
  double x = 0;
  try {
    if (!v.IsScalar()) throw YAML::Exception(v.Mark(), "");
    x = v.as<double>();
  } catch (const YAML::Exception&) {
    fail(v, balancer_ + "." + key + " must be a number");
  }
  if (!std::isfinite(x) || x < min || x > max)
    fail(v, fmt::format("{}.{} must be between {:g} and {:g}", balancer_, key, min, max));
  return x;
}

std::int64_t Options::integer(const char* key, std::int64_t fallback, std::int64_t min,
                              std::int64_t max) const {
  if (!has(key)) return fallback;
  YAML::Node v = ctx_.options[key];
  std::int64_t x = 0;
  try {
    if (!v.IsScalar()) throw YAML::Exception(v.Mark(), "");
    x = v.as<std::int64_t>();
  } catch (const YAML::Exception&) {
    fail(v, balancer_ + "." + key + " must be an integer");
  }
  if (x < min || x > max)
    fail(v, fmt::format("{}.{} must be between {} and {}", balancer_, key, min, max));
  return x;
}

}  // namespace switchboard::pool
