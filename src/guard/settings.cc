#include "guard/settings.h"

#include <filesystem>

#include "guard/pii.h"

namespace switchboard::guard {

std::string GuardLoader::where(const YAML::Node& node) const {
  const auto m = node.Mark();
  if (m.line < 0) return config_.source;
  return config_.source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

Error GuardLoader::error(const YAML::Node& node, const std::string& why) const {
  return make_error(ErrorKind::kBadRequest, "bad_config", where(node) + ": " + why);
}

namespace {
std::optional<PiiAction> parse_action(const std::string& s) {
  if (s == "allow") return PiiAction::kAllow;
  if (s == "redact") return PiiAction::kRedact;
  if (s == "block") return PiiAction::kBlock;
  return std::nullopt;
}
std::string kinds_list() {
  std::string out;
  for (const auto& k : PiiScanner::instance().kinds()) out += (out.empty() ? "" : ", ") + k;
  return out;
}
}  // namespace

Result<PiiSettings> GuardLoader::pii(const YAML::Node& node) {
  const PiiScanner& scanner = PiiScanner::instance();
  PiiSettings s;
  s.action.assign(scanner.kinds().size(), PiiAction::kAllow);
  if (node.IsScalar()) {
    auto a = parse_action(node.Scalar());
    if (!a) return error(node, "guard.pii must be allow, redact, block or a mapping of kinds");
    s.action.assign(scanner.kinds().size(), *a);
  } else if (node.IsMap()) {
    if (auto d = node["default"]) {
      auto a = d.IsScalar() ? parse_action(d.Scalar()) : std::nullopt;
      if (!a) return error(d, "guard.pii.default must be allow, redact or block");
      s.action.assign(scanner.kinds().size(), *a);
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (key == "default") continue;
      if (key == "restore" || key == "embeddings") {
        if (!kv.second.IsScalar() ||
            (kv.second.Scalar() != "true" && kv.second.Scalar() != "false"))
          return error(kv.second, "guard.pii." + key + " must be true or false");
        (key == "restore" ? s.restore : s.embeddings) = kv.second.Scalar() == "true";
        continue;
      }
      const int k = scanner.kind_index(key);
      if (k < 0)
        return error(kv.first, "unknown kind '" + key + "' in guard.pii (kinds: " + kinds_list() +
                                   "; also default, restore, embeddings)");
      auto a = kv.second.IsScalar() ? parse_action(kv.second.Scalar()) : std::nullopt;
      if (!a) return error(kv.second, "guard.pii." + key + " must be allow, redact or block");
      s.action[static_cast<std::size_t>(k)] = *a;
    }
  } else {
    return error(node, "guard.pii must be allow, redact, block or a mapping of kinds");
  }
  for (std::size_t k = 0; k < s.action.size(); ++k) {
    if (s.action[k] == PiiAction::kRedact) s.redact_mask |= std::uint64_t{1} << k;
    if (s.action[k] == PiiAction::kBlock) s.block_mask |= std::uint64_t{1} << k;
  }
  return s;
}

Result<std::string> GuardLoader::route_target(const YAML::Node& node, const char* refuse_word) {
  auto action = node["action"];
  auto route_to = node["route_to"];
  if (action && route_to)
    return error(route_to,
                 std::string("give either action: ") + refuse_word + " or route_to, not both");
  if (action && (!action.IsScalar() || action.Scalar() != refuse_word))
    return error(action, std::string("action must be ") + refuse_word +
                             " (or give route_to: MODEL instead)");
  if (!route_to) return std::string();
  if (!route_to.IsScalar() || !config_.find_model(route_to.Scalar()))
    return error(route_to, "route_to must name a configured model");
  return route_to.Scalar();
}

Result<JailbreakSettings> GuardLoader::jailbreak(const YAML::Node& node) {
  if (!node.IsMap()) return error(node, "guard.jailbreak must be a mapping with `model`");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key != "model" && key != "threshold" && key != "action" && key != "route_to")
      return error(kv.first, "unknown key '" + key +
                                 "' in guard.jailbreak (model, threshold, action, route_to)");
  }
  auto model = node["model"];
  if (!model || !model.IsScalar() || model.Scalar().empty())
    return error(model ? model : node, "guard.jailbreak.model must name a model file or directory");
  std::string path = model.Scalar();
  if (std::filesystem::is_directory(path))
    path = (std::filesystem::path(path) / kJailbreakModelFile).string();
  JailbreakSettings s;
  if (auto it = models_.find(path); it != models_.end()) {
    s.model = it->second;
  } else {
    auto loaded = JailbreakModel::load(path);
    if (!loaded) return error(model, loaded.error().message);
    s.model = models_[path] = *loaded;
  }
  s.threshold = s.model->threshold();
  if (auto t = node["threshold"]) {
    double v = -1;
    try {
      v = t.as<double>();
    } catch (const YAML::Exception&) {
    }
    if (!(v > 0 && v < 1)) return error(t, "guard.jailbreak.threshold must be a number in (0, 1)");
    s.threshold = v;
  }
  auto target = route_target(node, "block");
  if (!target) return target.error();
  s.route_to = *target;
  return s;
}

