// Hot reload (docs/admin.md): SIGHUP or POST /admin/reload.
//
// reload() reads the config file again and validates it completely — parse (errors name
// FILE:LINE:COLUMN) and build the runtime (policies, balancers, stages, signal weights, API key
// variables) — before anything changes; a bad config is refused with that error and the running one
// keeps serving. A good one is swapped in with Gateway::replace_runtime(): requests in flight
// finish on the old runtime, new ones get the new; no listener or connection is touched.
//
// Settings bound at start-up are not reloaded: `listen`, `server:`, `store:` and `admin:` (the
// sockets, threads, limits and the database stay as they are). When the new file changes one of
// them, the reload still applies everything else and names them in `restart_required` (and logs a
// warning). The in-process response cache starts empty with the new runtime (a Redis cache is
// shared and keeps its entries).
//
// Thread-safe: reloads are serialised by a mutex. Blocking (it loads weights and models): never on
// an event loop.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "pipeline/gateway.h"
#include "switchboard/result.h"

namespace switchboard::admin {

class Reloader {
 public:
  // `path`: the config file; `loaded`: the config as parsed from it at start-up (before any
  // command-line override), the reference for `restart_required`.
  Reloader(std::string path, std::shared_ptr<const config::Config> loaded,
           pipeline::Gateway& gateway);

  // {"status":"reloaded","generation","source","ms","models","routes","carried_replicas",
  //  "restart_required":[...]} or the config's error (kBadRequest "bad_config", "FILE:LINE:COL:
  //  ...").
  // `trigger` ("sighup", "api") is logged.
  Result<nlohmann::json> reload(const std::string& trigger);

  // The config serving new requests (the last good one) and how many reloads succeeded.
  std::shared_ptr<const config::Config> config() const;
  std::uint64_t generation() const { return generation_.load(); }
  std::uint64_t failures() const { return failures_.load(); }
  const std::string& path() const { return path_; }
  std::int64_t loaded_at_ms() const { return loaded_at_ms_.load(); }

  // Why `config` could not start a gateway where the running one did (what only the start-up
  // reads: the admin key's variable, the store's path), or nullopt.
  static std::optional<Error> would_not_start(const config::Config& config);
  // The settings of `fresh` that differ from `running` and take effect only on restart.
  static std::vector<std::string> restart_only_changes(const config::Config& running,
                                                       const config::Config& fresh);

 private:
  const std::string path_;
  pipeline::Gateway& gateway_;
  std::mutex reload_mu_;  // one reload at a time
  mutable std::mutex mu_;
  std::shared_ptr<const config::Config> file_config_;  // guarded by mu_: the last good file config
  std::shared_ptr<const config::Config> startup_;      // constant: restart-only settings in force
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::int64_t> loaded_at_ms_{0};
};

}  // namespace switchboard::admin
