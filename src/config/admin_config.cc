#include "config/admin_config.h"

#include <optional>

#include "config/config.h"

namespace switchboard::config {
namespace {

std::string where(const YAML::Node& node, const std::string& source) {
  auto m = node.Mark();
  if (m.is_null()) return source;
  return source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

Error bad(const YAML::Node& node, const std::string& source, const std::string& why) {
  return make_error(ErrorKind::kBadRequest, "bad_config", where(node, source) + ": " + why);
}

}  // namespace

Result<AdminConfig> parse_admin_section(const YAML::Node& node, const std::string& source) {
  AdminConfig a;
  a.where = where(node, source);
  if (!node.IsMap()) return bad(node, source, "admin must be a mapping");
  for (const auto& kv : node) {
    const auto key = kv.first.Scalar();
    if (key != "listen" && key != "key_env" && key != "public_metrics" &&
        key != "public_decisions" && key != "allowed_hosts")
      return bad(kv.first, source,
                 "unknown key '" + key +
                     "' in admin (allowed: listen, key_env, public_metrics, public_decisions, "
                     "allowed_hosts)");
  }
  const auto& listen = node["listen"];
  if (!listen) return bad(node, source, "admin needs listen: HOST:PORT");
  if (!listen.IsScalar() || listen.Scalar().empty())
    return bad(listen, source, "admin.listen must be HOST:PORT");
  auto parsed = parse_listen(listen.Scalar());
  if (!parsed) return bad(listen, source, "admin.listen: " + parsed.error().message);
  a.host = parsed->first;
  a.port = parsed->second;
  if (const auto& k = node["key_env"]) {
    if (!k.IsScalar() || k.Scalar().empty())
      return bad(k, source, "admin.key_env must name an environment variable");
    a.key_env = k.Scalar();
  }
  if (const auto& hosts = node["allowed_hosts"]) {
    if (!hosts.IsSequence()) return bad(hosts, source, "admin.allowed_hosts must be a list of host names");
    for (const auto& h : hosts) {
      if (!h.IsScalar() || h.Scalar().empty() ||
          h.Scalar().find_first_of(":/ ") != std::string::npos)
        return bad(h, source, "admin.allowed_hosts: each entry is a host name, without port or scheme");
      a.allowed_hosts.push_back(h.Scalar());
    }
  }
  auto flag = [&](const char* name, bool& out) -> std::optional<Error> {
    const auto& f = node[name];
    if (!f) return std::nullopt;
    bool v = false;
    if (!f.IsScalar() || !YAML::convert<bool>::decode(f, v))
      return bad(f, source, std::string("admin.") + name + " must be true or false");
    out = v;
    return std::nullopt;
  };
  if (auto e = flag("public_metrics", a.public_metrics)) return *e;
  if (auto e = flag("public_decisions", a.public_decisions)) return *e;
  a.enabled = true;
  return a;
}

}  // namespace switchboard::config
