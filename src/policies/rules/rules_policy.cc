// The `rules` policy: an ordered list of rules, each a condition on the request's signals and a
// model (plus fallbacks); the first rule whose condition holds decides, else `default`.
//
//   policy:
//     type: rules
//     rules:
//       - name: french                              # optional, shown in the decision's reason
//         when: {language: {not: en}}
//         model: mistral-large
//         fallbacks: [gpt-4o]                       # optional
//       - when: {prompt_tokens: {gt: 32000}}
//         models: [claude-long, gemini-long]        # the first chosen, the rest are fallbacks
//       - when: {any: [{has_code: true}, {keywords: [python, rust]}, {regex: "(?i)stack ?trace"}]}
//         model: codestral
//     default: gpt-4o-mini                          # or {model: M, fallbacks: [...]}
//
// Conditions are documented in condition.h and docs/signals.md. Every model must be configured.
#include <set>

#include "config/config.h"
#include "policies/rules/condition.h"
#include "switchboard/policy.h"

namespace switchboard::policies::rules {
namespace {

struct Rule {
  std::string label;  // "rule 2 'french'" or "rule 2"
  Condition when;
  std::string model;
  std::vector<std::string> fallbacks;
};

class RulesPolicy final : public Policy {
 public:
  RulesPolicy(std::vector<Rule> rules, std::string default_model,
              std::vector<std::string> default_fallbacks)
      : rules_(std::move(rules)),
        default_model_(std::move(default_model)),
        default_fallbacks_(std::move(default_fallbacks)) {
    for (const auto& r : rules_) r.when.add_needs(needs_);
  }

  Result<Decision> choose(const RouteRequest& request, const Signals& signals) const override {
    Decision d;
    d.policy = "rules";
    for (const auto& r : rules_) {
      if (r.when.evaluate(signals, request.prompt_text)) {
        d.plan = Plan::single(r.model, r.fallbacks);
        d.reason = r.label + " matched: " + r.when.text;
        return d;
      }
    }
    d.plan = Plan::single(default_model_, default_fallbacks_);
    d.reason = "no rule matched; default";
    return d;
  }

  SignalNeeds needs() const override { return needs_; }
  std::vector<std::string> models() const override {
    Plan every = Plan::single(default_model_, default_fallbacks_);
    for (const auto& r : rules_) {
      every.fallbacks.push_back(r.model);
      every.fallbacks.insert(every.fallbacks.end(), r.fallbacks.begin(), r.fallbacks.end());
    }
    return every.models();
  }

 private:
  // Constant after construction.
  std::vector<Rule> rules_;
  std::string default_model_;
  std::vector<std::string> default_fallbacks_;
  SignalNeeds needs_;
};

// "file:line:col" of a node, from the spec's own location (ctx.where = "file:line:col").
std::function<std::string(const YAML::Node&)> locator(const std::string& spec_where) {
  std::string file = spec_where;
  for (int i = 0; i < 2; ++i) {
    auto colon = file.rfind(':');
    if (colon != std::string::npos) file.resize(colon);
  }
  return [file, spec_where](const YAML::Node& n) {
    auto m = n.Mark();
    if (m.is_null()) return spec_where;
    return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  };
}

Result<std::unique_ptr<Policy>> make_rules(const PolicyContext& ctx) {
  auto where = locator(ctx.where);
  auto fail = [&](const YAML::Node& n, const std::string& why) {
    throw RuleError{where(n) + ": " + why};
  };
  auto only_keys = [&](const YAML::Node& n, const std::set<std::string>& allowed,
                       const std::string& what) {
    if (!n.IsMap()) fail(n, what + " must be a mapping");
    for (const auto& kv : n) {
      auto k = kv.first.as<std::string>();
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + k + "' in " + what + " (allowed: " + list + ")");
      }
    }
  };
  auto model_name = [&](const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar() || n.Scalar().empty()) fail(n, what + " must name a model");
    if (!ctx.config.find_model(n.Scalar()))
      fail(n, what + " names '" + n.Scalar() + "', which is not a configured model");
    return n.Scalar();
  };
  auto model_list = [&](const YAML::Node& n, const std::string& what) {
    std::vector<std::string> out;
    if (!n.IsSequence() || n.size() == 0) fail(n, what + " must be a non-empty list of models");
    for (const auto& m : n) out.push_back(model_name(m, what + "[]"));
    return out;
  };
  try {
    const YAML::Node& spec = ctx.spec;
    only_keys(spec, {"type", "rules", "default"}, "the rules policy");
    if (!spec["rules"] || !spec["rules"].IsSequence())
      fail(spec, "the rules policy needs `rules:`, a list of {when, model | models, fallbacks}");
    if (!spec["default"])
      fail(spec, "the rules policy needs `default:` (the model when no rule matches)");
    std::vector<Rule> rules;
    for (std::size_t i = 0; i < spec["rules"].size(); ++i) {
      const YAML::Node& rn = spec["rules"][i];
      const std::string what = "rules[" + std::to_string(i) + "]";
      only_keys(rn, {"name", "when", "model", "models", "fallbacks"}, what);
      Rule r;
      r.label = "rule " + std::to_string(i + 1);
      if (rn["name"]) {
        if (!rn["name"].IsScalar()) fail(rn["name"], what + ".name must be a string");
        r.label += " '" + rn["name"].Scalar() + "'";
      }
      if (!rn["when"]) fail(rn, what + " needs `when:` (a condition)");
      r.when = parse_condition(rn["when"], where);
      if (rn["model"] && rn["models"]) fail(rn, what + " has both `model` and `models`; use one");
      if (rn["model"]) {
        r.model = model_name(rn["model"], what + ".model");
      } else if (rn["models"]) {
        auto list = model_list(rn["models"], what + ".models");
        r.model = list.front();
        r.fallbacks.assign(list.begin() + 1, list.end());
      } else {
        fail(rn, what + " needs `model:` or `models:`");
      }
      if (rn["fallbacks"]) {
        auto more = model_list(rn["fallbacks"], what + ".fallbacks");
        r.fallbacks.insert(r.fallbacks.end(), more.begin(), more.end());
      }
      rules.push_back(std::move(r));
    }
    std::string default_model;
    std::vector<std::string> default_fallbacks;
    const YAML::Node& dn = spec["default"];
    if (dn.IsMap()) {
      only_keys(dn, {"model", "fallbacks"}, "default");
      if (!dn["model"]) fail(dn, "default needs `model:`");
      default_model = model_name(dn["model"], "default.model");
      if (dn["fallbacks"]) default_fallbacks = model_list(dn["fallbacks"], "default.fallbacks");
    } else {
      default_model = model_name(dn, "default");
    }
    return std::unique_ptr<Policy>(std::make_unique<RulesPolicy>(
        std::move(rules), std::move(default_model), std::move(default_fallbacks)));
  } catch (const RuleError& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config", e.message);
  }
}

const PolicyRegistrar kRules("rules", make_rules);

}  // namespace
}  // namespace switchboard::policies::rules
