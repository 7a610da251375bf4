// The admin listener (docs/admin.md): a second HTTP server, apart from the public one, on
// `admin.listen` (127.0.0.1:9090 by default in the docs), with one worker thread of its own, so
// that nothing it does (a dashboard poll, a decision search, a reload) runs on a gateway worker.
//
// Routes come from the installers registered in AdminRouteRegistry (admin/admin_routes.h), one
// file per feature in src/admin/routes/. With `admin.key_env` set, every route except the
// dashboard's static files needs `Authorization: Bearer <key>` (compared in constant time); a
// missing or wrong key is answered 401 `invalid_admin_key`. The key is read from the environment
// once at start-up; an unset or empty variable is a configuration error. Without a key, requests a
// web page could have sent are refused (admin/browser_guard.h).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "admin/admin_routes.h"
#include "admin/admin_services.h"
#include "admin/reloader.h"
#include "admin/timeseries.h"
#include "config/admin_config.h"
#include "http/server.h"
#include "pipeline/gateway.h"

namespace switchboard::admin {

class AdminServer {
 public:
  // Binds `config.listen` and installs every registered route. Errors: the key variable is unset
  // (bad_config, naming admin.key_env's location), the address cannot be bound.
  static Result<std::unique_ptr<AdminServer>> create(const config::AdminConfig& config,
                                                     pipeline::Gateway& gateway,
                                                     TimeSeries& timeseries, Reloader& reloader);
  ~AdminServer();

  // Runs the server on a thread of its own; returns at once.
  void start();
  // Drains and joins the thread (idempotent).
  void stop();
  std::uint16_t port() const { return server_->port(); }
  const AdminRoutes& routes() const { return routes_; }

 private:
  AdminServer() = default;
  asio::awaitable<void> handle(http::Exchange& exchange);
  bool authorized(const http::RequestHead& req) const;
  // Why a request is refused from its head alone (the admin key; without one, the browser guard),
  // or nothing: asked before its body is read (http::ServerOptions::check_head).
  std::optional<Error> refusal(const http::RequestHead& head) const;
  AdminRoutes::Match match_of(const http::RequestHead& req) const;

  std::string key_;  // empty: no key required (and browser_guard.h's checks apply)
  std::vector<std::string> allowed_hosts_;
  AdminRoutes routes_;
  std::unique_ptr<asio::thread_pool> pool_;
  std::unique_ptr<AdminServices> services_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace switchboard::admin
