#include "admin/config_mask.h"

#include <algorithm>
#include <cctype>

namespace switchboard::admin {
namespace {
constexpr const char* kMask = "***";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

nlohmann::json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return mask_url(s);  // quoted: a string
  if (s.empty() || s == "~" || s == "null") return nullptr;
  bool b;
  if (YAML::convert<bool>::decode(n, b)) return b;
  try {
    std::size_t used = 0;
    long long i = std::stoll(s, &used);
    if (used == s.size()) return i;
    double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (...) {
  }
  return mask_url(s);
}
}  // namespace

bool secret_key(std::string_view name) {
  const std::string n = lower(name);
  if (n.size() >= 4 && n.ends_with("_env")) return false;
  // Word by word ("api_key" is, "max_tokens" and "keys" are not).
  std::size_t start = 0;
  while (start <= n.size()) {
    auto end = n.find_first_of("_-.", start);
    if (end == std::string::npos) end = n.size();
    const std::string_view word = std::string_view(n).substr(start, end - start);
    for (const char* w : {"key", "apikey", "secret", "password", "passwd", "token", "authorization",
                          "credential", "credentials", "bearer"})
      if (word == w) return true;
    start = end + 1;
  }
  return false;
}

std::string mask_url(std::string_view v) {
  const auto scheme = v.find("://");
  if (scheme == std::string_view::npos) return std::string(v);
  const auto host_start = scheme + 3;
  const auto end = v.find_first_of("/?#", host_start);
  const auto authority = v.substr(
      host_start, end == std::string_view::npos ? std::string_view::npos : end - host_start);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(v);
  return std::string(v.substr(0, host_start)) + kMask + std::string(v.substr(host_start + at));
}

std::string mask_urls_in(std::string_view text) {
  std::string out;
  std::size_t from = 0;
  for (;;) {
    const auto scheme = text.find("://", from);
    if (scheme == std::string_view::npos) break;
    // The URL starts after the blank or quote before its scheme and ends at the next one.
    const auto before = text.find_last_of(" \t\n'\"`(<[{,=", scheme);
    const std::size_t start = before == std::string_view::npos || before < from ? from : before + 1;
    auto end = text.find_first_of(" \t\n'\"`)>]},", scheme);
    if (end == std::string_view::npos) end = text.size();
    out.append(text.substr(from, start - from));
    out += mask_url(text.substr(start, end - start));
    from = end;
  }
  out.append(text.substr(from));
  return out;
}

nlohmann::json masked_config(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
        if (secret_key(key) && !kv.second.IsNull())
          out[key] = kMask;
        else
          out[key] = masked_config(kv.second);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(masked_config(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar(node);
    default:
      return nullptr;
  }
}

nlohmann::json masked_config_text(const std::string& text) {
  try {
    return masked_config(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return {{"error", e.msg}};
  }
}

}  // namespace switchboard::admin
