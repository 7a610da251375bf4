// The `admin:` section: the admin listener (docs/admin.md), a second HTTP server apart from the
// public one, serving metrics, decision records, the running config, reload and the dashboard.
//
//   admin:
//     listen: 127.0.0.1:9090        # required to enable it
//     key_env: SWITCHBOARD_ADMIN_KEY  # optional: every admin request needs `Authorization: Bearer
//     <key>` public_metrics: false         # keep serving GET /metrics on the public listener too
//     public_decisions: false       # keep serving GET /v1/decisions/{id} on the public listener
//     too
//     allowed_hosts: [admin.internal]  # without a key: Host names accepted besides IPs/localhost
//
// Without the section there is no admin listener and the public listener serves /metrics and
// /v1/decisions/{id} as before. Errors name FILE:LINE:COLUMN.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::config {

struct AdminConfig {
  bool enabled = false;  // the section is present
  std::string host = "127.0.0.1";
  std::uint16_t port = 9090;  // 0 = any free port (logged)
  std::string key_env;        // environment variable holding the admin key; empty = no key
  bool public_metrics = false;
  bool public_decisions = false;
  // Without a key: Host names the listener may be addressed by besides IP addresses and
  // localhost (admin/browser_guard.h).
  std::vector<std::string> allowed_hosts;
  std::string where;  // "file:line:col" of the section

  // What the public listener serves (true when there is no admin listener).
  bool public_metrics_served() const { return !enabled || public_metrics; }
  bool public_decisions_served() const { return !enabled || public_decisions; }
};

// Parses the `admin:` mapping. Errors: kBadRequest "bad_config", "FILE:LINE:COL: reason".
Result<AdminConfig> parse_admin_section(const YAML::Node& node, const std::string& source);

}  // namespace switchboard::config
