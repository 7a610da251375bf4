#include "policies/multi_call_spec.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "config/config.h"

namespace switchboard::policies {

std::string where_of(const PolicyContext& ctx, const YAML::Node& node) {
  const auto m = node.Mark();
  if (m.is_null()) return ctx.where;
  // ctx.where is "file:line:col"; keep its file.
  std::string file = ctx.where;
  for (int i = 0; i < 2; ++i) {
    const auto colon = file.rfind(':');
    if (colon == std::string::npos) return ctx.where;
    file.resize(colon);
  }
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

Error spec_error(const std::string& where, const std::string& reason) {
  return make_error(ErrorKind::kBadRequest, "bad_config", where + ": " + reason);
}

std::optional<Error> check_keys(const PolicyContext& ctx, const YAML::Node& spec,
                                const std::string& what, const std::vector<std::string>& allowed) {
  if (!spec.IsMap()) return spec_error(where_of(ctx, spec), what + " must be a mapping");
  for (const auto& kv : spec) {
    const auto key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return spec_error(where_of(ctx, kv.first),
                        "unknown key '" + key + "' in " + what + " (allowed: " + list + ")");
    }
  }
  return std::nullopt;
}

Result<BuiltJudge> build_judge(const PolicyContext& ctx, const YAML::Node& node) {
  const std::string where = where_of(ctx, node);
  // (A fresh node: assigning to a yaml-cpp node that refers to the spec would rewrite the spec.)
  YAML::Node spec(YAML::NodeType::Map);
  if (node.IsScalar())
    spec["type"] = node.Scalar();
  else
    spec = node;
  if (!spec.IsMap() || !spec["type"] || !spec["type"].IsScalar())
    return spec_error(where, "a judge is a type name or a mapping with `type`");
  const std::string type = spec["type"].Scalar();
  const JudgeFactory* factory = JudgeRegistry::instance().find(type);
  if (!factory) {
    std::string known;
    for (const auto& n : JudgeRegistry::instance().names())
      known += (known.empty() ? "" : ", ") + n;
    return spec_error(where, "unknown judge type '" + type + "' (known: " + known + ")");
  }
  Result<std::unique_ptr<Judge>> judge = make_error(ErrorKind::kInternal, "", "");
  try {
    judge = (*factory)(JudgeContext{spec, where});
  } catch (const YAML::Exception& e) {
    return spec_error(where, e.msg);
  }
  if (!judge) return judge.error();
  return BuiltJudge{std::shared_ptr<const Judge>(std::move(*judge)), type};
}

Result<std::unique_ptr<Policy>> build_nested_policy(const PolicyContext& ctx,
                                                    const YAML::Node& spec) {
  const std::string where = where_of(ctx, spec);
  if (!spec.IsMap() || !spec["type"] || !spec["type"].IsScalar())
    return spec_error(where, "a nested policy is a mapping with `type`");
  const std::string type = spec["type"].Scalar();
  if (type == "cascade" || type == "ensemble")
    return spec_error(where, "a " + type + " cannot be nested in a multi-call policy");
  const PolicyFactory* factory = PolicyRegistry::instance().find(type);
  if (!factory) return spec_error(where, "unknown policy type '" + type + "'");
  PolicyContext nested{spec, ctx.config, where};
  try {
    return (*factory)(nested);
  } catch (const YAML::Exception& e) {
    return spec_error(where, e.msg);
  }
}

Result<std::vector<std::string>> model_list(const PolicyContext& ctx, const YAML::Node& node,
                                            const std::string& placeholder) {
  std::vector<std::string> out;
  auto add = [&](const YAML::Node& n) -> std::optional<Error> {
    if (!n.IsScalar()) return spec_error(where_of(ctx, n), "a model name must be a string");
    const std::string name = n.Scalar();
    if (name != placeholder || placeholder.empty()) {
      if (!ctx.config.find_model(name))
        return spec_error(where_of(ctx, n), "unknown model '" + name + "'");
    }
    if (std::find(out.begin(), out.end(), name) != out.end())
      return spec_error(where_of(ctx, n), "model '" + name + "' is listed twice");
    out.push_back(name);
    return std::nullopt;
  };
  if (node.IsSequence()) {
    for (const auto& n : node)
      if (auto e = add(n)) return *e;
  } else if (auto e = add(node)) {
    return *e;
  }
  if (out.empty()) return spec_error(where_of(ctx, node), "an empty list of models");
  return out;
}

const std::vector<std::string>& bounds_keys() {
  static const std::vector<std::string> keys = {"max_calls", "max_cost", "deadline_ms"};
  return keys;
}

Result<PlanBounds> parse_bounds(const PolicyContext& ctx) {
  PlanBounds b;
  // Each key converted on its own, so that an error names it (yaml-cpp says "bad conversion").
  const auto number = [&](const char* key, auto& out, const char* what) -> std::optional<Error> {
    try {
      out = ctx.spec[key].as<std::remove_reference_t<decltype(out)>>();
      return std::nullopt;
    } catch (const YAML::Exception&) {
      return spec_error(where_of(ctx, ctx.spec[key]), std::string(key) + " must be " + what);
    }
  };
  if (auto n = ctx.spec["max_calls"]) {
    if (auto e = number("max_calls", b.max_calls, "an integer")) return *e;
    if (b.max_calls < 1) return spec_error(where_of(ctx, n), "max_calls must be at least 1");
  }
  if (auto n = ctx.spec["max_cost"]) {
    double v = 0;
    if (auto e = number("max_cost", v, "a number (USD)")) return *e;
    if (!(v >= 0) || !std::isfinite(v))
      return spec_error(where_of(ctx, n), "max_cost must be a finite number >= 0 (USD)");
    b.max_cost = v;
  }
  if (auto n = ctx.spec["deadline_ms"]) {
    if (auto e = number("deadline_ms", b.deadline_ms, "an integer (milliseconds)")) return *e;
    if (b.deadline_ms < 1) return spec_error(where_of(ctx, n), "deadline_ms must be at least 1");
  }
  return b;
}

PlanBounds bounds_for(const PlanBounds& configured, const RouteRequest& request) {
  PlanBounds b = configured;
  if (request.max_cost && (!b.max_cost || *request.max_cost < *b.max_cost))
    b.max_cost = request.max_cost;
  return b;
}

}  // namespace switchboard::policies