Result<DomainSettings> GuardLoader::domain(const YAML::Node& node) {
  if (!node.IsMap()) return error(node, "guard.domain must be a mapping with `examples`");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key != "examples" && key != "k" && key != "quantile" && key != "threshold" &&
        key != "remove_components" && key != "action" && key != "route_to")
      return error(kv.first, "unknown key '" + key +
                                 "' in guard.domain (examples, k, quantile, threshold, "
                                 "remove_components, action, route_to)");
  }
  auto examples = node["examples"];
  if (!examples || !examples.IsScalar() || examples.Scalar().empty())
    return error(examples ? examples : node, "guard.domain.examples must name a JSONL file");
  DomainOptions o;
  auto number = [&](const char* key, double lo, double hi, double& out) -> std::optional<Error> {
    auto n = node[key];
    if (!n) return std::nullopt;
    double v = lo - 1;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
    }
    if (!(v >= lo && v <= hi))
      return error(n, std::string("guard.domain.") + key + " must be a number in [" +
                          std::to_string(lo).substr(0, 4) + ", " + std::to_string(hi).substr(0, 4) +
                          "]");
    out = v;
    return std::nullopt;
  };
  double k = o.k, q = o.quantile, t = -1, r = o.remove_components;
  if (auto e = number("k", 1, 64, k)) return *e;
  if (k != static_cast<int>(k)) return error(node["k"], "guard.domain.k must be an integer");
  if (auto e = number("remove_components", 0, 10, r)) return *e;
  if (r != static_cast<int>(r))
    return error(node["remove_components"], "guard.domain.remove_components must be an integer");
  o.remove_components = static_cast<int>(r);
  if (auto e = number("quantile", 0.5, 1, q)) return *e;
  if (auto e = number("threshold", 0, 2, t)) return *e;
  if (node["quantile"] && node["threshold"])
    return error(node["threshold"], "give either guard.domain.quantile or threshold, not both");
  o.k = static_cast<int>(k);
  o.quantile = q;
  if (node["threshold"]) o.threshold = t;
  DomainSettings s;
  const std::string key = examples.Scalar() + "|" + std::to_string(o.k) + "|" +
                          std::to_string(o.quantile) + "|" + std::to_string(t) + "|" +
                          std::to_string(o.remove_components);
  if (auto it = domains_.find(key); it != domains_.end()) {
    s.model = it->second;
  } else {
    auto texts = read_domain_examples(examples.Scalar());
    if (!texts) return error(examples, texts.error().message);
    auto glove = shared_glove(config_.signals.weights_dir);
    if (!glove) return error(examples, glove.error().message);
    auto built = DomainModel::build(*glove, *texts, o);
    if (!built) return error(examples, examples.Scalar() + ": " + built.error().message);
    s.model = domains_[key] = *built;
  }
  auto target = route_target(node, "reject");
  if (!target) return target.error();
  s.route_to = *target;
  return s;
}

Result<GuardSettings> GuardLoader::settings(const YAML::Node& route, const YAML::Node& top) {
  GuardSettings s;
  for (const YAML::Node* section : {&top, &route}) {
    const YAML::Node& n = *section;
    if (!n || n.IsNull()) continue;
    if (!n.IsMap()) return error(n, "guard must be a mapping (pii, jailbreak, domain)");
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      if (key == "pii") {
        auto p = pii(kv.second);
        if (!p) return p.error();
        s.pii = std::move(*p);
      } else if (key == "jailbreak") {
        auto j = jailbreak(kv.second);
        if (!j) return j.error();
        s.jailbreak = std::move(*j);
      } else if (key == "domain") {
        auto d = domain(kv.second);
        if (!d) return d.error();
        s.domain = std::move(*d);
      } else {
        return error(kv.first, "unknown key '" + key + "' in guard (pii, jailbreak, domain)");
      }
    }
  }
  return s;
}

}  // namespace switchboard::guard
