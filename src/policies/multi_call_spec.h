// YAML pieces shared by the multi-call policies (`cascade`, `ensemble`): judges built through the
// JudgeRegistry, nested policies built through the PolicyRegistry, the plan's bounds, model lists.
// Every error is kBadRequest "bad_config" with the offending node's "file:line:col".
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "switchboard/judge.h"
#include "switchboard/plan.h"
#include "switchboard/policy.h"

namespace switchboard::policies {

// "file:line:col" of `node` given the spec's own `where` ("file:line:col" of the route's policy).
std::string where_of(const PolicyContext& ctx, const YAML::Node& node);
Error spec_error(const std::string& where, const std::string& reason);

// `node` (the value of `key`) as a T, or an error at its position: "KEY must be DESCRIPTION (got
// 'VALUE')". Strings must be scalars; numbers also finite.
template <typename T>
Result<T> value_of(const PolicyContext& ctx, const YAML::Node& node, const std::string& key,
                   const std::string& description) {
  T value{};
  bool ok = node.IsScalar() || !std::is_same_v<T, std::string>;
  if (ok) {
    try {
      ok = YAML::convert<T>::decode(node, value);
    } catch (const YAML::Exception&) {
      ok = false;
    }
  }
  if constexpr (std::is_floating_point_v<T>) ok = ok && std::isfinite(value);
  if (ok) return value;
  return spec_error(where_of(ctx, node), key + " must be " + description +
                                             (node.IsScalar() ? " (got '" + node.Scalar() + "')" : ""));
}

// Checks that every key of `spec` is one of `allowed` (the message lists them).
std::optional<Error> check_keys(const PolicyContext& ctx, const YAML::Node& spec,
                                const std::string& what, const std::vector<std::string>& allowed);

struct BuiltJudge {
  std::shared_ptr<const Judge> judge;
  std::string name;  // its type
};
// `node`: a judge type name or a mapping with `type`.
Result<BuiltJudge> build_judge(const PolicyContext& ctx, const YAML::Node& node);

// A nested policy from a `policy:`-like mapping with `type`.
Result<std::unique_ptr<Policy>> build_nested_policy(const PolicyContext& ctx,
                                                    const YAML::Node& spec);

// A model name or a list of them (each must be a configured model, unless `placeholder` allows
// one more name).
Result<std::vector<std::string>> model_list(const PolicyContext& ctx, const YAML::Node& node,
                                            const std::string& placeholder = "");

// max_calls, max_cost, deadline_ms of the spec.
Result<PlanBounds> parse_bounds(const PolicyContext& ctx);
// The keys parse_bounds reads.
const std::vector<std::string>& bounds_keys();

// The plan's bounds for one request: the request's x-switchboard-max-cost lowers max_cost.
PlanBounds bounds_for(const PlanBounds& configured, const RouteRequest& request);

}  // namespace switchboard::policies
