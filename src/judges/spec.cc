#include "judges/spec.h"

#include <fmt/format.h>

namespace switchboard::judges {

std::string SpecReader::where(const YAML::Node& node) const {
  const auto mark = node.Mark();
  if (mark.is_null()) return ctx_.where;
  std::string file = ctx_.where;
  for (int i = 0; i < 2; ++i) {
    const auto colon = file.rfind(':');
    if (colon != std::string::npos) file.resize(colon);
  }
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

Error SpecReader::error(const YAML::Node& node, const std::string& why) const {
  return make_error(ErrorKind::kBadRequest, "bad_config", where(node) + ": " + why);
}

std::optional<Error> SpecReader::only_keys(const std::set<std::string>& allowed) const {
  if (!ctx_.spec.IsMap()) return error(ctx_.spec, "a judge must be a mapping with `type`");
  for (const auto& kv : ctx_.spec) {
    const auto key = kv.first.Scalar();
    if (allowed.count(key)) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return error(kv.first, "unknown key '" + key + "' in the " + ctx_.spec["type"].Scalar() +
                               " judge (allowed: " + list + ")");
  }
  return std::nullopt;
}

Result<double> SpecReader::number(const std::string& key, double fallback, double lo,
                                  double hi) const {
  const YAML::Node n = ctx_.spec[key];
  if (!n) return fallback;
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v >= lo && v <= hi))
    return error(n, fmt::format("`{}` must be a number in [{:g}, {:g}]", key, lo, hi));
  return v;
}

Result<std::string> SpecReader::string(const std::string& key, const std::string& fallback,
                                       const std::vector<std::string>& choices) const {
  const YAML::Node n = ctx_.spec[key];
  if (!n) return fallback;
  if (!n.IsScalar()) return error(n, "`" + key + "` must be a string");
  if (choices.empty()) return n.Scalar();
  std::string list;
  for (const auto& c : choices) {
    if (c == n.Scalar()) return n.Scalar();
    list += (list.empty() ? "" : ", ") + c;
  }
  return error(n, "`" + key + "` must be one of " + list + " (got '" + n.Scalar() + "')");
}

Result<bool> SpecReader::boolean(const std::string& key, bool fallback) const {
  const YAML::Node n = ctx_.spec[key];
  if (!n) return fallback;
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
    return error(n, "`" + key + "` must be true or false");
  return v;
}

Result<std::vector<std::string>> SpecReader::strings(const std::string& key) const {
  const YAML::Node n = ctx_.spec[key];
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) return error(n, "`" + key + "` must be a string or a list of strings");
  for (const auto& item : n) {
    if (!item.IsScalar()) return error(item, "`" + key + "[]` must be a string");
    out.push_back(item.Scalar());
  }
  return out;
}

}  // namespace switchboard::judges
